package middleware_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// TestRequireUnauthenticated: browser navigations are redirected to the
// provider; API-style requests get 401 JSON with WWW-Authenticate.
func TestRequireUnauthenticated(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	cases := []struct {
		name     string
		method   string
		headers  map[string]string
		redirect bool
	}{
		{"navigation", "GET", map[string]string{"Accept": "text/html,application/xhtml+xml", "Sec-Fetch-Mode": "navigate"}, true},
		{"navigation without fetch metadata", "GET", map[string]string{"Accept": "text/html"}, true},
		{"HEAD navigation", "HEAD", map[string]string{"Accept": "text/html"}, true},
		{"JSON", "GET", map[string]string{"Accept": "application/json"}, false},
		{"no Accept", "GET", nil, false},
		{"fetch", "GET", map[string]string{"Accept": "*/*", "Sec-Fetch-Mode": "cors"}, false},
		{"fetch accepting HTML", "GET", map[string]string{"Accept": "text/html", "Sec-Fetch-Mode": "cors"}, false},
		{"XHR", "GET", map[string]string{"Accept": "text/html", "X-Requested-With": "XMLHttpRequest"}, false},
		{"POST form", "POST", map[string]string{"Accept": "text/html"}, false},
		{"DELETE", "DELETE", map[string]string{"Accept": "text/html"}, false},
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, env.App.URL+"/profile?x=1", nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if tc.redirect {
				if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), env.OP.Issuer+devprovider.PathAuthorize) {
					t.Fatalf("status %d to %q, want 302 to the provider", resp.StatusCode, resp.Header.Get("Location"))
				}
				return
			}
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("no WWW-Authenticate header")
			}
			if tc.method == "HEAD" {
				return
			}
			var body map[string]string
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body["error"] != "unauthorized" || body["login_url"] != "/auth/login" {
				t.Errorf("body %v (%v), want JSON error unauthorized", body, err)
			}
		})
	}
	if n := env.OP.Count(devprovider.PathToken); n != 0 {
		t.Errorf("%d token requests", n)
	}
}

// TestAuthorizationRequest: the redirect carries state, nonce, PKCE S256,
// the scopes and the extra parameters.
func TestAuthorizationRequest(t *testing.T) {
	env := testenv.New(t, testenv.Options{Client: func(c *client.Config) {
		c.AuthParams = map[string][]string{"audience": {"https://api.example.com"}, "state": {"overridden?"}}
	}})
	u := env.StartLogin(t, testenv.Browser(), "/profile")
	q := u.Query()
	if len(q.Get("state")) < 43 || q.Get("state") == "overridden?" {
		t.Errorf("state %q: want 32+ random bytes", q.Get("state"))
	}
	if len(q.Get("nonce")) < 43 {
		t.Errorf("nonce %q", q.Get("nonce"))
	}
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
		t.Errorf("PKCE: method %q challenge %q", q.Get("code_challenge_method"), q.Get("code_challenge"))
	}
	if q.Get("scope") != "openid profile email offline_access" || q.Get("response_type") != "code" || q.Get("client_id") != testenv.ClientID {
		t.Errorf("scope %q response_type %q client_id %q", q.Get("scope"), q.Get("response_type"), q.Get("client_id"))
	}
	if q.Get("audience") != "https://api.example.com" {
		t.Errorf("audience %q", q.Get("audience"))
	}
	// Two attempts never share a state, nonce or verifier.
	v := env.StartLogin(t, testenv.Browser(), "/profile").Query()
	if v.Get("state") == q.Get("state") || v.Get("nonce") == q.Get("nonce") || v.Get("code_challenge") == q.Get("code_challenge") {
		t.Error("two sign-in attempts share protocol values")
	}
}

// TestReturnToOpenRedirect: /auth/login?return_to= only lands on local paths.
func TestReturnToOpenRedirect(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	cases := map[string]string{
		"/profile?a=b":            "/profile?a=b",
		"//evil.example":          "/",
		"/\\evil.example":         "/",
		"https://evil.example/":   "/",
		"javascript:alert(1)":     "/",
		"/%2F%2Fevil.example":     "/",
		"/%5Cevil.example":        "/",
		"/%252F%252Fevil.example": "/",
		"/\t/evil.example":        "/",
		"evil.example":            "/",
		"":                        "/",
	}
	for in, want := range cases {
		t.Run(in, func(t *testing.T) {
			hc := testenv.Browser()
			authURL := env.StartLogin(t, hc, "/auth/login?return_to="+urlQueryEscape(in))
			resp := callback(t, env, hc, env.ProviderLogin(t, hc, authURL).String())
			if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || got != want {
				t.Errorf("landed on %q (status %d), want %q", got, resp.StatusCode, want)
			}
		})
	}
}

