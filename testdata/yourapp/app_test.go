package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/session"
)

var (
	alice = confidanttest.User{Subject: "alice", Name: "Alice", Email: "alice@example.com",
		Claims: map[string]any{"groups": []string{"admins"}}}
	bob     = confidanttest.User{Subject: "bob", Name: "Bob", Email: "bob@example.com"}
	mallory = confidanttest.User{Subject: "mallory", Name: "Mallory"}
)

// op is one provider for the package's tests.
var op *confidanttest.Provider

func TestMain(m *testing.M) {
	var err error
	op, err = confidanttest.Start(confidanttest.Options{Users: []confidanttest.User{alice, bob, mallory}})
	if err != nil {
		panic(err)
	}
	code := m.Run()
	op.Close()
	os.Exit(code)
}

// start starts the app with its own registration at op.
func start(t *testing.T, accounts *Accounts) (*httptest.Server, *App) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	id, secret := op.Register(base + "/auth/callback")
	app, err := New(context.Background(), Config{Issuer: op.Issuer, ClientID: id, ClientSecret: secret,
		BaseURL: base, SessionKeys: [][]byte{session.NewKey()}}, accounts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = app.Handler
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, app
}

func get(t *testing.T, browser *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := browser.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestSignInAndRoles(t *testing.T) {
	accounts := &Accounts{}
	srv, app := start(t, accounts)

	browser := confidanttest.Browser()
	if code, _ := get(t, browser, srv.URL+"/account"); code != http.StatusFound {
		t.Fatalf("before sign-in: %d, want a redirect to the provider", code)
	}
	resp, err := op.SignIn(browser, srv.URL+"/account", alice)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/account" {
		t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, body := get(t, browser, srv.URL+"/account"); code != http.StatusOK || body != "account of Alice" {
		t.Errorf("account: %d %q", code, body)
	}
	if code, body := get(t, browser, srv.URL+"/admin"); code != http.StatusOK || body != "admin: Alice" {
		t.Errorf("admin as an admin: %d %q", code, body)
	}
	if n := accounts.SignIns(app.Client.Provider().Name(), "alice"); n != 1 {
		t.Errorf("alice provisioned %d times", n)
	}

	bobs := confidanttest.Browser()
	if _, err := op.SignIn(bobs, srv.URL+"/account", bob); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, bobs, srv.URL+"/admin"); code != http.StatusForbidden {
		t.Errorf("admin as bob: %d, want 403", code)
	}
}

func TestBlockedUser(t *testing.T) {
	srv, _ := start(t, &Accounts{Blocked: map[string]bool{"mallory": true}})
	browser := confidanttest.Browser()
	resp, err := op.SignIn(browser, srv.URL+"/account", mallory)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a blocked user's sign-in: %d, want 403", resp.StatusCode)
	}
	if code, _ := get(t, browser, srv.URL+"/account"); code != http.StatusFound {
		t.Errorf("after the refusal: %d, want no session (a redirect to sign in)", code)
	}
}

// One handler, fast: a session minted in the app's store.
func TestAdminHandler(t *testing.T) {
	_, app := start(t, &Accounts{})
	for _, tc := range []struct {
		user confidant.User
		want int
	}{
		{confidant.User{Subject: "carol", Name: "Carol", Claims: json.RawMessage(`{"groups":["admins"]}`)}, http.StatusOK},
		{confidant.User{Subject: "dave", Name: "Dave"}, http.StatusForbidden},
	} {
		req, err := confidanttest.SignedIn(app.Auth, "http://localhost/admin", tc.user)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		app.Handler.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.user.Subject, rec.Code, tc.want)
		}
	}
}
