package testenv

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/session"
)

// FakeJWT returns a compact-JWS-shaped token of about n bytes (random
// segments: it verifies nowhere).
func FakeJWT(n int) string {
	seg := func(k int) string {
		b := make([]byte, k)
		rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return seg(36) + "." + seg(n*3/4-230) + "." + seg(256)
}

// RealisticSession is an Auth0-like session, the size budget's yardstick:
// a 900-byte access JWT, a 1.1 KB ID token, a refresh token and the usual
// claims. Its access token is valid for 24 hours; Provider is empty (the
// app's only provider).
func RealisticSession() *session.Session {
	now := time.Now().Truncate(time.Millisecond)
	return &session.Session{
		ID: "3q2-7wAAAAAAAAAAAAAAAA", Issuer: "https://example.eu.auth0.com/",
		AccessToken: FakeJWT(900), TokenType: "Bearer", RefreshToken: "v1.MRrtbX6K9nQf3xq2e1bYkFzJ0sTj8oWcA4lPdGhUiVyN5mR7tB_Eg-Zu2vXw1QaS3dF6gH9jK0lL",
		IDToken: FakeJWT(1100), Expiry: now.Add(24 * time.Hour), Issued: now, Scope: "openid profile email offline_access",
		CreatedAt: now, LastSeen: now,
		User: confidant.User{Subject: "auth0|64f1c0ffee0123456789abcd", Name: "Dee Mo", Email: "demo@example.com", Picture: "https://s.gravatar.com/avatar/0123456789abcdef0123456789abcdef?s=480", Claims: []byte(`{"sub":"auth0|64f1c0ffee0123456789abcd","name":"Dee Mo","email":"demo@example.com","email_verified":true,"nickname":"demo","updated_at":"2026-11-01T10:00:00.000Z"}`)},
	}
}

// Clock is the tests' one clock, confidanttest's: the wall clock, ahead
// by what Add added, or stopped by Set.
type Clock = confidanttest.Clock

// NewClock returns a Clock stopped at t.
func NewClock(t time.Time) *Clock {
	c := confidanttest.NewClock()
	c.Set(t)
	return c
}

// LoadCookies loads the session that cookies carry from st, as a request
// to http://localhost/ with them would.
func LoadCookies(st session.Store, cookies []*http.Cookie) (*session.Session, error) {
	req := httptest.NewRequest("GET", "http://localhost/", nil)
	AddCookies(req, cookies)
	return st.Load(req)
}

// AddCookies adds cookies to req as a browser sends them (name and value)
// and returns req: the one way the tests put a session on a request.
func AddCookies(req *http.Request, cookies []*http.Cookie) *http.Request {
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return req
}
