package middleware

// The sign-in grants kept for the user (Config.BackgroundAccess): a copy of
// each browser session with a refresh token, sealed in the grant store
// under the user, beside their connected APIs' grants; background jobs use
// the latest sign-in's. Each is one refresh-token family with its browser
// session: both refresh it under the session's lock (the store's, the deny
// list's, or this process's), each starting from the other's newest tokens,
// and every refresh of it writes the copy before the lock is released. So a
// background job (Auth.ClientFor) and the browser never present a
// rotated-away refresh token, and the copy outlives the browser session's
// expiry: it ends with that session's sign-out, sign-out everywhere, or
// the provider's refusal.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/session"
)

// The store keeps, per user, one record per browser session whose sign-in
// grant is kept (a field named after a hash of the session's ID), and a
// pointer to the latest sign-in's record (the field signInGrant), which
// background jobs use. A record lives while its session may: a later
// sign-in's record does not replace it (that browser goes on refreshing its
// own family), it ends with its session's sign-out, sign-out everywhere or
// the provider's refusal, and a later sign-in deletes (and revokes) the
// records of sessions past their absolute lifetime.

// signInGrant is the field of the pointer to the latest sign-in's record:
// no API is named "" (New refuses it).
const signInGrant = ""

// familyPrefix starts the fields of the records, which no API name can
// start with (New refuses control characters in names).
const familyPrefix = "\x00s:"

// keptChain is how many superseded refresh tokens a record remembers, to
// tell a copy older than it from one newer (a write of it that failed).
const keptChain = 16

// family keeps the users' sign-in grants; a nil *family keeps none.
type family struct {
	g        *grants
	absolute time.Duration // the store's session lifetime; 0: unknown
	now      func() time.Time
}

// familyRecord is what the store keeps of a session's sign-in grant: the
// session, and hashes of the refresh tokens it superseded.
type familyRecord struct {
	S    []byte   `json:"s"`
	Prev []string `json:"p,omitempty"`
	sess *session.Session
}

// userOf is how the grant store names s's user.
func (f *family) userOf(s *session.Session) string { return f.g.user(s.User.Provider, s.User.Subject) }

// field is the store's field of session id's record.
func field(id string) string {
	h := sha256.Sum256([]byte("confidant/family\x00" + id))
	return familyPrefix + hex.EncodeToString(h[:16])
}

func tokenHash(rt string) string {
	h := sha256.Sum256([]byte("confidant/rt\x00" + rt))
	return hex.EncodeToString(h[:12])
}

// load returns the record at fld as stored and opened (nil when none, or
// when it cannot be opened: a dropped key).
func (f *family) load(ctx context.Context, user, fld string) ([]byte, *familyRecord, error) {
	raw, err := f.g.store.Grant(ctx, user, fld)
	if err != nil || raw == nil {
		return nil, nil, err
	}
	plain, stale, err := f.g.cipher.OpenBytesStale(string(raw), f.g.aad(user, fld))
	if err != nil {
		return raw, nil, nil
	}
	var rec familyRecord
	if json.Unmarshal(plain, &rec) != nil {
		return raw, nil, nil
	}
	if rec.sess, err = sessionPlumbing.Unmarshal(rec.S); err != nil {
		return raw, nil, nil
	}
	if stale {
		// A retired key: sealed again with the current one (best effort).
		sealed := f.seal(user, fld, &rec)
		if ok, err := f.g.store.SwapGrant(ctx, user, fld, raw, sealed); ok && err == nil {
			raw = sealed
		}
	}
	return raw, &rec, nil
}

func (f *family) seal(user, fld string, rec *familyRecord) []byte {
	rec.S = sessionPlumbing.Marshal(rec.sess)
	plain, _ := json.Marshal(rec)
	return f.g.cipher.SealBytes(plain, f.g.aad(user, fld))
}

