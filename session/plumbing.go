package session

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/confidant-go/confidant/internal/cookies"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/seam"
	"github.com/confidant-go/confidant/internal/sesskeys"
)

// The package's plumbing, which the middleware and redisstore reach through
// internal/seam rather than exported names: a CookieStore's binding to the
// app's origin and its timeouts; and, for seam.Of((*Session)(nil)), the
// sessions' encoding, keys and stored version.
func init() {
	seam.Register(func(v any) (any, bool) {
		switch v := v.(type) {
		case *CookieStore:
			return (*cookiePlumbing)(v), true
		case *Session:
			return codec{}, true
		case *MemoryDenyList:
			return (*memoryDenyPlumbing)(v), true
		}
		return nil, false
	})
}

// memoryDenyPlumbing is a MemoryDenyList's plumbing.
type memoryDenyPlumbing MemoryDenyList

// DeniedEach is the time recorded for each of keys (zero: none).
func (p *memoryDenyPlumbing) DeniedEach(ctx context.Context, keys []string) ([]time.Time, error) {
	return (*MemoryDenyList)(p).deniedEach(keys), nil
}

// cookiePlumbing is a CookieStore's plumbing.
type cookiePlumbing CookieStore

// BindOrigin binds the store to the app's origin and to app (the
// middleware passes its origin and client IDs) before it serves: cookie
// attributes follow the origin (seam.CookiePolicy), and every session the
// store seals is bound to app, so that two apps sharing keys (and cookie
// names) do not accept each other's sessions. Binding one store to
// origins that need different attributes, or to two apps, is an error.
// A store that was never bound uses Secure cookies.
func (p *cookiePlumbing) BindOrigin(origin *url.URL, app string) (seam.CookiePolicy, error) {
	s := (*CookieStore)(p)
	if err := s.app.Bind(app); err != nil {
		return seam.CookiePolicy{}, fmt.Errorf("%w: %w", fail.SessionConfig, err)
	}
	s.aads.Store(&[2][]byte{s.app.AAD(s.bases[0]), s.app.AAD(s.bases[1])})
	return bindSecurity(&s.sec, origin, s.opts.SameSite)
}

// Timeouts are the store's, enforced on load; Absolute is at most the
// cookie's MaxAge. The middleware saves a session again now and then to
// roll its idle timeout, and keeps deny-list entries for as long as
// Absolute.
func (p *cookiePlumbing) Timeouts() Timeouts { return p.cfg.Timeouts }

// bindSecurity fixes sec for origin and gives the store's policy.
func bindSecurity(sec *cookies.Security, origin *url.URL, sameSite http.SameSite) (seam.CookiePolicy, error) {
	secure, err := sec.Bind(origin)
	if err != nil {
		return seam.CookiePolicy{}, fmt.Errorf("%w: %w", fail.SessionConfig, err)
	}
	return seam.CookiePolicy{Secure: secure, SameSite: sameSite}, nil
}

// codec is the plumbing of sessions that server-side stores and the
// middleware share.
type codec struct{}

// Marshal encodes s in the compact encoding the stores keep (sealed):
// every field but the stored version.
func (codec) Marshal(s *Session) []byte { return marshal(s) }

// Unmarshal decodes what Marshal made; a corrupt or foreign encoding gives
// an error wrapping fail.InvalidSession.
func (codec) Unmarshal(b []byte) (*Session, error) {
	s, err := unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fail.InvalidSession, err)
	}
	return s, nil
}

// DenyKeys are the keys a DenyList is asked about for s: its user at its
// provider, when known its provider session (the ID token's iss and sid)
// alone and with its user, its verified email, and the session itself (by
// its ID, and by the hash of it that lists of sessions show). Computed once for the sessions CookieStore
// caches.
func (codec) DenyKeys(s *Session) []string {
	if s.denyKeys != nil {
		return s.denyKeys
	}
	return denyKeys(s)
}

// IndexKeys are the keys a server-side store indexes s under, to end its
// sessions by them (back-channel logout, sign-out everywhere, Shared
// Signals): its user at its provider and, when known, its provider
// session and its verified email.
func (codec) IndexKeys(s *Session) []string { return indexKeys(s) }

// Version is the stored version a server-side store loaded s at; writes
// are compare-and-swap on it. Not stored in cookies.
func (codec) Version(s *Session) uint64 { return s.version }

// SetVersion sets s's stored version (s is the caller's own).
func (codec) SetVersion(s *Session, v uint64) { s.version = v }

// Expired reports whether s has outlived t at now: older than Absolute, or
// not seen for longer than Idle. Stores check it when they load a session.
func (codec) Expired(t Timeouts, s *Session, now time.Time) bool { return t.expired(s, now) }

// WithDefaults is t with zero fields set to their defaults.
func (codec) WithDefaults(t Timeouts) Timeouts { return t.withDefaults() }

// MemoryDenyList is a MemoryDenyList on the clock now (the middleware's
// default deny list, on its Config.Now).
func (codec) MemoryDenyList(now func() time.Time) *MemoryDenyList {
	return &MemoryDenyList{now: now}
}

// denyKeys are the deny-list keys of s: its user at its provider, when
// known its provider session (iss + sid), and the session itself.
func denyKeys(s *Session) []string {
	keys := append(indexKeys(s), sesskeys.ID(s.ID), sesskeys.RefKey(sesskeys.Ref(s.ID)))
	if s.SID != "" {
		// A server-side store finds these sessions by their sid and
		// checks the user (no index of its own).
		keys = append(keys, sesskeys.SIDUser(s.Issuer, s.SID, s.Provider, s.Subject))
	}
	return keys
}

func indexKeys(s *Session) []string {
	keys := make([]string, 1, 3)
	keys[0] = sesskeys.User(s.Provider, s.Subject)
	if s.SID != "" {
		keys = append(keys, sesskeys.SID(s.Issuer, s.SID))
	}
	if s.Email != "" && s.EmailVerified {
		keys = append(keys, sesskeys.Email(s.Provider, s.Email))
	}
	return keys
}
