package middleware

// The refresh policy: when a session is due for a refresh, and what a
// failed refresh means for the request.

import (
	"errors"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/lifetime"
	"github.com/confidant-go/confidant/session"
)

// RefreshAction is what happens to a request whose refresh failed.
type RefreshAction int

const (
	// RefreshEndSession clears the session: a browser navigation is sent to sign
	// in again (return-to kept), any other request gets 401.
	RefreshEndSession RefreshAction = iota + 1
	// RefreshKeepSession keeps the session unchanged and runs the handler with
	// the old tokens; the refresh is tried again on a later request.
	RefreshKeepSession
	// RefreshUnavailable keeps the session unchanged and answers 503 with
	// Retry-After, without running the handler.
	RefreshUnavailable
)

// DefaultRefreshPolicy is the default Config.OnRefreshError:
//   - a revoked or expired refresh token (invalid_grant), or a refreshed ID
//     token that is invalid or names another identity: RefreshEndSession;
//   - anything else (provider unreachable, timeout, 5xx, a misconfigured
//     client): RefreshKeepSession while the access token is still good at now (for
//     a second more, or a quarter of its lifetime if that is shorter, so
//     that it does not expire on its way to an API), RefreshUnavailable after. A
//     user is never signed out because the provider was slow.
func DefaultRefreshPolicy(err error, s *session.Session, now time.Time) RefreshAction {
	if errors.Is(err, fail.RefreshRevoked) || errors.Is(err, fail.SessionEnded) ||
		errors.Is(err, client.ErrInvalidIDToken) { // with fail.IdentityChanged, NonceMismatch, AccessTokenHash
		return RefreshEndSession
	}
	if !s.Expiry.IsZero() && lifetime.Usable(now, s.Issued, s.Expiry) {
		return RefreshKeepSession
	}
	return RefreshUnavailable
}

// expiryDelta is how close to expiry a token is refreshed before an API
// call, as x/oauth2 does.
const expiryDelta = 10 * time.Second

// due reports whether s should be refreshed before the handler runs: its
// access token expires within the leeway, or its claims are older than
// Config.ClaimsMaxAge.
func (rf *refresher) due(s *session.Session, now time.Time) bool {
	return s.RefreshToken != "" && (lifetime.Due(now, s.Issued, s.Expiry, rf.leeway) || rf.claimsStale(s, now))
}

// claimsDue reports whether op renews s's claims: they are not newer
// than op.claimsBefore.
func (op refreshOp) claimsDue(s *session.Session) bool {
	return !op.claimsBefore.IsZero() && !claimsTime(s).After(op.claimsBefore)
}

// claimsTime is when s's claims were last obtained.
func claimsTime(s *session.Session) time.Time {
	if s.ClaimsAt.IsZero() {
		return s.CreatedAt
	}
	return s.ClaimsAt
}

// claimsStale reports whether s's claims are older than
// Config.ClaimsMaxAge, so that its refresh asks for them again.
func (rf *refresher) claimsStale(s *session.Session, now time.Time) bool {
	return rf.claimsMaxAge > 0 && now.Sub(claimsTime(s)) > rf.claimsMaxAge
}

// dueForCall reports whether s's access token is too close to expiry to be
// sent to an API.
func (rf *refresher) dueForCall(s *session.Session, now time.Time) bool {
	return s.RefreshToken != "" && lifetime.Due(now, s.Issued, s.Expiry, expiryDelta)
}

// opDue reports whether op must run for s: the sign-in tokens are due
// before the handler, an API token is missing or too close to expiry.
func (rf *refresher) opDue(op refreshOp, s *session.Session, now time.Time) bool {
	if op.api == "" {
		return rf.due(s, now) || (s.RefreshToken != "" && op.claimsDue(s))
	}
	t, ok := s.APITokens[op.api]
	return (s.RefreshToken != "" || op.exchange) && (!ok || lifetime.Due(now, t.Issued, t.Expiry, expiryDelta))
}

// decide is what a failed refresh of s means, by the app's policy.
func (rf *refresher) decide(err error, s *session.Session) RefreshAction {
	return rf.policy(err, s, rf.now())
}
