package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/confidant-go/confidant/event"
	"log/slog"
	"sync"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/session"
)

// RefreshAction is what happens to a request whose refresh failed.
type RefreshAction int

const (
	// EndSession clears the session: a browser navigation is sent to sign
	// in again (return-to kept), any other request gets 401.
	EndSession RefreshAction = iota + 1
	// KeepSession keeps the session unchanged and runs the handler with
	// the old tokens; the refresh is tried again on a later request.
	KeepSession
	// Unavailable keeps the session unchanged and answers 503 with
	// Retry-After, without running the handler.
	Unavailable
)

// DefaultRefreshPolicy is the default Config.OnRefreshError:
//   - a revoked or expired refresh token (invalid_grant), or a refreshed ID
//     token that is invalid or names another identity: EndSession;
//   - anything else (provider unreachable, timeout, 5xx, a misconfigured
//     client): KeepSession while the access token is still valid at now,
//     Unavailable once it has expired. A user is never signed out because
//     the provider was slow.
func DefaultRefreshPolicy(err error, s *session.Session, now time.Time) RefreshAction {
	if errors.Is(err, client.ErrRefreshRevoked) || errors.Is(err, client.ErrIdentityChanged) || errors.Is(err, ErrSessionEnded) ||
		errors.Is(err, client.ErrInvalidIDToken) || errors.Is(err, client.ErrNonceMismatch) ||
		errors.Is(err, client.ErrAccessTokenHash) {
		return EndSession
	}
	if !s.Expiry.IsZero() && now.Before(s.Expiry) {
		return KeepSession
	}
	return Unavailable
}

// ErrRefreshUnavailable is the failure reason of a 503 given because the
// access token has expired and the provider could not refresh it.
var ErrRefreshUnavailable = errors.New("middleware: token refresh unavailable")

// stateKey identifies a session's token state: the same session with other
// tokens is another state. Requests that carry the same state share one
// refresh.
type stateKey [32]byte

func keyOf(s *session.Session) stateKey {
	h := sha256.New()
	h.Write([]byte(s.ID))
	h.Write([]byte{0})
	h.Write([]byte(s.RefreshToken))
	h.Write([]byte{0})
	h.Write([]byte(s.AccessToken))
	var k stateKey
	h.Sum(k[:0])
	return k
}

// refresher runs at most one refresh per token state at a time and
// remembers recent outcomes, so that a request still carrying the old
// cookie (sent before the browser saw the new one) reuses the result
// instead of presenting a rotated-away refresh token to the provider.
type refresher struct {
	mu      sync.Mutex
	flights map[stateKey]*flight
	done    map[stateKey]*outcome
	order   []stateKey // insertion order of done, for eviction
	max     int
}

type flight struct {
	ch   chan struct{}
	sess *session.Session
	err  error
}

type outcome struct {
	sess  *session.Session // the refreshed session, or nil with err
	err   error
	until time.Time
}

const (
	outcomeTTL   = 2 * time.Minute  // covers requests in flight with the old cookie
	unwrittenTTL = 24 * time.Hour   // a refresh whose cookie could not be written
	revokedTTL   = 30 * time.Second // a refused refresh is not retried at once
	maxOutcomes  = 10000
)

func newRefresher() *refresher {
	return &refresher{flights: map[stateKey]*flight{}, done: map[stateKey]*outcome{}, max: maxOutcomes}
}

