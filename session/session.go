package session

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// Session is a signed-in user's session.
type Session struct {
	// ID identifies this sign-in. A new one is drawn at every sign-in, so
	// a session's identity never survives a login.
	ID string

	// Provider is the name of the provider that signed the user in.
	Provider string

	// Identity.
	Subject string          // "sub" at the provider
	Name    string          // display name
	Email   string          // e-mail address
	Picture string          // picture URL
	Claims  json.RawMessage // every claim of the ID token (and userinfo), as JSON

	// Tokens.
	AccessToken  string
	TokenType    string // usually "Bearer"
	RefreshToken string
	IDToken      string    // raw ID token, kept as id_token_hint for logout
	Expiry       time.Time // when AccessToken expires; zero when unknown
	Issued       time.Time // when the current tokens were obtained
	Scope        string

	// CreatedAt is when the user signed in; LastSeen when the session was
	// last saved.
	CreatedAt time.Time
	LastSeen  time.Time
}

// ClaimsMap decodes Claims into a map. An empty Claims gives an empty map.
func (s *Session) ClaimsMap() (map[string]any, error) {
	m := map[string]any{}
	if len(s.Claims) == 0 {
		return m, nil
	}
	err := json.Unmarshal(s.Claims, &m)
	return m, err
}

// Store loads and saves sessions for HTTP requests. Implementations are safe
// for concurrent use.
type Store interface {
	// Load returns the request's session. With no session, or one that
	// cannot be trusted (tampered, expired, unknown key), it returns an
	// error wrapping ErrNoSession.
	Load(r *http.Request) (*Session, error)

	// Save writes s for the response. It must be called before the
	// response's header is written. It must not modify s, which may be
	// shared by concurrent requests.
	Save(w http.ResponseWriter, r *http.Request, s *Session) error

	// Delete removes the request's session.
	Delete(w http.ResponseWriter, r *http.Request) error
}

var (
	// ErrNoSession means the request carries no usable session: none at all,
	// or one that was tampered with, truncated, expired or sealed with a key
	// that is no longer configured. The user is simply not signed in.
	ErrNoSession = errors.New("session: no session")

	// ErrInvalidSession is wrapped, together with ErrNoSession, when a
	// session cookie was present but could not be trusted.
	ErrInvalidSession = errors.New("session: invalid session cookie")

	// ErrTooLarge means the encoded session exceeds the store's size budget.
	ErrTooLarge = errors.New("session: session too large")

	// ErrConfig is wrapped by configuration errors from the constructors.
	ErrConfig = errors.New("session: invalid configuration")
)