// latest is the record of user's latest sign-in, nil when none: the one
// the pointer names, else (that session signed out) the most recent of
// the others still kept, which the pointer then names.
func (f *family) latest(ctx context.Context, user string) (*familyRecord, error) {
	ptr, err := f.g.store.Grant(ctx, user, signInGrant)
	if err != nil {
		return nil, err
	}
	if ptr != nil {
		if _, rec, err := f.load(ctx, user, string(ptr)); err != nil || rec != nil {
			return rec, err
		}
	}
	names, err := f.g.store.Grants(ctx, user)
	if err != nil {
		return nil, err
	}
	var best *familyRecord
	bestField := ""
	for _, n := range names {
		if !strings.HasPrefix(n, familyPrefix) {
			continue
		}
		_, rec, err := f.load(ctx, user, n)
		if err != nil {
			return nil, err
		}
		if rec != nil && (best == nil || rec.sess.CreatedAt.After(best.sess.CreatedAt)) {
			best, bestField = rec, n
		}
	}
	if best != nil {
		f.g.store.SwapGrant(ctx, user, signInGrant, ptr, []byte(bestField)) // best effort
	}
	return best, nil
}

// adopt is cur with the tokens (and what the provider said with them) of
// newer, a copy of the same session: cur's version, values and times stay.
func adopt(cur, newer *session.Session) *session.Session {
	ns := *cur
	ns.AccessToken, ns.TokenType, ns.RefreshToken, ns.IDToken = newer.AccessToken, newer.TokenType, newer.RefreshToken, newer.IDToken
	ns.Expiry, ns.Issued, ns.Scope, ns.DPoPKey, ns.APITokens = newer.Expiry, newer.Issued, newer.Scope, newer.DPoPKey, newer.APITokens
	ns.User, ns.ClaimsAt, ns.Issuer, ns.SID = newer.User, newer.ClaimsAt, newer.Issuer, newer.SID
	return &ns
}

// kept is what a refresh read of its session's kept record under the
// session's lock, for writing the record after it.
type kept struct {
	user, fld string
	rt        string   // the record's refresh token then
	prev      []string // the record's chain then
}

// newer is cur, or cur with the tokens of its kept record when those are
// newer (a background job refreshed them since cur was written): the
// record remembers cur's refresh token as one it superseded. A record
// that missed a refresh (its write failed) is older, and not taken. k is
// the record as read (nil when cur has none), for noteKept.
func (f *family) newer(ctx context.Context, cur *session.Session) (_ *session.Session, k *kept, err error) {
	if f == nil || cur.RefreshToken == "" {
		return cur, nil, nil
	}
	user, fld := f.userOf(cur), field(cur.ID)
	_, rec, err := f.load(ctx, user, fld)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	if rec == nil {
		return cur, nil, nil
	}
	k = &kept{user: user, fld: fld, rt: rec.sess.RefreshToken, prev: rec.Prev}
	if rec.sess.RefreshToken == cur.RefreshToken || !slices.Contains(rec.Prev, tokenHash(cur.RefreshToken)) {
		return cur, k, nil
	}
	return adopt(cur, rec.sess), k, nil
}

// tracked is the kept record's copy of s's session, or nil, and the record
// as read.
func (f *family) tracked(ctx context.Context, s *session.Session) (*session.Session, *kept, error) {
	if f == nil {
		return nil, nil, nil
	}
	user, fld := f.userOf(s), field(s.ID)
	_, rec, err := f.load(ctx, user, fld)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	if rec == nil {
		return nil, nil, nil
	}
	return rec.sess, &kept{user: user, fld: fld, rt: rec.sess.RefreshToken, prev: rec.Prev}, nil
}

// note writes ns, refreshed from a copy holding superseded, over the
// record k read under the session's lock (which is still held: nobody
// else writes it meanwhile), without reading it again.
func (f *family) note(ctx context.Context, k *kept, ns *session.Session, superseded string) error {
	if f == nil || k == nil || ns.RefreshToken == "" {
		return nil
	}
	prev := slices.Clone(k.prev)
	for _, rt := range []string{k.rt, superseded} {
		if h := tokenHash(rt); rt != "" && rt != ns.RefreshToken && !slices.Contains(prev, h) {
			prev = append(prev, h)
		}
	}
	if len(prev) > keptChain {
		prev = prev[len(prev)-keptChain:]
	}
	sealed := f.seal(k.user, k.fld, &familyRecord{sess: ns, Prev: prev})
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return untilAvailable(ctx, func() error { return f.g.store.SetGrant(ctx, k.user, k.fld, sealed) })
}

