package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/session"
)

// User is the signed-in user, as the request context holds it.
type User struct {
	Subject  string          // stable ID at the provider ("sub")
	Provider string          // name of the provider that signed the user in
	Name     string          // display name
	Email    string          // e-mail address
	Picture  string          // picture URL
	Claims   json.RawMessage // every claim, as JSON
}

type ctxKey struct{}

type ctxValue struct {
	user *User
	sess *session.Session
}

// UserFrom returns the signed-in user of a request that went through
// Require or Optional, or nil.
func UserFrom(ctx context.Context) *User {
	if v, ok := ctx.Value(ctxKey{}).(*ctxValue); ok {
		return v.user
	}
	return nil
}

// SessionFrom returns a copy of the request's session (with its tokens), or
// nil when not signed in. Changing it changes nothing stored.
func SessionFrom(ctx context.Context) *session.Session {
	if v, ok := ctx.Value(ctxKey{}).(*ctxValue); ok && v.sess != nil {
		cp := *v.sess
		return &cp
	}
	return nil
}

// load reads the session. A missing or untrustworthy one is (nil, nil); a
// tampered cookie is deleted so the browser stops sending it.
func (a *Auth) load(w http.ResponseWriter, r *http.Request) (*session.Session, error) {
	s, err := a.cfg.Store.Load(r)
	if err == nil {
		return s, nil
	}
	if errors.Is(err, session.ErrNoSession) {
		if errors.Is(err, session.ErrInvalidSession) {
			a.cfg.Store.Delete(w, r)
		}
		return nil, nil
	}
	return nil, fmt.Errorf("%w: %w", ErrSessionStore, err)
}

func withSession(r *http.Request, s *session.Session) *http.Request {
	u := &User{Subject: s.Subject, Provider: s.Provider, Name: s.Name, Email: s.Email, Picture: s.Picture, Claims: s.Claims}
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, &ctxValue{user: u, sess: s}))
}

// Require runs next only for signed-in requests, with the user in the
// context. Otherwise a browser navigation (GET or HEAD that accepts HTML
// and is not a fetch/XHR) is redirected to the provider and returns to the
// same path and query after signing in; any other request gets 401 with a
// JSON body {"error":"unauthorized",…} and a WWW-Authenticate header.
func (a *Auth) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := a.load(w, r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if s != nil {
			next.ServeHTTP(w, withSession(r, s))
			return
		}
		if isNavigation(r) {
			returnTo, ok := sanitizeReturnTo(r.URL.RequestURI())
			if !ok {
				returnTo = a.cfg.AfterLogin
			}
			a.startFlow(w, r, returnTo)
			return
		}
		a.unauthorized(w)
	})
}

// Optional runs next for every request, with the user in the context when
// signed in.
func (a *Auth) Optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := a.load(w, r)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if s != nil {
			r = withSession(r, s)
		}
		next.ServeHTTP(w, r)
	})
}

func (a *Auth) unauthorized(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("WWW-Authenticate", `Cookie realm="confidant", login="`+a.LoginPath()+`"`)
	w.WriteHeader(http.StatusUnauthorized)
	json.NewEncoder(w).Encode(map[string]string{
		"error":             "unauthorized",
		"error_description": "sign-in required",
		"login_url":         a.LoginPath(),
	})
}

// isNavigation tells a browser's top-level page load from API calls.
func isNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" && m != "navigate" {
		return false
	}
	if strings.EqualFold(r.Header.Get("X-Requested-With"), "XMLHttpRequest") {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// HTTPClient returns an *http.Client that calls APIs on behalf of r's
// signed-in user: it sends their access token as a Bearer header. Without a
// session its requests fail with ErrNotSignedIn; once the access token has
// expired they fail with client.ErrTokenExpired (use errors.Is).
func (a *Auth) HTTPClient(r *http.Request) *http.Client {
	s := SessionFrom(r.Context())
	if s == nil {
		return a.cfg.Client.HTTPClient(errSource{ErrNotSignedIn})
	}
	return a.cfg.Client.HTTPClient(a.cfg.Client.TokenSource(&oauth2.Token{
		AccessToken: s.AccessToken, TokenType: s.TokenType, Expiry: s.Expiry}))
}

type errSource struct{ err error }

func (e errSource) Token() (*oauth2.Token, error) { return nil, e.err }
