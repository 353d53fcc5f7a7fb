package middleware

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
)

type ctxKey struct{}

// UserFrom returns the signed-in user of a request that went through
// Require or Optional, or nil: who the handler runs as, for all of it.
// When the session ends while the handler runs (a refresh that HTTPClient
// made was refused), UserFrom still names that user, while SessionFrom
// turns nil and AccessToken and HTTPClient answer ErrNotSignedIn.
func UserFrom(ctx context.Context) *confidant.User {
	if st, ok := ctx.Value(ctxKey{}).(*reqSession); ok && st.in {
		return &st.user
	}
	return nil
}

// Session is what a handler may know of the request's session: who signed
// in, the app's values, when, and what was granted. It holds no token and
// no key: the SDK keeps those, and sends them only through HTTPClient,
// AppClient and Proxy, or hands out an access token when asked by name
// (AccessToken). It is a copy: changing it changes nothing stored.
type Session struct {
	confidant.User

	// Values are the app's own, set by Config.OnSignIn (SignedIn.Values).
	Values map[string]string

	// Scopes are the scopes granted to the sign-in's access token.
	Scopes []string

	// SignedInAt is when the user signed in, which began this session.
	SignedInAt time.Time

	// Expiry is when the sign-in's access token expires (it is refreshed
	// before the handler runs when due); zero when unknown.
	Expiry time.Time
}

// SessionFrom returns what a handler may know of the request's session
// (Require or Optional put it there), or nil when not signed in.
func SessionFrom(ctx context.Context) *Session {
	st, ok := ctx.Value(ctxKey{}).(*reqSession)
	if !ok {
		return nil
	}
	s := st.current()
	if s == nil {
		return nil
	}
	u := s.User
	u.Claims = slices.Clone(u.Claims)
	return &Session{User: u, Values: maps.Clone(s.Values), Scopes: strings.Fields(s.Scope),
		SignedInAt: s.CreatedAt, Expiry: s.Expiry}
}

// AccessToken hands out the signed-in user's access token for api, for an
// app that must pass it on itself (a gRPC call, a client library that
// takes a token): api "" is the sign-in's token, any other a name in
// Config.APIs (its own token, obtained as that API's configuration says).
// The token is fresh, refreshed as HTTPClient would before a call, and
// carries no refresh token. Prefer HTTPClient, AppClient or Proxy, which
// send a token only to its API: a token handed out goes wherever the app
// sends it. A DPoP-bound token (TokenType "DPoP") is of no use without a
// proof of the session's key, which never leaves the SDK: call such APIs
// through HTTPClient.
//
// r must have gone through Require or Optional. Without a session it
// fails with ErrNotSignedIn; with the errors of HTTPClient otherwise
// (fail.RefreshUnavailable when the provider cannot refresh a token that
// expired).
func (a *Auth) AccessToken(r *http.Request, api string) (*oauth2.Token, error) {
	st, _ := r.Context().Value(ctxKey{}).(*reqSession)
	if st == nil {
		return nil, fmt.Errorf("%w: AccessToken(r) in a handler that auth.Require or auth.Optional does not wrap (%s %s): wrap it, e.g. mux.Handle(pattern, auth.Require(h))",
			fail.MiddlewareConfig, r.Method, netx.ProviderText(sentPath(r)))
	}
	st.sw.handedToken()
	if api == "" {
		return st.token(r.Context())
	}
	var t *apiTarget
	for i := range a.apis {
		if a.apis[i].name == api {
			t = &a.apis[i]
		}
	}
	if t == nil {
		return nil, configErr("AccessToken: no API named %q in Config.APIs", api)
	}
	s := st.current()
	if s == nil {
		return nil, ErrNotSignedIn
	}
	if t.provider != "" && t.provider != s.Provider {
		return nil, fmt.Errorf("%w: API %q takes tokens of %s, not of %s", fail.APINotAllowed, api, t.provider, s.Provider)
	}
	return st.tokenFor(r.Context(), t)
}

// anonymous puts the state of a request that Optional found not signed in
// in r's context: AccessToken and HTTPClient then answer ErrNotSignedIn,
// not a configuration error, and UserFrom nil.
func anonymous(r *http.Request, st *reqSession) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
}

// withSession puts the signed-in user and the session state in r's context.
func withSession(r *http.Request, st *reqSession) *http.Request {
	s := st.sess
	st.user, st.in = s.User, true
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
}
