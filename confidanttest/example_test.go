package confidanttest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// newApp is an app as a user writes it: provider, client, store,
// middleware, routes; with the clock now (nil: the wall clock).
func newApp(t testing.TB, issuer string, register func(callback string) (string, string), now func() time.Time) (*httptest.Server, *middleware.Auth, *client.Client, *session.CookieStore) {
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	id, secret := register(appURL + "/auth/callback")
	prov, err := client.Discover(context.Background(), issuer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: id, ClientSecret: secret, RedirectURL: appURL + "/auth/callback",
		Scopes: []string{"openid", "profile", "email", "offline_access"}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{session.NewKey()}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{Client: c, Store: store, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/account", auth.RequireFunc(account))
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, auth, c, store
}

func account(w http.ResponseWriter, r *http.Request) {
	u := middleware.UserFrom(r.Context())
	fmt.Fprintf(w, "hello %s (%s)", u.Name, u.Subject)
}

// A test that signs a user in through the whole flow, with a real provider
// in process.
func TestSignInThroughTheProvider(t *testing.T) {
	ada := confidanttest.User{Subject: "ada", Name: "Ada Lovelace", Email: "ada@example.com"}
	op := confidanttest.NewProvider(t, confidanttest.Options{Users: []confidanttest.User{ada}})
	app, _, _, _ := newApp(t, op.Issuer, op.Register, nil)

	browser := confidanttest.Browser()
	if resp := op.SignIn(t, browser, app.URL+"/account", ada); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/account" {
		t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err := browser.Get(app.URL + "/account")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "hello Ada Lovelace (ada)" || op.TokenRequests() != 1 {
		t.Errorf("%q after %d token requests", body, op.TokenRequests())
	}
}

// A fast test of one handler: a session minted in the store, no provider.
func TestOneHandler(t *testing.T) {
	op := confidanttest.NewProvider(t, confidanttest.Options{})
	_, auth, c, store := newApp(t, op.Issuer, op.Register, nil)

	req := confidanttest.SignedIn(t, c, store, "http://localhost/account", confidant.User{Subject: "grace", Name: "Grace Hopper"})
	rec := httptest.NewRecorder()
	auth.RequireFunc(account).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.String() != "hello Grace Hopper (grace)" {
		t.Errorf("%d %q", rec.Code, rec.Body)
	}
}

// A test of what the app does when the provider fails, and when the user
// signs out at the provider.
func TestProviderFaultsAndLogOut(t *testing.T) {
	ada := confidanttest.User{Subject: "ada", Name: "Ada Lovelace", Email: "ada@example.com"}
	op := confidanttest.NewProvider(t, confidanttest.Options{Users: []confidanttest.User{ada}})
	var clientID string
	app, _, _, _ := newApp(t, op.Issuer, func(cb string) (string, string) {
		id, secret := op.Register(cb)
		clientID = id
		return id, secret
	}, nil)

	op.Fail(confidanttest.Token, http.StatusServiceUnavailable)
	if resp := op.SignIn(t, confidanttest.Browser(), app.URL+"/account", ada); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("sign-in with the token endpoint down: %d, want 502", resp.StatusCode)
	}
	op.Recover()
	browser := confidanttest.Browser()
	if resp := op.SignIn(t, browser, app.URL+"/account", ada); resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-in after recovery: %d", resp.StatusCode)
	}
	if n := op.Requests(confidanttest.Token); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}

	if status := op.LogOut(t, app.URL+"/auth/backchannel-logout", clientID, ada); status != http.StatusOK {
		t.Fatalf("back-channel logout: %d", status)
	}
	resp, err := browser.Get(app.URL + "/account")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("after the provider's logout: %d, want a redirect to sign in again", resp.StatusCode)
	}
}
