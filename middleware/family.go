package middleware

// The sign-in grant kept for the user (Config.BackgroundAccess): a copy of
// the session of the user's latest sign-in that has a refresh token,
// sealed in the grant store under the user, beside their connected APIs'
// grants. It is one refresh-token family with that browser session: both
// refresh it under the session's lock (the store's, the deny list's, or
// this process's), each starting from the other's newest tokens, and every
// refresh of it writes the copy before the lock is released. So a
// background job (Auth.ClientFor) and the browser never present a
// rotated-away refresh token, and the copy outlives the browser session's
// expiry: it ends with that session's sign-out, sign-out everywhere, or
// the provider's refusal.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/session"
)

// signInGrant is the sign-in grant's field in the grant store: no API is
// named "" (New refuses it).
const signInGrant = ""

// family keeps the users' sign-in grants; a nil *family keeps none.
type family struct{ g *grants }

// userOf is how the grant store names s's user.
func (f *family) userOf(s *session.Session) string { return f.g.user(s.User.Provider, s.User.Subject) }

// load returns user's sign-in grant as stored and opened (nil when none).
func (f *family) load(ctx context.Context, user string) ([]byte, *session.Session, error) {
	raw, err := f.g.store.Grant(ctx, user, signInGrant)
	if err != nil || raw == nil {
		return nil, nil, err
	}
	plain, stale, err := f.g.cipher.OpenBytesStale(string(raw), f.g.aad(user, signInGrant))
	if err != nil {
		return raw, nil, nil // a dropped key, another app's: as if none
	}
	s, err := sessionPlumbing.Unmarshal(plain)
	if err != nil {
		return raw, nil, nil
	}
	if stale {
		// A retired key: sealed again with the current one (best effort).
		if sealed := f.seal(user, s); func() bool {
			ok, err := f.g.store.SwapGrant(ctx, user, signInGrant, raw, sealed)
			return ok && err == nil
		}() {
			raw = sealed
		}
	}
	return raw, s, nil
}

func (f *family) seal(user string, s *session.Session) []byte {
	return f.g.cipher.SealBytes(sessionPlumbing.Marshal(s), f.g.aad(user, signInGrant))
}

// newer is cur, or the kept copy of its session when that holds newer
// tokens (a background job refreshed them since cur was written).
func (f *family) newer(ctx context.Context, cur *session.Session) (*session.Session, error) {
	if f == nil || cur.RefreshToken == "" {
		return cur, nil
	}
	_, rec, err := f.load(ctx, f.userOf(cur))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	if rec != nil && rec.ID == cur.ID && rec.RefreshToken != cur.RefreshToken {
		return rec, nil
	}
	return cur, nil
}

// tracked is the kept copy of s's session (by its ID), or nil.
func (f *family) tracked(ctx context.Context, s *session.Session) (*session.Session, error) {
	if f == nil {
		return nil, nil
	}
	id := s.ID
	_, rec, err := f.load(ctx, f.userOf(s))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	if rec != nil && rec.ID == id {
		return rec, nil
	}
	return nil, nil
}

// note writes ns over the kept copy of its session, if that is the one
// kept (a later sign-in replaces it): under the session's lock, before
// anyone may use the rotated refresh token elsewhere.
func (f *family) note(ctx context.Context, ns *session.Session) error {
	if f == nil || ns.RefreshToken == "" {
		return nil
	}
	user := f.userOf(ns)
	return untilAvailable(ctx, func() error {
		raw, rec, err := f.load(ctx, user)
		if err != nil || rec == nil || rec.ID != ns.ID {
			return err
		}
		_, err = f.g.store.SwapGrant(ctx, user, signInGrant, raw, f.seal(user, ns))
		return err // not swapped: a sign-in replaced it meanwhile
	})
}

// put keeps s, a new sign-in's session, as its user's sign-in grant,
// replacing the one kept before (whose browser session keeps its own
// tokens).
func (f *family) put(ctx context.Context, s *session.Session) error {
	user := f.userOf(s)
	for range 3 {
		raw, _, err := f.load(ctx, user)
		if err != nil {
			return err
		}
		ok, err := f.g.store.SwapGrant(ctx, user, signInGrant, raw, f.seal(user, s))
		if err != nil || ok {
			return err
		}
	}
	return fmt.Errorf("%w: the sign-in grant kept changing", fail.SessionStore)
}

