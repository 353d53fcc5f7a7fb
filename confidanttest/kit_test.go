package confidanttest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// app is an app under test, built from its parts (provider, client,
// store, middleware, routes), for the tests that need its client or store.
type app struct {
	URL      string
	ClientID string
	Auth     *middleware.Auth
	Client   *client.Client
	Store    *session.CookieStore
	Close    func()
}

// startApp starts an app signing in at op, on the clock now (nil: the
// wall clock).
func startApp(op *confidanttest.Provider, now func() time.Time) (*app, error) {
	srv := httptest.NewUnstartedServer(nil)
	a := &app{URL: "http://" + srv.Listener.Addr().String(), Close: srv.Close}
	id, secret := op.Register(a.URL + "/auth/callback")
	prov, err := client.Discover(context.Background(), op.Issuer)
	if err != nil {
		return nil, err
	}
	a.ClientID = id
	a.Client, err = client.New(client.Config{Provider: prov, ClientID: id, ClientSecret: secret,
		RedirectURL: a.URL + "/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}, Now: now})
	if err != nil {
		return nil, err
	}
	a.Store, err = session.NewCookieStore(session.CookieConfig{Keys: [][]byte{session.NewKey()}, Now: now})
	if err != nil {
		return nil, err
	}
	a.Auth, err = middleware.New(middleware.Config{Clients: []*client.Client{a.Client}, Store: a.Store, Now: now})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", a.Auth)
	mux.Handle("/account", a.Auth.Require(http.HandlerFunc(account)))
	srv.Config.Handler = mux
	srv.Start()
	return a, nil
}

// account is the handler under test.
func account(w http.ResponseWriter, r *http.Request) {
	u := middleware.UserFrom(r.Context())
	fmt.Fprintf(w, "hello %s (%s)", u.Name, u.Subject)
}

// page loads url in browser and returns its status and body.
func page(browser *http.Client, url string) (int, string) {
	resp, err := browser.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var ada = confidanttest.User{Subject: "ada", Name: "Ada Lovelace", Email: "ada@example.com"}

// newApp starts an app for t.
func newApp(t *testing.T, op *confidanttest.Provider, now func() time.Time) *app {
	t.Helper()
	a, err := startApp(op, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// signIn signs user in with a new browser.
func signIn(t *testing.T, op *confidanttest.Provider, a *app, user confidanttest.User) *http.Client {
	t.Helper()
	browser := confidanttest.Browser()
	resp, err := op.SignIn(browser, a.URL+"/account", user)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/account" {
		t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return browser
}

// refreshToken is the refresh token of browser's session at a.
func refreshToken(t *testing.T, store session.Store, browser *http.Client, a *app) string {
	t.Helper()
	req, _ := http.NewRequest("GET", a.URL+"/account", nil)
	for _, c := range browser.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	s, err := store.Load(req)
	if err != nil {
		t.Fatal(err)
	}
	return s.RefreshToken
}

// A test moves the app and the provider past the access token's expiry
// with the clock, without waiting; the app refreshes, including after the
// provider rotated its signing keys.
func TestClockAndKeyRotation(t *testing.T) {
	clock := confidanttest.NewClock()
	op := confidanttest.NewProvider(t, confidanttest.Options{Users: []confidanttest.User{ada}, Clock: clock})
	a := newApp(t, op, clock.Now)
	browser := signIn(t, op, a, ada)
	first := refreshToken(t, a.Store, browser, a)

	if code, body := page(browser, a.URL+"/account"); code != http.StatusOK || op.Requests(confidanttest.Token) != 1 {
		t.Fatalf("before the expiry: %d %q after %d token requests", code, body, op.Requests(confidanttest.Token))
	}
	clock.Add(6 * time.Minute) // past the default 5 minutes
	if code, body := page(browser, a.URL+"/account"); code != http.StatusOK || op.Requests(confidanttest.Token) != 2 {
		t.Fatalf("after the expiry: %d %q after %d token requests, want a refresh", code, body, op.Requests(confidanttest.Token))
	}
	if refreshToken(t, a.Store, browser, a) == first {
		t.Error("the refresh token was not rotated")
	}

	keys := op.Requests(confidanttest.Keys)
	if err := op.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	clock.Add(2 * time.Hour) // past the first ID token's expiry too
	if code, body := page(browser, a.URL+"/account"); code != http.StatusOK || op.Requests(confidanttest.Token) != 3 {
		t.Fatalf("after the key rotation: %d %q after %d token requests", code, body, op.Requests(confidanttest.Token))
	}
	if op.Requests(confidanttest.Keys) <= keys {
		t.Error("the app checked an ID token signed with the new key without fetching the JWKS")
	}
	if n := op.RefreshTokenReuses(); n != 0 {
		t.Errorf("%d refresh token reuses", n)
	}

	// Past the refresh token's lifetime, the session ends with a sign-in.
	clock.Add(25 * time.Hour)
	if code, _ := page(browser, a.URL+"/account"); code != http.StatusFound {
		t.Errorf("a day later: %d, want a redirect to sign in", code)
	}
}

// Without rotation, the app keeps using the one refresh token.
func TestNoRefreshTokenRotation(t *testing.T) {
	clock := confidanttest.NewClock()
	op := confidanttest.NewProvider(t, confidanttest.Options{Users: []confidanttest.User{ada}, Clock: clock,
		NoRefreshTokenRotation: true, AccessTokenLifetime: time.Minute})
	a := newApp(t, op, clock.Now)
	browser := signIn(t, op, a, ada)
	first := refreshToken(t, a.Store, browser, a)
	for i := range 3 {
		clock.Add(2 * time.Minute)
		if code, _ := page(browser, a.URL+"/account"); code != http.StatusOK {
			t.Fatalf("refresh %d: %d", i+1, code)
		}
	}
	if n := op.Requests(confidanttest.Token); n != 4 {
		t.Errorf("%d token requests, want 1 sign-in and 3 refreshes", n)
	}
	if got := refreshToken(t, a.Store, browser, a); got != first {
		t.Error("the refresh token changed without rotation")
	}
}

// A sign-in as a user the provider does not know fails at the provider,
// with an error, not a session.
func TestSignInUnknownUser(t *testing.T) {
	op := confidanttest.NewProvider(t, confidanttest.Options{Users: []confidanttest.User{ada}})
	a := newApp(t, op, nil)
	if _, err := op.SignIn(confidanttest.Browser(), a.URL+"/account", confidanttest.User{Subject: "mallory"}); err == nil {
		t.Error("an unknown user signed in")
	}
	if _, err := confidanttest.Start(confidanttest.Options{Users: []confidanttest.User{{Name: "no subject"}}}); err == nil {
		t.Error("a user without a Subject was accepted")
	}
}

// TestSignedIn: SignedIn takes the app's Auth, made by Setup as the
// README's quick start makes it (no client or store of the app's own to
// hand over), and mints a session its Require accepts; without an Auth it
// says so.
func TestSignedIn(t *testing.T) {
	op := confidanttest.NewProvider(t, confidanttest.Options{})
	id, secret := op.Register("http://localhost/auth/callback")
	auth, err := middleware.Setup(t.Context(), middleware.Config{Issuer: op.Issuer, ClientID: id, ClientSecret: secret,
		AppURL: "http://localhost", Keys: [][]byte{session.NewKey()}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := confidanttest.SignedIn(nil, "http://localhost/account", confidant.User{Subject: "grace"}); err == nil {
		t.Errorf("SignedIn without an Auth: no error")
	}
	req, err := confidanttest.SignedIn(auth, "http://localhost/account", confidant.User{Subject: "grace", Name: "Grace"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	auth.Require(http.HandlerFunc(account)).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "grace") {
		t.Errorf("SignedIn: %d %s", rec.Code, rec.Body)
	}
}

// TestSignInReturnsReadableErrorPage: a sign-in that fails returns the
// app's error page with its body readable.
func TestSignInReturnsReadableErrorPage(t *testing.T) {
	op := confidanttest.NewProvider(t, confidanttest.Options{})
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	id, _ := op.Register(appURL + "/auth/callback")
	prov, err := client.Discover(t.Context(), op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: id, ClientSecret: "not-the-secret", RedirectURL: appURL + "/auth/callback"})
	if err != nil {
		t.Fatal(err)
	}
	store, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{session.NewKey()}})
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/account", auth.Require(http.HandlerFunc(account)))
	srv.Config.Handler = mux
	srv.Start()
	defer srv.Close()
	resp, err := op.SignIn(confidanttest.Browser(), appURL+"/account", confidanttest.User{Subject: "test-user"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode < 400 || !strings.Contains(string(body), "refused to complete the sign-in") {
		t.Errorf("SignIn with a wrong secret: %d %q %v, want the app's error page", resp.StatusCode, body, err)
	}
}

// TestAddr: a provider started on Options.Addr has its issuer there (a
// demo's browser finds it at the same place after a restart), and a busy
// address is an error, not another port.
func TestAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	op := confidanttest.NewProvider(t, confidanttest.Options{Addr: addr})
	if op.Issuer != "http://"+addr {
		t.Errorf("issuer %s, want http://%s", op.Issuer, addr)
	}
	a := newApp(t, op, nil)
	signIn(t, op, a, confidanttest.User{Subject: "test-user"})
	if _, err := confidanttest.Start(confidanttest.Options{Addr: addr}); err == nil {
		t.Error("a second provider started on a busy address")
	}
}