// refresh returns s with fresh tokens. Concurrent callers with the same
// token state share one token request; callers that arrive after it
// finished get its result from memory. shared reports that this caller did
// not start the token request itself.
func (a *Auth) refresh(ctx context.Context, s *session.Session) (ns *session.Session, shared bool, err error) {
	rf := a.refresher
	now := a.cfg.Now()
	rf.mu.Lock()
	k := keyOf(s)
	// Follow earlier outcomes: old state → its refreshed state → …
	for hops := 0; hops < 8; hops++ {
		o := rf.done[k]
		if o == nil || !now.Before(o.until) {
			break
		}
		if o.err != nil {
			rf.mu.Unlock()
			return nil, true, o.err
		}
		s, k, shared = o.sess, keyOf(o.sess), true
		if !a.due(s, now) {
			rf.mu.Unlock()
			a.emit(ctx, event.Event{Kind: event.RefreshDeduplicated, Provider: s.Provider, Session: sessionRef(s), Attrs: []slog.Attr{slog.String("by", "earlier result")}})
			return s, true, nil
		}
	}
	f := rf.flights[k]
	if f == nil {
		f = &flight{ch: make(chan struct{})}
		rf.flights[k] = f
		go a.runRefresh(k, s, f)
	} else {
		shared = true
	}
	rf.mu.Unlock()
	select {
	case <-f.ch:
		if shared && f.err == nil {
			a.emit(ctx, event.Event{Kind: event.RefreshDeduplicated, Provider: s.Provider, Session: sessionRef(s), Attrs: []slog.Attr{slog.String("by", "earlier result")}})
		}
		return f.sess, shared, f.err
	case <-ctx.Done():
		return nil, shared, ctx.Err()
	}
}

// runRefresh makes the token request for flight f, bounded by
// RefreshTimeout and independent of any one request's cancellation.
func (a *Auth) runRefresh(k stateKey, s *session.Session, f *flight) {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.RefreshTimeout)
	defer cancel()
	ns, err := a.refreshOnce(ctx, s)
	now := a.cfg.Now()
	var ttl time.Duration
	if err != nil {
		f.err = err
		ttl = revokedTTL
		if DefaultRefreshPolicy(err, s, now) != EndSession {
			ttl = a.cfg.RetryAfter
		}
	} else {
		f.sess = ns
		ttl = outcomeTTL
	}
	rf := a.refresher
	rf.mu.Lock()
	delete(rf.flights, k)
	rf.remember(k, &outcome{sess: f.sess, err: f.err, until: now.Add(ttl)}, now)
	rf.mu.Unlock()
	close(f.ch)
}

// refreshOnce makes one refresh of s. With a shared store it first takes
// the session's lock (so only one instance refreshes), re-reads the session
// (another instance may have refreshed it meanwhile: then its result is
// used and no token request is made) and stores the new tokens with a
// compare-and-swap write before releasing the lock.
func (a *Auth) refreshOnce(ctx context.Context, s *session.Session) (*session.Session, error) {
	c := a.clientFor(s)
	if a.shared == nil {
		res, err := c.Refresh(ctx, s.RefreshToken, previousOf(s))
		if err != nil {
			return nil, err
		}
		return refreshed(s, res, a.cfg.Now()), nil
	}
	held, unlock, err := a.shared.Lock(ctx, s.ID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSessionStore, err)
	}
	defer unlock()
	cur, err := a.shared.LoadID(ctx, s.ID)
	if errors.Is(err, session.ErrNoSession) {
		return nil, ErrSessionEnded
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSessionStore, err)
	}
	if keyOf(cur) != keyOf(s) && !a.due(cur, a.cfg.Now()) {
		a.emit(ctx, event.Event{Kind: event.RefreshDeduplicated, Provider: cur.Provider, Session: sessionRef(cur), Attrs: []slog.Attr{slog.String("by", "another instance")}})
		return cur, nil
	}
	if held.Err() != nil {
		// The lease ran out (Redis was unreachable for longer than it):
		// another instance may be refreshing; presenting the refresh
		// token now could be a reuse. Try again later.
		return nil, fmt.Errorf("%w: %w", ErrSessionStore, context.Cause(held))
	}
	// The token request runs on ctx, not held: cancelling it halfway
	// would lose a rotation the provider already made.
	res, err := c.Refresh(ctx, cur.RefreshToken, previousOf(cur))
	if err != nil {
		return nil, err
	}
	ns, err := a.shared.Update(ctx, refreshed(cur, res, a.cfg.Now()))
	if err != nil {
		// The rotated tokens could not be stored: nobody else will present
		// the old refresh token (we hold the lock), but this result is lost.
		return nil, fmt.Errorf("%w: %w", ErrSessionStore, err)
	}
	return ns, nil
}

