package middleware_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// newAuthAt builds an Auth whose client's RedirectURL is redirectURL, on the
// provider of env.
func newAuthAt(t *testing.T, env *testenv.Env, redirectURL string, store session.Store, cfg func(*middleware.Config)) (*middleware.Auth, error) {
	t.Helper()
	prov, err := client.Discover(context.Background(), env.OP.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: testenv.ClientID, ClientSecret: testenv.ClientSecret, RedirectURL: redirectURL})
	if err != nil {
		t.Fatal(err)
	}
	mc := middleware.Config{Clients: []*client.Client{c}, Store: store}
	if cfg != nil {
		cfg(&mc)
	}
	return middleware.New(mc)
}

// TestCookiesSecureByConfiguration pins a review finding: behind a proxy
// that sends "Host: localhost:8080" the session cookie lost Secure and the
// __Host- prefix, and flow cookies ignored Options.Secure. Both come from
// the RedirectURL's scheme (or Options.Secure) now.
func TestCookiesSecureByConfiguration(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	cases := []struct {
		name     string
		redirect string
		forced   bool
		reqURL   string
		proto    string
		secure   bool
	}{
		{"https app behind a proxy sending Host localhost", "https://app.example.com/auth/callback", false, "http://localhost:8080/auth/login", "", true},
		{"https app, X-Forwarded-Proto http", "https://app.example.com/auth/callback", false, "http://app.example.com/auth/login", "http", true},
		{"loopback development", "http://localhost:8080/auth/callback", false, "http://localhost:8080/auth/login", "", false},
		{"loopback development, X-Forwarded-Proto https", "http://localhost:8080/auth/callback", false, "http://localhost:8080/auth/login", "https", false},
		{"loopback with Options.Secure", "http://localhost:8080/auth/callback", true, "http://localhost:8080/auth/login", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}, Options: &sessions.Options{Secure: tc.forced}})
			auth, err := newAuthAt(t, env, tc.redirect, store, nil)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("GET", tc.reqURL, nil)
			if tc.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			// The flow cookie of a sign-in.
			rec := httptest.NewRecorder()
			auth.ServeHTTP(rec, req)
			if rec.Code != http.StatusFound {
				t.Fatalf("login: %d", rec.Code)
			}
			cookies := rec.Result().Cookies()
			if len(cookies) != 1 {
				t.Fatalf("%d cookies, want the flow cookie", len(cookies))
			}
			checkSecure(t, "flow", cookies[0], tc.secure)
			if h := rec.Header(); h.Get("Cache-Control") != "no-store" || h.Get("Vary") != "Cookie" {
				t.Errorf("login: Cache-Control %q, Vary %q; want no-store, Cookie", h.Get("Cache-Control"), h.Get("Vary"))
			}
			// The session cookie, from the store the Auth was given.
			rec = httptest.NewRecorder()
			if err := store.Save(rec, req, &session.Session{ID: "x", User: confidant.User{Subject: "s"}}); err != nil {
				t.Fatal(err)
			}
			checkSecure(t, "session", rec.Result().Cookies()[0], tc.secure)
		})
	}
}

func checkSecure(t *testing.T, what string, c *http.Cookie, secure bool) {
	t.Helper()
	if c.Secure != secure || strings.HasPrefix(c.Name, "__Host-") != secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("%s cookie %s: Secure=%v HttpOnly=%v SameSite=%v; want Secure=%v with __Host- accordingly", what, c.Name, c.Secure, c.HttpOnly, c.SameSite, secure)
	}
}

// TestSignInResponsesNotCached: the callback that sets the session cookie
// and a response that clears one are no-store and Vary: Cookie.
func TestSignInResponsesNotCached(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	hc := testenv.Browser()
	resp := env.SignIn(t, hc, "/profile")
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Vary") != "Cookie" || len(resp.Cookies()) == 0 {
		t.Errorf("callback: Cache-Control %q, Vary %q, %d cookies", resp.Header.Get("Cache-Control"), resp.Header.Get("Vary"), len(resp.Cookies()))
	}
	resp = signOut(t, env, hc, nil)
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Vary") != "Cookie" {
		t.Errorf("logout: Cache-Control %q, Vary %q", resp.Header.Get("Cache-Control"), resp.Header.Get("Vary"))
	}
}

// TestNewRefusesUnsafeConfig: New names the field and the reason for a
// configuration that would fail at run time or weaken security.
func TestNewRefusesUnsafeConfig(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	cookie := func(o *sessions.Options) session.Store {
		st, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}, Options: o})
		return st
	}
	const cb = "http://localhost:8080/auth/callback"
	cases := []struct {
		name     string
		redirect string
		store    session.Store
		cfg      func(*middleware.Config)
	}{
		{"RedirectURL on the login route", "http://localhost:8080/auth/login", cookie(nil), nil},
		{"RedirectURL on the logout route", "http://localhost:8080/auth/logout", cookie(nil), nil},
		{"negative FlowTTL", cb, cookie(nil), func(c *middleware.Config) { c.FlowTTL = -time.Second }},
		{"negative MaxFlows", cb, cookie(nil), func(c *middleware.Config) { c.MaxFlows = -1 }},
		{"MaxFlows over 100", cb, cookie(nil), func(c *middleware.Config) { c.MaxFlows = 101 }},
		{"negative RefreshLeeway", cb, cookie(nil), func(c *middleware.Config) { c.RefreshLeeway = -time.Second }},
		{"negative APITimeout", cb, cookie(nil), func(c *middleware.Config) { c.APITimeout = -time.Second }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := newAuthAt(t, env, tc.redirect, tc.store, tc.cfg); !errors.Is(err, fail.MiddlewareConfig) {
				t.Errorf("New: %v, want fail.MiddlewareConfig", err)
			}
		})
	}
	// One store, two apps of different cookie security: refused.
	st := cookie(nil)
	if _, err := newAuthAt(t, env, cb, st, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := newAuthAt(t, env, "https://app.example.com/auth/callback", st, nil); !errors.Is(err, fail.SessionConfig) {
		t.Errorf("second app on the same store: %v", err)
	}
}