// TestBadCookies: a tampered, truncated, foreign-key or retired-key session
// cookie means "not signed in" (401 for an API call, never a 500), and the
// bad cookie is deleted.
func TestBadCookies(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	var good string
	for _, c := range hc.Jar.Cookies(mustURL(env.App.URL)) {
		if c.Name == "confidant" {
			good = c.Value
		}
	}
	if good == "" {
		t.Fatal("no session cookie after sign-in")
	}
	// Reseal the same session with another key, as a retired key would have.
	other, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
	req, _ := http.NewRequest("GET", env.App.URL, nil)
	req.AddCookie(&http.Cookie{Name: "confidant", Value: good})
	sess, err := env.Store.Load(req)
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	other.Save(rec, req, sess)
	foreign := rec.cookie("confidant")

	flip := []byte(good)
	flip[len(flip)/2] ^= 1
	cases := map[string]string{
		"control":   good,
		"tampered":  string(flip),
		"truncated": good[:len(good)-10],
		"empty":     "",
		"garbage":   "not-base64-!!!",
		"other key": foreign,
		"unknown format version": func() string {
			b, _ := base64.RawURLEncoding.DecodeString(good)
			b[0] = 2
			return base64.RawURLEncoding.EncodeToString(b)
		}(),
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", env.App.URL+"/profile", nil)
			req.Header.Set("Accept", "application/json")
			req.AddCookie(&http.Cookie{Name: "confidant", Value: value})
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if name == "control" {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("control: %d", resp.StatusCode)
				}
				return
			}
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", resp.StatusCode)
			}
			if value != "" && !strings.Contains(strings.Join(resp.Header.Values("Set-Cookie"), "\n"), "confidant=;") {
				t.Errorf("bad cookie not deleted: %q", resp.Header.Values("Set-Cookie"))
			}
		})
	}
}

// TestKeyRotation: a session sealed with the old key still loads once a new
// key is put first, and stops loading once the old key is removed.
func TestKeyRotation(t *testing.T) {
	oldKey, newKey := testenv.NewKey(), testenv.NewKey()
	s1, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{oldKey}})
	s2, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{newKey, oldKey}})
	s3, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{newKey}})
	req, _ := http.NewRequest("GET", "http://localhost/", nil)
	rec := newRecorder()
	if err := s1.Save(rec, req, &session.Session{ID: "x", User: confidant.User{Subject: "u"}}); err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "__Host-confidant", Value: rec.cookie("__Host-confidant")})
	if s, err := s2.Load(req); err != nil || s.Subject != "u" {
		t.Fatalf("rotated store: %v", err)
	}
	if _, err := s3.Load(req); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("old key removed: err %v, want ErrNoSession", err)
	}
	// The rotated store seals with the new key.
	rec = newRecorder()
	s2.Save(rec, req, &session.Session{ID: "y", User: confidant.User{Subject: "v"}})
	req2, _ := http.NewRequest("GET", "http://localhost/", nil)
	req2.AddCookie(&http.Cookie{Name: "__Host-confidant", Value: rec.cookie("__Host-confidant")})
	if s, err := s3.Load(req2); err != nil || s.Subject != "v" {
		t.Fatalf("new key: %v", err)
	}
}

// TestLogoutMethods: GET does not sign out unless AllowGETLogout.
func TestLogoutMethods(t *testing.T) {
	for _, allow := range []bool{false, true} {
		env := testenv.New(t, testenv.Options{Middleware: func(c *middleware.Config) { c.AllowGETLogout = allow }})
		hc := testenv.Browser()
		env.SignIn(t, hc, "/profile")
		resp, _ := env.Get(t, hc, "/auth/logout")
		_, who := env.Get(t, hc, "/whoami")
		if !allow && (resp.StatusCode != http.StatusMethodNotAllowed || who != devprovider.DemoUser.ID) {
			t.Errorf("GET logout (not allowed): %d, whoami %q; want 405 and still signed in", resp.StatusCode, who)
		}
		if allow && (resp.StatusCode != http.StatusSeeOther || who != "anonymous") {
			t.Errorf("GET logout (allowed): %d, whoami %q; want 303 and signed out", resp.StatusCode, who)
		}
	}
}

// TestBearerExpiredToken: with KeepExpiredSessions, a session whose access
// token expired (no refresh token) stays, and the bearer client fails with
// fail.TokenExpired and sends nothing to the API.
func TestBearerExpiredToken(t *testing.T) {
	var clock testenv.Clock
	env := expiringEnv(t, &clock, true)
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	clock.Set(time.Now().Add(6 * time.Minute))
	resp, body := env.Get(t, hc, "/api")
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "expired") {
		t.Errorf("api with expired token: %d %s", resp.StatusCode, body)
	}
	if n := len(env.API.Accepted()); n != 0 {
		t.Errorf("API received %d requests", n)
	}
	// Directly, the error matches the sentinel.
	var ran bool
	var got error
	h := env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran = true
		_, got = env.Auth.HTTPClient(r).Get(env.APISrv.URL)
	}))
	req, _ := http.NewRequest("GET", env.App.URL+"/x", nil)
	testenv.AddCookies(req, hc.Jar.Cookies(mustURL(env.App.URL)))
	rec := newRecorder()
	h.ServeHTTP(rec, req)
	if !ran || !errors.Is(got, fail.TokenExpired) {
		t.Errorf("handler ran %v (status %d), err %v; want it run with ErrTokenExpired", ran, rec.Code, got)
	}
}