// ErrSessionExpired means the session's access token expired and it has no
// refresh token to renew it: the user is not signed in any more (see
// Config.KeepExpiredSessions).
var ErrSessionExpired = errors.New("middleware: access token expired and cannot be refreshed")

// ErrSessionEnded means the session was ended elsewhere (sign-out on
// another instance, back-channel logout) while a request was using it.
var ErrSessionEnded = errors.New("middleware: session ended")

// remember stores an outcome, evicting expired and then the oldest ones
// beyond max. Called with mu held.
func (rf *refresher) remember(k stateKey, o *outcome, now time.Time) {
	if _, ok := rf.done[k]; !ok {
		rf.order = append(rf.order, k)
	}
	rf.done[k] = o
	for len(rf.done) > rf.max && len(rf.order) > 0 {
		old := rf.order[0]
		rf.order = rf.order[1:]
		delete(rf.done, old)
	}
	if len(rf.order) > 2*rf.max { // drop keys already deleted
		kept := rf.order[:0]
		for _, k := range rf.order {
			if o, ok := rf.done[k]; ok && now.Before(o.until) {
				kept = append(kept, k)
			} else {
				delete(rf.done, k)
			}
		}
		rf.order = kept
	}
}

// keepUnwritten makes the outcome of old's refresh last long: its new
// cookie could not be written (the response had started), so the browser
// will come back with old, and must get the rotated tokens then.
func (a *Auth) keepUnwritten(old *session.Session) {
	rf := a.refresher
	rf.mu.Lock()
	defer rf.mu.Unlock()
	if o := rf.done[keyOf(old)]; o != nil && o.err == nil {
		o.until = a.cfg.Now().Add(unwrittenTTL)
	}
}

// forget drops every remembered outcome of session id (at sign-out, so an
// old cookie cannot bring the session back).
func (a *Auth) forget(id string) {
	rf := a.refresher
	rf.mu.Lock()
	defer rf.mu.Unlock()
	for k, o := range rf.done {
		if o.sess != nil && o.sess.ID == id {
			delete(rf.done, k)
		}
	}
}

// due reports whether s should be refreshed before use at now.
func (a *Auth) due(s *session.Session, now time.Time) bool {
	return s.RefreshToken != "" && client.Due(now, s.Issued, s.Expiry, a.cfg.RefreshLeeway)
}

// refreshed returns a copy of s with the tokens of res.
func refreshed(s *session.Session, res *client.Result, now time.Time) *session.Session {
	ns := *s
	t := res.Token
	ns.AccessToken, ns.TokenType, ns.RefreshToken, ns.Expiry, ns.Issued = t.AccessToken, t.Type(), t.RefreshToken, t.Expiry, now
	if res.Scope != "" {
		ns.Scope = res.Scope
	}
	if res.IDToken != "" {
		id := res.Identity
		ns.IDToken, ns.Name, ns.Email, ns.Picture, ns.Claims = res.IDToken, id.Name, id.Email, id.Picture, id.Claims
	}
	return &ns
}

// previousOf is what a refresh of s must keep: the identity and the ID
// token's aud, azp and auth_time (OpenID Connect Core 12.2).
func previousOf(s *session.Session) client.Previous {
	var c struct {
		Iss      string          `json:"iss"`
		Aud      json.RawMessage `json:"aud"`
		AZP      string          `json:"azp"`
		AuthTime float64         `json:"auth_time"`
	}
	json.Unmarshal(s.Claims, &c)
	p := client.Previous{Issuer: s.Issuer, Subject: s.Subject, AZP: c.AZP}
	if p.Issuer == "" {
		p.Issuer = c.Iss
	}
	var one string
	if json.Unmarshal(c.Aud, &one) == nil && one != "" {
		p.Audience = []string{one}
	} else {
		json.Unmarshal(c.Aud, &p.Audience)
	}
	if c.AuthTime > 0 {
		p.AuthTime = time.Unix(int64(c.AuthTime), 0)
	}
	return p
}