// put keeps s, a new sign-in's session, as its user's latest sign-in
// grant. The records of the user's other sessions stay (their browsers go
// on with their own tokens), except those past the sessions' absolute
// lifetime, which are deleted and returned for revocation.
func (f *family) put(ctx context.Context, s *session.Session) ([]*session.Session, error) {
	user, fld := f.userOf(s), field(s.ID)
	if _, err := f.g.store.SwapGrant(ctx, user, fld, nil, f.seal(user, fld, &familyRecord{sess: s})); err != nil {
		return nil, err
	}
	for range 3 {
		ptr, err := f.g.store.Grant(ctx, user, signInGrant)
		if err != nil {
			return nil, err
		}
		ok, err := f.g.store.SwapGrant(ctx, user, signInGrant, ptr, []byte(fld))
		if err != nil {
			return nil, err
		}
		if ok {
			break
		}
	}
	if f.absolute <= 0 {
		return nil, nil
	}
	names, err := f.g.store.Grants(ctx, user)
	if err != nil {
		return nil, err
	}
	var ended []*session.Session
	for _, n := range names {
		if !strings.HasPrefix(n, familyPrefix) || n == fld {
			continue
		}
		raw, rec, err := f.load(ctx, user, n)
		if err != nil || raw == nil || (rec != nil && f.now().Sub(rec.sess.CreatedAt) < f.absolute) {
			continue
		}
		if ok, err := f.g.store.SwapGrant(ctx, user, n, raw, nil); ok && err == nil && rec != nil {
			ended = append(ended, rec.sess)
		}
	}
	return ended, nil
}

// drop deletes the record at fld of user (and the pointer to it), and
// returns its session (nil when there was none).
func (f *family) drop(ctx context.Context, user, fld string) (*session.Session, error) {
	if f == nil {
		return nil, nil
	}
	var got *session.Session
	err := untilAvailable(ctx, func() error {
		raw, rec, err := f.load(ctx, user, fld)
		if err != nil || raw == nil {
			return err
		}
		if _, err := f.g.store.SwapGrant(ctx, user, fld, raw, nil); err != nil {
			return err
		}
		if rec != nil {
			got = rec.sess
		}
		ptr, err := f.g.store.Grant(ctx, user, signInGrant)
		if err == nil && string(ptr) == fld {
			_, err = f.g.store.SwapGrant(ctx, user, signInGrant, ptr, nil)
		}
		return err
	})
	return got, err
}

// dropAll deletes every record of user and the pointer, and returns their
// sessions (sign-out everywhere).
func (f *family) dropAll(ctx context.Context, user string) ([]*session.Session, error) {
	names, err := f.g.store.Grants(ctx, user)
	if err != nil {
		return nil, err
	}
	var all []*session.Session
	for _, n := range names {
		if !strings.HasPrefix(n, familyPrefix) {
			continue
		}
		s, err := f.drop(ctx, user, n)
		if err != nil {
			return all, err
		}
		if s != nil {
			all = append(all, s)
		}
	}
	ptr, err := f.g.store.Grant(ctx, user, signInGrant)
	if err == nil && ptr != nil {
		_, err = f.g.store.SwapGrant(ctx, user, signInGrant, ptr, nil)
	}
	return all, err
}

// dropOf deletes the record of s's session, and returns its copy of the
// session (nil when it kept none).
func (f *family) dropOf(ctx context.Context, s *session.Session) (*session.Session, error) {
	if f == nil {
		return nil, nil
	}
	return f.drop(ctx, f.userOf(s), field(s.ID))
}

