package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// TestDevProvider: an app configured with the printed issuer and
// credentials signs alice in.
func TestDevProvider(t *testing.T) {
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *devprovider.Provider, 1)
	var printed strings.Builder
	go run(ctx, "127.0.0.1:0", []string{appURL + "/auth/callback"}, time.Minute, &printed, ready)
	op := <-ready
	issuer := op.Issuer
	if out := printed.String(); !strings.Contains(out, issuer) || !strings.Contains(out, "dev-app") || !strings.Contains(out, "dev-secret") {
		t.Errorf("printed %q", out)
	}
	prov, err := client.Discover(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "dev-app", ClientSecret: "dev-secret", RedirectURL: appURL + "/auth/callback"})
	if err != nil {
		t.Fatal(err)
	}
	store, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{session.NewKey()}})
	// The sample API, as the package doc says to point at it.
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store,
		APIs: []middleware.API{{Name: "sample", BaseURL: issuer + "/api/"}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/me", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, middleware.UserFrom(r.Context()).Subject)
	})))
	mux.Handle("/api/", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := auth.HTTPClient(r).Get(issuer + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})))
	app.Config.Handler = mux
	app.Start()
	defer app.Close()

	browser := confidanttest.Browser()
	req, _ := http.NewRequest("GET", appURL+"/me", nil)
	req.Header.Set("Accept", "text/html") // a browser's page load
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The provider's login form, filled with the printed user.
	cb, err := op.Login(browser, resp.Header.Get("Location"), devprovider.User{Username: "alice", Password: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err = browser.Get(cb.String()); err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %v %v", resp.StatusCode, err)
	}
	resp, _ = browser.Get(appURL + "/me")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "alice" {
		t.Errorf("/me: %q", b)
	}
	if !strings.Contains(printed.String(), issuer+"/api/hello") {
		t.Errorf("the sample API is not printed: %q", printed.String())
	}
	resp, _ = browser.Get(appURL + "/api/hello")
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"sub":"alice"`) {
		t.Errorf("the sample API through the app: %d %s", resp.StatusCode, b)
	}
	// Its event stream (examples/bff's page reads it).
	resp, _ = browser.Get(appURL + "/api/orders/events")
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "data: order 1 for alice\n\ndata: order 2 for alice\n\ndata: order 3 for alice\n\n"; string(b) != want {
		t.Errorf("the sample API's events: %d %q, want %q", resp.StatusCode, b, want)
	}
	if resp, err := http.Get(issuer + "/api/hello"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the sample API without a token: %v %v, want 401", resp.StatusCode, err)
	}
}

// TestDevProviderNamesUnregisteredRedirect: an app whose callback is not
// registered gets a page that names it and the flag to restart with, not
// the provider's generic error.
func TestDevProviderNamesUnregisteredRedirect(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *devprovider.Provider, 1)
	go run(ctx, "127.0.0.1:0", []string{"http://localhost:8080/auth/callback"}, time.Minute, io.Discard, ready)
	op := <-ready
	prov, err := client.Discover(ctx, op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "dev-app", ClientSecret: "dev-secret", RedirectURL: "http://localhost:3000/auth/callback"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.NewLogin(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(l.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"http://localhost:3000/auth/callback", "http://localhost:8080/auth/callback", "-redirect http://localhost:3000/auth/callback"} {
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), want) {
			t.Errorf("authorize: %d, want 400 naming %q: %s", resp.StatusCode, want, b)
		}
	}
}

// TestDevProviderEveryInterface: -addr :PORT (every interface) gives an
// issuer a browser can open, on 127.0.0.1, where it was http://[::]:PORT.
func TestDevProviderEveryInterface(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *devprovider.Provider, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, ":0", []string{"http://localhost:8080/auth/callback"}, time.Minute, io.Discard, ready)
	}()
	var op *devprovider.Provider
	select {
	case op = <-ready:
	case err := <-errc:
		t.Fatal(err)
	}
	if !strings.HasPrefix(op.Issuer, "http://127.0.0.1:") {
		t.Fatalf("issuer %q, want http://127.0.0.1:PORT", op.Issuer)
	}
	if _, err := client.Discover(ctx, op.Issuer); err != nil {
		t.Errorf("discovery at the printed issuer: %v", err)
	}
}

// TestDevProviderSharedSignals: an app with SharedSignals, set up as the
// docs say (Setup with the printed issuer and credentials), gets its
// stream from devprovider's transmitter; the send endpoint the package
// doc names ends alice's session (202 from the app) and not bob's.
func TestDevProviderSharedSignals(t *testing.T) {
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *devprovider.Provider, 1)
	var printed strings.Builder
	go run(ctx, "127.0.0.1:0", []string{appURL + "/auth/callback"}, time.Minute, &printed, ready)
	op := <-ready
	auth, err := middleware.Setup(ctx, middleware.Config{Issuer: op.Issuer, ClientID: "dev-app", ClientSecret: "dev-secret", AppURL: appURL,
		Keys: [][]byte{session.NewKey()}, SharedSignals: &middleware.SharedSignals{}})
	if err != nil {
		t.Fatal(err)
	}
	defer auth.Close()
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/me", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, middleware.UserFrom(r.Context()).Subject)
	})))
	app.Config.Handler = mux
	app.Start()
	defer app.Close()
	signIn := func(user string) *http.Client {
		browser := confidanttest.Browser()
		req, _ := http.NewRequest("GET", appURL+"/me", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cb, err := op.Login(browser, resp.Header.Get("Location"), devprovider.User{Username: user, Password: user})
		if err != nil {
			t.Fatal(err)
		}
		if resp, err = browser.Get(cb.String()); err != nil || resp.StatusCode != http.StatusFound {
			t.Fatalf("callback: %v %v", resp.StatusCode, err)
		}
		return browser
	}
	me := func(hc *http.Client) string {
		req, _ := http.NewRequest("GET", appURL+"/me", nil)
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return resp.Status
		}
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	alice, bob := signIn("alice"), signIn("bob")
	if !strings.Contains(printed.String(), op.Issuer+"/ssf/send") {
		t.Errorf("the send endpoint is not printed: %q", printed.String())
	}
	resp, err := http.PostForm(op.Issuer+"/ssf/send", url.Values{"event": {"session-revoked"}, "sub": {"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"202"`) {
		t.Errorf("send: %d %s, want the app's 202", resp.StatusCode, b)
	}
	if got := me(alice); got != "401 Unauthorized" {
		t.Errorf("alice after session-revoked: %q", got)
	}
	if got := me(bob); got != "bob" {
		t.Errorf("bob: %q", got)
	}
	if resp, _ := http.PostForm(op.Issuer+"/ssf/send", url.Values{"event": {"nonsense"}, "sub": {"alice"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown event: %d", resp.StatusCode)
	}
}