// drop deletes user's kept copy of session id (when it is still that
// one), and returns it.
func (f *family) drop(ctx context.Context, user, id string) (*session.Session, error) {
	if f == nil {
		return nil, nil
	}
	raw, rec, err := f.load(ctx, user)
	if err != nil || raw == nil || (rec != nil && id != "" && rec.ID != id) {
		return nil, err
	}
	if _, err := f.g.store.SwapGrant(ctx, user, signInGrant, raw, nil); err != nil {
		return nil, err
	}
	return rec, nil
}

// dropOf deletes the kept copy of s's session, if it is the one kept, and
// returns it.
func (f *family) dropOf(ctx context.Context, s *session.Session) (*session.Session, error) {
	if f == nil {
		return nil, nil
	}
	return f.drop(ctx, f.userOf(s), s.ID)
}

// keepSignIn keeps a new sign-in's grant for background jobs
// (Config.BackgroundAccess); a failure is reported, and the sign-in goes
// on: only background access to it is lost.
func (a *Auth) keepSignIn(ctx context.Context, s *session.Session) {
	if a.family == nil || s.RefreshToken == "" {
		return
	}
	if err := a.family.put(ctx, s); err != nil {
		a.emit(ctx, event.Event{Kind: event.SessionSaved, Provider: s.User.Provider, Session: sessionRef(s), Err: err,
			Attrs: []slog.Attr{slog.String("why", "sign-in grant for background jobs")}})
	}
}

// endSignInGrant ends user's kept sign-in grant (sign-out everywhere):
// deleted, its refresh token revoked.
func (a *Auth) endSignInGrant(ctx context.Context, provider, subject string) error {
	rec, err := a.family.drop(ctx, a.grants.user(provider, subject), "")
	if err != nil || rec == nil {
		return err
	}
	if c := a.clientFor(rec); c != nil {
		err := c.Revoke(ctx, &oauth2.Token{RefreshToken: rec.RefreshToken})
		a.emit(ctx, event.Event{Kind: event.Logout, Provider: provider, Session: sessionRef(rec), Err: err,
			Attrs: []slog.Attr{slog.String("why", "sign-in grant ended"), slog.Bool("revoked", err == nil)}})
		if err != nil && !errors.Is(err, fail.Config) {
			return err
		}
	}
	return nil
}

// familyToken is a token of the user's kept sign-in grant for api (the
// sign-in token, or the API's own from the grant), not stale: as kept, or
// refreshed through the refresher, one refresh per grant across instances
// and the grant's browser session.
func (a *Auth) familyToken(ctx context.Context, provider, subject string, api *apiTarget, stale string) (*oauth2.Token, *session.Session, error) {
	user := a.grants.user(provider, subject)
	_, rec, err := a.family.load(ctx, user)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	if rec == nil {
		return nil, nil, &notConnectedError{api: api.name}
	}
	if tok := tokenOfOp(rec, api.op); tok != nil && tok.AccessToken != stale && !a.refresher.opDue(api.op, rec, a.cfg.Now()) {
		return tok, rec, nil
	}
	ns, action, err := a.refresher.run(ctx, rec, api.op)
	if err != nil {
		if action == RefreshEndSession {
			// Revoked or expired at the provider: not kept, not retried.
			a.family.drop(ctx, user, rec.ID)
			return nil, nil, fmt.Errorf("%w: %w", &notConnectedError{api: api.name, revoked: true}, err)
		}
		return nil, nil, err
	}
	tok := tokenOfOp(ns, api.op)
	if tok == nil {
		return nil, nil, fmt.Errorf("%w: API %q: no token after the refresh", fail.RefreshUnavailable, api.name)
	}
	return tok, ns, nil
}

// tokenOfOp is s's token for op (nil when it holds none).
func tokenOfOp(s *session.Session, op refreshOp) *oauth2.Token {
	if op.api == "" {
		if s.AccessToken == "" {
			return nil
		}
		return tokenOf(s)
	}
	t, err := apiTokenOf(s, op.api)
	if err != nil {
		return nil
	}
	return t
}