// keepSignIn keeps a new sign-in's grant for background jobs
// (Config.BackgroundAccess); a failure is reported, and the sign-in goes
// on: only background access to it is lost.
func (a *Auth) keepSignIn(ctx context.Context, s *session.Session) {
	if a.family == nil || s.RefreshToken == "" {
		return
	}
	if s.CreatedAt.IsZero() {
		// The store stamps its own copy; the kept one needs it too (a
		// later sign-in ends the records past their lifetime).
		cp := *s
		cp.CreatedAt, cp.LastSeen = a.cfg.Now(), a.cfg.Now()
		s = &cp
	}
	ended, err := a.family.put(ctx, s)
	if err != nil {
		a.emit(ctx, event.Event{Kind: event.SessionSaved, Provider: s.User.Provider, Session: sessionRef(s), Err: err,
			Attrs: []slog.Attr{slog.String("why", "sign-in grant for background jobs")}})
	}
	for _, old := range ended {
		a.revokeKept(ctx, old, "session lifetime over")
	}
}

// revokeKept revokes the refresh tokens of a kept record's session (its
// sign-in grant's, and any an API's token exchange returned), best effort.
func (a *Auth) revokeKept(ctx context.Context, s *session.Session, why string) error {
	c := a.clientFor(s)
	if c == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var errs []error
	for _, rt := range append([]string{s.RefreshToken}, apiRefreshTokens(s)...) {
		if rt == "" {
			continue
		}
		if err := c.Revoke(ctx, &oauth2.Token{RefreshToken: rt}); err != nil && !errors.Is(err, fail.Config) {
			errs = append(errs, err)
		}
	}
	err := errors.Join(errs...)
	a.emit(ctx, event.Event{Kind: event.Logout, Provider: s.User.Provider, Session: sessionRef(s), Err: err,
		Attrs: []slog.Attr{slog.String("why", why), slog.Bool("revoked", err == nil)}})
	return err
}

// endSignInGrant ends every kept sign-in grant of the user (sign-out
// everywhere): deleted, each under its session's lock (a background
// refresh in flight finishes first), their refresh tokens revoked.
func (a *Auth) endSignInGrant(ctx context.Context, provider, subject string) error {
	user := a.grants.user(provider, subject)
	names, err := a.grants.store.Grants(ctx, user)
	if err != nil {
		return fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	var errs []error
	for _, n := range names {
		if !strings.HasPrefix(n, familyPrefix) {
			continue
		}
		_, rec, err := a.family.load(ctx, user, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var kept *session.Session
		if rec == nil {
			_, err = a.family.drop(ctx, user, n)
		} else {
			err = a.refresher.underLock(ctx, rec.sess.ID, func() error {
				var err error
				kept, err = a.family.drop(ctx, user, n)
				return err
			})
		}
		if err != nil {
			errs = append(errs, err)
		} else if kept != nil {
			errs = append(errs, a.revokeKept(ctx, kept, "sign-in grant ended"))
		}
	}
	if _, err := a.family.dropAll(ctx, user); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// backgroundKey marks a refresh a background job asked for: it writes the
// kept record, never the browser's session (whose idle time a job must not
// roll).
type backgroundKey struct{}

func isBackground(ctx context.Context) bool { return ctx.Value(backgroundKey{}) != nil }

// familyToken is a token of the user's kept sign-in grant for api (the
// sign-in token, or the API's own from the grant), not stale: as kept, or
// refreshed through the refresher, one refresh per grant across instances
// and the grant's browser session.
func (a *Auth) familyToken(ctx context.Context, provider, subject string, api *apiTarget, stale string) (*oauth2.Token, *session.Session, error) {
	user := a.grants.user(provider, subject)
	rec, err := a.family.latest(ctx, user)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	if rec == nil {
		return nil, nil, &notConnectedError{api: api.name}
	}
	cur := rec.sess
	if tok := tokenOfOp(cur, api.op); tok != nil && tok.AccessToken != stale && !a.refresher.opDue(api.op, cur, a.cfg.Now()) {
		return tok, cur, nil
	}
	ns, action, err := a.refresher.run(context.WithValue(ctx, backgroundKey{}, true), cur, api.op)
	if err != nil {
		if action == RefreshEndSession {
			// Revoked or expired at the provider: not kept, not retried.
			a.family.drop(ctx, user, field(cur.ID))
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
