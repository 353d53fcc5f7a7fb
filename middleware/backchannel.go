package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/jwtpeek"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/internal/seam"
	"github.com/confidant-go/confidant/internal/sesskeys"
)

// backchannelLogout implements OpenID Connect Back-Channel Logout 1.0: the
// provider POSTs a logout_token; a valid one ends every session of its sid
// or, without sid, of its sub, on every instance. Anything invalid gets 400
// and ends nothing.
func (a *Auth) backchannelLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		a.backchannelError(w, r, http.StatusMethodNotAllowed, fail.MethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, netx.SmallBody)
	raw := r.PostFormValue("logout_token")
	if raw == "" {
		a.backchannelError(w, r, http.StatusBadRequest, fmt.Errorf("%w: no logout_token", fail.InvalidLogoutToken))
		return
	}
	// Only the provider the token names verifies it (its issuer, or an
	// accepted tenant's under its template, as sign-in accepts them): a
	// forged token costs no other provider a key fetch.
	var lt *seam.LogoutToken
	var c *client.Client
	var err error
	iss := jwtpeek.Issuer(raw)
	for _, cand := range a.clients {
		if !providerOf(cand.Provider()).HasIssuer(r.Context(), iss) {
			continue
		}
		if lt, err = plumbingOf(cand).VerifyLogoutToken(r.Context(), raw, a.cfg.LogoutTokenMaxAge); err == nil {
			c = cand
			break
		}
	}
	if c == nil {
		if err == nil {
			err = fmt.Errorf("%w: no configured provider has issuer %q", fail.InvalidLogoutToken, netx.ProviderText(iss))
		}
		status := http.StatusBadRequest
		if errors.Is(err, client.ErrProviderUnavailable) {
			// Its keys could not be fetched: the provider retries a 5xx
			// (Back-Channel Logout 2.8), and the user is signed out then.
			status = http.StatusServiceUnavailable
		}
		a.backchannelError(w, r, status, err)
		return
	}
	jti := "jti\x00" + lt.Issuer + "\x00" + lt.ID
	if lt.ID != "" {
		first, err := a.replays.FirstUse(r.Context(), jti, a.cfg.LogoutTokenMaxAge*2+2*time.Minute)
		if err != nil {
			a.backchannelError(w, r, http.StatusServiceUnavailable, fmt.Errorf("%w: %w", fail.SessionStore, err))
			return
		}
		if !first {
			a.backchannelError(w, r, http.StatusBadRequest, fmt.Errorf("%w: replayed jti", fail.InvalidLogoutToken))
			return
		}
	}
	key, at := sesskeys.User(c.Provider().Name(), lt.Subject), a.cfg.Now()
	if lt.SID != "" {
		// A provider session that ended never signs anyone in again:
		// every app session of it is denied, whatever the instances'
		// clocks say of when each was made.
		key, at = sesskeys.SID(lt.Issuer, lt.SID), denyAll
	}
	n, err := a.endSessions(r.Context(), key, at)
	if err != nil {
		if lt.ID != "" {
			// The jti counts as used only once its sessions ended: the
			// provider's retry of this token must work. (A store that
			// failed the ending may fail this too; the record then
			// expires with the token's age limit.)
			err = errors.Join(err, a.replays.Forget(context.WithoutCancel(r.Context()), jti))
		}
		a.backchannelError(w, r, http.StatusServiceUnavailable, fmt.Errorf("%w: %w", fail.SessionStore, err))
		return
	}
	a.emit(r.Context(), event.Event{Kind: event.BackchannelLogout, Provider: c.Provider().Name(),
		Attrs: []slog.Attr{slog.Bool("by_sid", lt.SID != ""), slog.Int("sessions_ended", n), slog.String("jti", event.Redact(lt.ID))}})
	w.WriteHeader(http.StatusOK)
}

func (a *Auth) backchannelError(w http.ResponseWriter, r *http.Request, status int, err error) {
	a.emit(r.Context(), event.Event{Kind: event.Rejected, Status: status, Err: err,
		Attrs: []slog.Attr{slog.String("method", r.Method), slog.String("path", sentPath(r)), slog.String("route", "backchannel-logout")}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": "logout token refused"})
}

// endSessions ends the sessions indexed under key: deleted from a shared
// store, or with a cookie store denied if made at or before at. n is the
// number of sessions deleted (unknown, 0, with a deny list).
func (a *Auth) endSessions(ctx context.Context, key string, at time.Time) (int, error) {
	if a.shared != nil {
		return a.shared.EndSessions(ctx, key)
	}
	return 0, a.cfg.DenyList.Deny(ctx, key, at, a.denyTTL)
}

// denyAll is the time of a deny-list entry that names one session (its ID)
// or one provider session (its sid): every session it names is denied,
// so the check does not compare one instance's clock with another's. Only
// a user's entry ("sign out everywhere", a logout token without sid) is
// dated, and needs the instances' clocks in step (NTP).
var denyAll = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// EndUserSessions signs subject out of every session with provider, on
// every instance ("sign out everywhere"). With a cookie store, the sessions
// are denied through Config.DenyList from now on. The refresh tokens of
// the sessions Sessions lists are revoked, and the user's grants of
// connected APIs end too, their refresh tokens revoked (Disconnect).
func (a *Auth) EndUserSessions(ctx context.Context, provider, subject string) error {
	if subject == "" {
		return fmt.Errorf("middleware: EndUserSessions needs a subject")
	}
	// The refresh tokens of the sessions are read first (a server-side
	// store's are in the sessions), and revoked once they have ended.
	ls, err := a.listedTokens(ctx, provider, subject)
	_, eerr := a.endSessions(ctx, sesskeys.User(provider, subject), a.cfg.Now())
	err = errors.Join(err, eerr)
	if eerr == nil {
		err = errors.Join(err, a.revokeTokens(ctx, provider, subject, ls))
	}
	err = errors.Join(err, a.endGrants(ctx, provider, subject))
	if a.family != nil {
		err = errors.Join(err, a.endSignInGrant(ctx, provider, subject))
	}
	if err == nil {
		a.emit(ctx, event.Event{Kind: event.Logout, Provider: provider, Attrs: []slog.Attr{slog.Bool("everywhere", true)}})
	}
	return err
}

// jtiCache remembers logout token IDs to refuse replays, in one process:
// used when neither the Store nor the DenyList is shared.
type jtiCache struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]time.Time
}

func newJTICache(now func() time.Time) *jtiCache {
	return &jtiCache{now: now, m: map[string]time.Time{}}
}

// FirstUse implements replayCache.
func (c *jtiCache) FirstUse(_ context.Context, id string, ttl time.Duration) (bool, error) {
	return c.add(id, c.now(), ttl), nil
}

// Seen implements replayCache.
func (c *jtiCache) Seen(_ context.Context, id string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.m[id]
	return ok && c.now().Before(until), nil
}

// Forget implements replayCache.
func (c *jtiCache) Forget(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
	return nil
}

func (c *jtiCache) add(id string, now time.Time, ttl time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if until, ok := c.m[id]; ok && now.Before(until) {
		return false
	}
	if len(c.m) > 10000 {
		for k, until := range c.m {
			if now.After(until) {
				delete(c.m, k)
			}
		}
	}
	c.m[id] = now.Add(ttl)
	return true
}
