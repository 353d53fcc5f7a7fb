package session

import (
	"net/http"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/internal/fail"
)

// Session is a signed-in user's session.
type Session struct {
	// ID identifies this sign-in. A new one is drawn at every sign-in, so
	// a session's identity never survives a login.
	ID string

	// User is who signed in (Provider, Subject, Name, Email, Claims…).
	confidant.User

	// Issuer and SID are the ID token's iss and sid (empty for plain
	// OAuth 2.0), which back-channel logout names sessions by.
	Issuer string
	SID    string

	// Tokens.
	AccessToken  string
	TokenType    string // usually "Bearer"
	RefreshToken string
	IDToken      string    // raw ID token, kept as id_token_hint for logout
	Expiry       time.Time // when AccessToken expires; zero when unknown
	Issued       time.Time // when the current tokens were obtained
	Scope        string

	// Values are the app's own values for this session (roles, an account
	// ID), set by the sign-in hook (middleware.Config.OnSignIn). Keep them
	// few and short: they travel in the cookie. Read-only.
	Values map[string]string

	// DPoPKey is the private key the tokens are bound to (RFC 9449), PKCS#8
	// DER; nil for Bearer tokens. Sealed with the session like the tokens.
	DPoPKey []byte

	// APITokens are the tokens of APIs that have one of their own (an
	// audience or resource other than the sign-in token's), by API name.
	// Treat the map as read-only: copy it to change it.
	APITokens map[string]APIToken

	// CreatedAt is when the user signed in; LastSeen when the session was
	// last saved.
	CreatedAt time.Time
	LastSeen  time.Time

	// ClaimsAt is when the provider last asserted the user's claims: the
	// sign-in, or a refresh that brought an ID token or asked userinfo
	// again. Zero in a session written before it was kept: then CreatedAt.
	ClaimsAt time.Time

	version  uint64   // the stored version a server-side store loaded (CAS); not in cookies
	denyKeys []string // deny-list keys, computed once for the sessions CookieStore caches
}

// APIToken is an access token for one API.
type APIToken struct {
	AccessToken string
	TokenType   string    // usually "Bearer"
	Expiry      time.Time // zero when unknown
	Issued      time.Time // when it was obtained
	// RefreshToken is one that came with the API's token by token
	// exchange, a grant apart from the sign-in's: never the session's
	// RefreshToken, and revoked with it at sign-out. Usually empty.
	RefreshToken string
}

// Timeouts are a store's session lifetimes, enforced on load: a session
// unused for Idle, or older than Absolute, is gone.
type Timeouts struct {
	// Idle is how long a session may go unseen: each save starts it again
	// (rolling), and the middleware saves a session in use well within
	// Idle.
	// Default: 24h.
	Idle time.Duration

	// Absolute is how long a session may live from its sign-in, however
	// much it is used.
	// Default: 168h (7 days).
	Absolute time.Duration
}

// withDefaults is t with zero fields set to their defaults.
func (t Timeouts) withDefaults() Timeouts {
	if t.Idle <= 0 {
		t.Idle = 24 * time.Hour
	}
	if t.Absolute <= 0 {
		t.Absolute = 7 * 24 * time.Hour
	}
	return t
}

// expired reports whether s has outlived t at now: older than Absolute, or
// not seen for longer than Idle.
func (t Timeouts) expired(s *Session, now time.Time) bool {
	return now.Sub(s.CreatedAt) > t.Absolute || (!s.LastSeen.IsZero() && now.Sub(s.LastSeen) > t.Idle)
}

// Store loads and saves sessions for HTTP requests. Implementations are safe
// for concurrent use.
type Store interface {
	// Load returns the request's session. With no session, or one that
	// cannot be trusted (tampered, expired, unknown key), it returns an
	// error wrapping ErrNoSession. The session may be shared with other
	// requests (a cache of verified cookies): do not modify it; copy it.
	Load(r *http.Request) (*Session, error)

	// Save writes s for the response. It must be called before the
	// response's header is written. It must not modify s, which may be
	// shared by concurrent requests.
	Save(w http.ResponseWriter, r *http.Request, s *Session) error

	// Delete removes the request's session.
	Delete(w http.ResponseWriter, r *http.Request) error
}

// The families of this package's errors, to test with errors.Is; a
// configuration error from a constructor matches confidant.ErrConfig.
var (
	// ErrNoSession means the request carries no usable session: none at all,
	// or one that was tampered with, truncated, expired or sealed with a key
	// that is no longer configured. The user is simply not signed in. A
	// session cookie that was present but could not be trusted says so in
	// the error's text, and metrics.Reason gives it session_invalid.
	ErrNoSession error = fail.NoSession

	// ErrTooLarge means the encoded session exceeds the store's size budget.
	// Retrying does not help: the session must hold less (fewer claims or
	// scopes) or live in a server-side store (redisstore.Store).
	ErrTooLarge error = fail.TooLarge

	// ErrConflict means a compare-and-swap write lost: the stored session
	// changed since it was loaded. Reload and retry.
	ErrConflict error = fail.Conflict

	// ErrUnavailable means the session store could not be reached or
	// failed; the user is not signed out, the request should fail with 503.
	ErrUnavailable error = fail.SessionUnavailable
)
