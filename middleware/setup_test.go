package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// TestSetup: Setup, configured as the README's quick start is, signs a
// user in on a ServeMux, with a refresh token (its default scopes), and
// signs out; each mistake stops it at start with an error that names it;
// the same Config grows into Clients and a Store of the app's own.
func TestSetup(t *testing.T) {
	// Tokens that live 2 seconds: past half their lifetime, a request
	// refreshes, if it can.
	op := confidanttest.NewProvider(t, confidanttest.Options{AccessTokenLifetime: 2 * time.Second})
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	id, secret := op.Register(appURL + "/auth/callback")
	keys, err := session.ParseKeys("kmU4ozbpwBq2t2TbJd5JqzrLPJhDlJ4ROc4X2UmbLxs=")
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.Setup(t.Context(), middleware.Config{Issuer: op.Issuer, ClientID: id, ClientSecret: secret,
		AppURL: appURL, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, middleware.UserFrom(r.Context()).Subject)
	})))
	srv.Config.Handler = mux
	srv.Start()
	defer srv.Close()
	browser := confidanttest.Browser()
	if resp, err := op.SignIn(browser, appURL+"/account", confidanttest.User{Subject: "test-user"}); err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-in: %v %v", resp, err)
	}
	time.Sleep(1100 * time.Millisecond)
	if resp, body := get(t, browser, appURL+"/account"); resp.StatusCode != http.StatusOK || body != "test-user" {
		t.Errorf("/account: %d %s", resp.StatusCode, body)
	}
	// The default scopes asked for a refresh token: the first request
	// refreshed.
	if n := op.Requests(confidanttest.Token); n != 2 {
		t.Errorf("%d token requests, want 2 (the code, then a refresh)", n)
	}
	resp, err := browser.Post(appURL+"/auth/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), op.Issuer) {
		t.Errorf("sign-out: %d to %q, want the provider's end_session", resp.StatusCode, resp.Header.Get("Location"))
	}

	prov, err := client.Discover(t.Context(), op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: id, ClientSecret: secret, RedirectURL: appURL + "/auth/callback"})
	if err != nil {
		t.Fatal(err)
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	named, err := client.Discover(t.Context(), op.Issuer, client.WithName("acme"))
	if err != nil {
		t.Fatal(err)
	}
	// An OAuth 2.0 authorization server with RFC 8414 metadata only, and
	// no jwks_uri there: Discover finds it, and it signs nobody in.
	plainAS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/oauth-authorization-server" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"%[1]s/authorize","token_endpoint":"%[1]s/token"}`, "http://"+r.Host)
	}))
	defer plainAS.Close()
	good := middleware.Config{Issuer: op.Issuer, ClientID: id, ClientSecret: secret, AppURL: appURL, Keys: keys}
	for _, tc := range []struct {
		name   string
		adjust func(*middleware.Config)
		is     error
		says   string
	}{
		{"nothing set", func(c *middleware.Config) { *c = middleware.Config{} }, fail.MiddlewareConfig,
			"AppURL, ClientID, ClientSecret, Issuer (or Provider), Keys"},
		{"Issuer and Provider", func(c *middleware.Config) { c.Provider = prov }, fail.MiddlewareConfig, "Issuer and Provider both set"},
		{"a Provider beside Clients", func(cfg *middleware.Config) {
			cfg.Issuer, cfg.Provider, cfg.Clients = "", prov, []*client.Client{c}
		}, fail.MiddlewareConfig, "Provider is set with Clients"},
		{"a provider named by the app", func(c *middleware.Config) { c.Issuer, c.Provider = "", named }, nil, ""},
		{"a short key", func(c *middleware.Config) { c.Keys = [][]byte{[]byte("short")} }, fail.MiddlewareConfig, "openssl rand -base64 32"},
		{"AppURL with a path", func(c *middleware.Config) { c.AppURL = appURL + "/auth/callback" }, fail.MiddlewareConfig, "scheme and host"},
		{"an issuer that is not there", func(c *middleware.Config) { c.Issuer = "http://127.0.0.1:1" }, client.ErrProviderUnavailable, "connection refused"},
		{"an issuer with a slash", func(c *middleware.Config) { c.Issuer = op.Issuer + "/" }, fail.Discovery, "trailing slash"},
		{"an OAuth 2.0 server without OpenID Connect", func(c *middleware.Config) { c.Issuer = plainAS.URL }, fail.MiddlewareConfig, "without OpenID Connect"},
		{"an issuer beside Clients", func(cfg *middleware.Config) { cfg.Clients = []*client.Client{c} }, fail.MiddlewareConfig, "Clients"},
		{"Clients and a Store of the app's own", func(cfg *middleware.Config) {
			*cfg = middleware.Config{Clients: []*client.Client{c}, Store: store, TrustedOrigins: []string{"http://localhost:5173"}}
		}, nil, ""},
	} {
		cfg := good
		tc.adjust(&cfg)
		_, err := middleware.Setup(context.Background(), cfg)
		if !errors.Is(err, tc.is) || (tc.is != nil && !strings.Contains(err.Error(), tc.says)) {
			t.Errorf("%s: %v, want %v saying %q", tc.name, err, tc.is, tc.says)
		}
	}
}

// TestSetupProvider: Setup with a Provider instead of an Issuer (a provider
// discovered with a name of the app's choosing, which survives a domain
// move) signs users in under that name, with a refresh token: the scopes
// are OpenID Connect's and offline_access, as with Issuer, since the
// provider has none of its own.
func TestSetupProvider(t *testing.T) {
	op := confidanttest.NewProvider(t, confidanttest.Options{})
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	id, secret := op.Register(appURL + "/auth/callback")
	keys, err := session.ParseKeys("kmU4ozbpwBq2t2TbJd5JqzrLPJhDlJ4ROc4X2UmbLxs=")
	if err != nil {
		t.Fatal(err)
	}
	prov, err := client.Discover(t.Context(), op.Issuer, client.WithName("acme"))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.Setup(t.Context(), middleware.Config{Provider: prov, ClientID: id, ClientSecret: secret, AppURL: appURL, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.SessionFrom(r.Context())
		fmt.Fprintf(w, "%s %s %v", s.Provider, s.Subject, slices.Contains(s.Scopes, "offline_access"))
	})))
	srv.Config.Handler = mux
	srv.Start()
	defer srv.Close()
	browser := confidanttest.Browser()
	if resp, err := op.SignIn(browser, appURL+"/account", confidanttest.User{Subject: "test-user"}); err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-in: %v %v", resp, err)
	}
	if resp, body := get(t, browser, appURL+"/account"); resp.StatusCode != http.StatusOK || body != "acme test-user true" {
		t.Errorf("/account: %d %q, want the provider named acme and offline_access granted", resp.StatusCode, body)
	}
}
