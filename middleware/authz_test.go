package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// errNotInvited is an app's reason to refuse a sign-in.
var errNotInvited = errors.New("not invited")

// TestOnSignIn: the hook sees the verified user before the session is
// made; it can refuse (403 with fail.SignInRefused and its own error in the
// chain, no session) or accept and keep values in the session.
func TestOnSignIn(t *testing.T) {
	var rec recordingErrors
	var seen []string
	var allow bool
	env := testenv.New(t, testenv.Options{Middleware: func(c *middleware.Config) {
		rec.install(c)
		c.OnSignIn = func(ctx context.Context, s *middleware.SignedIn) error {
			seen = append(seen, s.User.Subject)
			if s.Token == nil || s.Token.AccessToken == "" || s.IDToken == "" || !s.User.EmailVerified {
				return errors.New("hook: no verified user and tokens")
			}
			if !allow {
				return errNotInvited
			}
			s.Values["roles"] = "admin billing"
			return nil
		}
	}})
	hc := testenv.Browser()
	resp := env.SignIn(t, hc, "/profile")
	if err := rec.last(); resp.StatusCode != http.StatusForbidden || !errors.Is(err, fail.SignInRefused) || !errors.Is(err, errNotInvited) {
		t.Errorf("refused sign-in: %d, reason %v; want 403 with fail.SignInRefused and the app's error", resp.StatusCode, err)
	}
	if s := env.Session(t, hc); s != nil {
		t.Error("a refused sign-in made a session")
	}
	allow = true
	hc = testenv.Browser()
	env.SignIn(t, hc, "/profile")
	if s := env.Session(t, hc); s == nil || s.Values["roles"] != "admin billing" {
		t.Errorf("accepted sign-in: session %+v, want the hook's values", s)
	}
	if len(seen) != 2 {
		t.Errorf("the hook ran %d times, want 2", len(seen))
	}
}

// TestRouteRequirements: Claim, Scope and Value let in the users they name;
// others get 403 (a page for a browser, JSON for an API call), never a
// sign-in that would loop.
func TestRouteRequirements(t *testing.T) {
	auth, store := newAuth(middleware.Config{}) // a provider by hand: no sign-in happens here
	ok := func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "in") }
	routes := map[string]http.Handler{
		"groups": auth.RequireWith(middleware.Claim("groups", "admins", "ops"))(http.HandlerFunc(ok)),
		"scope":  auth.RequireWith(middleware.Scope("orders:write"))(http.HandlerFunc(ok)),
		"value":  auth.RequireWith(middleware.Value("roles", "billing"))(http.HandlerFunc(ok)),
		// A string claim matches whole: "Not Finance" is not "Finance"
		// (it matched its words, an authorization surprise).
		"department": auth.RequireWith(middleware.Claim("department", "Finance"))(http.HandlerFunc(ok)),
		"all":        auth.RequireWith(middleware.Claim("groups", "admins"), middleware.Scope("orders:write"), middleware.Value("roles", "billing"))(http.HandlerFunc(ok)),
	}
	admin := &session.Session{ID: "admin-session", Scope: "openid orders:write", Values: map[string]string{"roles": "admin billing"},
		User: confidant.User{Provider: "example", Subject: "1", Claims: []byte(`{"groups":["staff","admins"],"department":"Finance"}`)}, AccessToken: "at", Expiry: time.Now().Add(time.Hour)}
	guest := &session.Session{ID: "guest-session", Scope: "openid", User: confidant.User{Provider: "example", Subject: "2", Claims: []byte(`{"groups":"staff","department":"Not Finance"}`)},
		AccessToken: "at", Expiry: time.Now().Add(time.Hour)}
	for name, h := range routes {
		for _, who := range []struct {
			s      *session.Session
			status int
		}{{admin, 200}, {guest, 403}} {
			for _, accept := range []string{"text/html", "application/json"} {
				rec := httptest.NewRecorder()
				req := signedIn(store, "http://localhost:8080/"+name, who.s)
				req.Header.Set("Accept", accept)
				h.ServeHTTP(rec, req)
				if rec.Code != who.status || rec.Header().Get("Location") != "" {
					t.Errorf("%s as %s (%s): %d to %q, want %d and no redirect", name, who.s.ID, accept, rec.Code, rec.Header().Get("Location"), who.status)
				}
				if who.status == 403 && accept == "application/json" && !strings.Contains(rec.Body.String(), `"forbidden"`) {
					t.Errorf("%s JSON: %s", name, rec.Body)
				}
			}
		}
	}
}
