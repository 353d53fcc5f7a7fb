package middleware_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// postLogout signs hc out as the app's own page would (same origin).
func signOut(t *testing.T, env *testenv.Env, hc *http.Client, headers map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", env.App.URL+"/auth/logout", nil)
	req.Header.Set("Origin", env.App.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// whoamiWith asks /whoami with exactly these cookies.
func whoamiWith(t *testing.T, env *testenv.Env, cookies []*http.Cookie) string {
	t.Helper()
	req, _ := http.NewRequest("GET", env.App.URL+"/whoami", nil)
	testenv.AddCookies(req, cookies)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestLogoutEndsCookieCopies pins a review finding: after POST
// /auth/logout, a copy of the cookie taken before still signed the user in
// (cookie store).
func TestLogoutEndsCookieCopies(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	stolen := hc.Jar.Cookies(mustURL(env.App.URL))
	if who := whoamiWith(t, env, stolen); who != devprovider.DemoUser.ID {
		t.Fatalf("before logout the copy is %q", who)
	}
	if resp := signOut(t, env, hc, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if who := whoamiWith(t, env, stolen); who != "anonymous" {
		t.Errorf("after logout the copy of the cookie is still signed in as %q", who)
	}
	// A new sign-in in the same browser is not affected.
	env.SignIn(t, hc, "/profile")
	if _, who := env.Get(t, hc, "/whoami"); who != devprovider.DemoUser.ID {
		t.Errorf("after signing in again: %q", who)
	}
}

// TestDenyLivesAsLongAsSessions pins a review finding: a deny entry lived a
// fixed 8 days, so with a 30-day absolute timeout a signed-out cookie came
// back.
func TestDenyLivesAsLongAsSessions(t *testing.T) {
	var clock testenv.Clock
	env := testenv.New(t, testenv.Options{
		Client: func(c *client.Config) { c.Now = clock.Now; c.Scopes = []string{"openid", "profile"} },
		Cookie: func(c *session.CookieConfig) {
			c.Now = clock.Now
			c.Timeouts = session.Timeouts{Idle: 40 * 24 * time.Hour, Absolute: 30 * 24 * time.Hour}
			c.Options = &sessions.Options{MaxAge: 30 * 24 * 3600}
		},
		Middleware: func(c *middleware.Config) { c.Now = clock.Now; c.KeepExpiredSessions = true },
	})
	out, stays := testenv.Browser(), testenv.Browser()
	env.SignIn(t, out, "/profile")
	env.SignIn(t, stays, "/profile")
	stolen := out.Jar.Cookies(mustURL(env.App.URL))
	if resp := signOut(t, env, out, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	clock.Set(time.Now().Add(10 * 24 * time.Hour))
	if who := whoamiWith(t, env, stays.Jar.Cookies(mustURL(env.App.URL))); who != devprovider.DemoUser.ID {
		t.Fatalf("control: a session that did not sign out is %q after 10 days", who)
	}
	if who := whoamiWith(t, env, stolen); who != "anonymous" {
		t.Errorf("10 days after logout, a copy of the cookie is signed in as %q", who)
	}
}

// TestExpiredSessionIsSignedOut pins a review finding: a session whose
// access token expired with no refresh token answered 200 while every API
// call failed. Now navigations sign in again and API calls get 401 JSON;
// KeepExpiredSessions keeps the old behaviour for apps that want it.
func TestExpiredSessionIsSignedOut(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprint("KeepExpiredSessions=", keep), func(t *testing.T) {
			var clock testenv.Clock
			env := expiringEnv(t, &clock, keep)
			hc := testenv.Browser()
			env.SignIn(t, hc, "/profile")
			if s := env.Session(t, hc); s == nil || s.RefreshToken != "" {
				t.Fatalf("want a session without refresh token, got %+v", s)
			}
			clock.Set(time.Now().Add(6 * time.Minute))
			status, body := env.APIRequest(t, hc)
			if keep {
				if status != http.StatusBadGateway || !strings.Contains(body, "expired") {
					t.Errorf("API call: %d %s; want 502 saying the token expired", status, body)
				}
				if _, who := env.Get(t, hc, "/whoami"); who != devprovider.DemoUser.ID {
					t.Errorf("whoami %q, want still signed in", who)
				}
				return
			}
			var j map[string]string
			if status != http.StatusUnauthorized || jsonUnmarshal([]byte(body), &j) != nil || j["login_url"] != "/auth/login" {
				t.Errorf("API call: %d %s; want 401 JSON with login_url", status, body)
			}
			resp, _ := env.Get(t, hc, "/profile")
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, env.OP.Issuer) {
				t.Errorf("navigation: %d to %q; want a new sign-in at the provider", resp.StatusCode, loc)
			}
			if s := env.Session(t, hc); s != nil {
				t.Error("the expired session's cookie was not deleted")
			}
			if n := len(env.API.Accepted()); n != 0 {
				t.Errorf("API received %d requests", n)
			}
		})
	}
}

// TestLogoutCrossSite pins a review finding: a page on another origin
// auto-submitting a form to /auth/logout signed the user out. Cross-site
// requests are refused with 403 and change nothing; a logout without a
// session cookie clears nothing.
func TestLogoutCrossSite(t *testing.T) {
	env := testenv.New(t, testenv.Options{Middleware: func(c *middleware.Config) { c.AllowGETLogout = true }})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	cases := []struct {
		name    string
		method  string
		headers map[string]string
	}{
		{"form POST from another site", "POST", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}},
		{"POST from a sibling subdomain", "POST", map[string]string{"Origin": "https://x.example", "Sec-Fetch-Site": "same-site"}},
		{"POST with another Origin, no Sec-Fetch-Site", "POST", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": ""}},
		{"GET from another site (AllowGETLogout)", "GET", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, env.App.URL+"/auth/logout", nil)
			for k, v := range tc.headers {
				if v != "" {
					req.Header.Set(k, v)
				}
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || len(resp.Header.Values("Set-Cookie")) != 0 {
				t.Errorf("%d with %d Set-Cookie; want 403 and none", resp.StatusCode, len(resp.Header.Values("Set-Cookie")))
			}
			if _, who := env.Get(t, hc, "/whoami"); who != devprovider.DemoUser.ID {
				t.Errorf("signed out by a cross-site request: %q", who)
			}
		})
	}
	t.Run("without a session cookie nothing is cleared", func(t *testing.T) {
		resp := signOut(t, env, testenv.Browser(), nil)
		if resp.StatusCode != http.StatusSeeOther || len(resp.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("%d with Set-Cookie %q; want 303 and none", resp.StatusCode, resp.Header.Values("Set-Cookie"))
		}
	})
	t.Run("same origin signs out", func(t *testing.T) {
		if resp := signOut(t, env, hc, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		if _, who := env.Get(t, hc, "/whoami"); who != "anonymous" {
			t.Errorf("after same-origin logout: %q", who)
		}
	})
}
