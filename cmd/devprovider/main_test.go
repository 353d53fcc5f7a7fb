package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/me", auth.RequireFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, middleware.UserFrom(r.Context()).Subject)
	}))
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
}
