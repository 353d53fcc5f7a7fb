package middleware_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// TestAttack35AccessTokenResponseNotStored: a handler that passes on what
// AccessToken hands out (the documented use: "for an app that must pass
// it on itself", e.g. to a SPA or a mobile shell) writes a bearer token
// into a response that the SDK leaves cacheable: no Cache-Control at all.
// A shared cache that ignores Vary (many CDNs only honour Vary on
// Accept-Encoding) or a caching proxy then serves one user's token to the
// next; RFC 6749 5.1 asks no-store of any response carrying a token.
func TestAttack35AccessTokenResponseNotStored(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	env.Mux.Handle("/token", env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := env.Auth.AccessToken(r, "")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, tok.AccessToken)
	})))
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	get(t, hc, env.App.URL+"/token") // a first request may roll the cookie
	resp, body := get(t, hc, env.App.URL+"/token")
	if resp.StatusCode != 200 || body == "" {
		t.Fatalf("/token: %d %q", resp.StatusCode, body)
	}
	cc := resp.Header.Get("Cache-Control")
	if !strings.Contains(cc, "no-store") && !strings.Contains(cc, "private") {
		t.Errorf("a response after AccessToken has Cache-Control %q (Vary %q, Set-Cookie %d): cacheable by a shared cache", cc, resp.Header.Values("Vary"), len(resp.Cookies()))
	}
}

// TestAttack35AccessTokenAnonymousOnOptional: AccessToken's doc: "r must
// have gone through Require or Optional. Without a session it fails with
// ErrNotSignedIn". Optional puts nothing in the context of an anonymous
// request, so AccessToken takes it for a handler no middleware wraps and
// answers a configuration error: StatusCode gives 500 ("Sign-in is not set
// up"), errors.Is(err, ErrNotSignedIn) is false, and an API caller that is
// merely signed out gets a 500 instead of a 401.
func TestAttack35AccessTokenAnonymousOnOptional(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	var got, viaClient error
	var user *confidant.User
	env.Mux.Handle("/maybe", env.Auth.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, got = env.Auth.AccessToken(r, "")
		_, viaClient = env.Auth.HTTPClient(r).Get(env.APISrv.URL + "/orders")
		user = middleware.UserFrom(r.Context())
	})))
	get(t, testenv.Browser(), env.App.URL+"/maybe")
	if !errors.Is(got, middleware.ErrNotSignedIn) || middleware.StatusCode(got) != http.StatusUnauthorized {
		t.Errorf("AccessToken for an anonymous request through Optional: %v (status %d), want ErrNotSignedIn (401)", got, middleware.StatusCode(got))
	}
	if !errors.Is(viaClient, middleware.ErrNotSignedIn) {
		t.Errorf("HTTPClient for an anonymous request through Optional: %v, want ErrNotSignedIn (its doc says so)", viaClient)
	}
	if user != nil {
		t.Errorf("UserFrom for an anonymous request: %+v, want nil", user)
	}
}