// TestStrictCookiesHop: with SameSite=Strict session cookies (a loop of
// sign-ins in Chromium before; TestBrowserSameSiteStrict drives it there),
// the callback and a cross-site arrival at a protected page answer with a
// same-site page that moves on, instead of a redirect that would arrive
// without the cookie.
func TestStrictCookiesHop(t *testing.T) {
	env := testenv.New(t, testenv.Options{Cookie: func(c *session.CookieConfig) {
		c.Options = &sessions.Options{SameSite: http.SameSiteStrictMode}
	}})
	hc := testenv.Browser()
	cb := env.ProviderLogin(t, hc, env.StartLogin(t, hc, "/profile?tab=1&x=<b>"))
	resp, err := hc.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || resp.Header.Get("Referrer-Policy") != "no-referrer" ||
		!strings.Contains(body, `content="0;url=/profile?tab=1&amp;x=&lt;b&gt;"`) {
		t.Fatalf("callback: %d Location %q Referrer-Policy %q body %s", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Referrer-Policy"), body)
	}
	var strict bool
	for _, c := range resp.Cookies() {
		strict = strict || (c.MaxAge >= 0 && c.Value != "" && c.SameSite == http.SameSiteStrictMode && !strings.Contains(c.Name, "flow"))
	}
	if !strict || env.Session(t, hc) == nil {
		t.Fatalf("callback set no Strict session cookie: %v", resp.Header.Values("Set-Cookie"))
	}

	// A link from another site: the browser withholds the Strict cookie.
	nav := func(path, site string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		req.Header.Set("Sec-Fetch-Site", site)
		rec := httptest.NewRecorder()
		env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) })).ServeHTTP(rec, req)
		return rec
	}
	rec := nav("/orders?id=7", "cross-site")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `url=/orders?id=7"`) || len(rec.Result().Cookies()) != 0 {
		t.Errorf("cross-site navigation: %d %v %s", rec.Code, rec.Result().Cookies(), rec.Body)
	}
	// The hop's own request is same-origin: a sign-in when still no cookie.
	if rec := nav("/orders?id=7", "same-origin"); rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), env.OP.Issuer) {
		t.Errorf("same-origin navigation without a session: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	// Never a hop to another site.
	if rec := nav("//evil.example/x", "cross-site"); rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), env.OP.Issuer) {
		t.Errorf("cross-site navigation to //evil.example/x: %d to %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
}

// TestMountedBehindStripPrefix: mux.Handle("/auth/", http.StripPrefix("/auth",
// auth)) answered a bare 404 at the callback; the routes work there too,
// and Require and Optional wrap handler functions (http.HandlerFunc).
func TestMountedBehindStripPrefix(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	env.OP.AddRedirect(testenv.ClientID, srv.URL+"/auth/callback")
	store, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
	auth, err := newAuthAt(t, env, srv.URL+"/auth/callback", store, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/auth/", http.StripPrefix("/auth", auth))
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+middleware.UserFrom(r.Context()).Subject)
	})))
	mux.Handle("/who", auth.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := middleware.UserFrom(r.Context()); u != nil {
			io.WriteString(w, u.Subject)
			return
		}
		io.WriteString(w, "anonymous")
	})))
	who := func(hc *http.Client) string {
		resp, err := hc.Get(srv.URL + "/who")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	hc := testenv.Browser()
	if got := who(hc); got != "anonymous" {
		t.Errorf("/who before sign-in: %q", got)
	}
	resp, err := hc.Get(srv.URL + "/account")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	authURL, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(authURL.String(), env.OP.Issuer) {
		t.Fatalf("/account: %d to %q", resp.StatusCode, authURL)
	}
	cb := env.ProviderLogin(t, hc, authURL)
	if resp, err = hc.Get(cb.String()); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/account" {
		t.Fatalf("callback behind StripPrefix: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = hc.Get(srv.URL + "/account")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello "+devprovider.DemoUser.ID {
		t.Errorf("/account after sign-in: %d %q", resp.StatusCode, body)
	}
	if got := who(hc); got != devprovider.DemoUser.ID {
		t.Errorf("/who after sign-in: %q", got)
	}
	// The login and logout routes too.
	if resp, err = hc.Get(srv.URL + "/auth/login"); err != nil || resp.StatusCode != http.StatusFound {
		t.Errorf("/auth/login behind StripPrefix: %v %v", resp.StatusCode, err)
	}
}
