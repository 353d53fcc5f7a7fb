package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
)

const (
	clientID     = "app"
	postClientID = "app-post"
	secret       = "s3cret-never-logged"
	redirect     = "http://127.0.0.1:1/auth/callback"
)

func startOP(t *testing.T) *devprovider.Provider {
	t.Helper()
	op, err := devprovider.Start(devprovider.Config{Clients: []devprovider.Client{
		{ID: clientID, Secret: secret, Redirects: []string{redirect}, PostLogoutRedirects: []string{"http://127.0.0.1:1/"}},
		// Registered for client_secret_post: the provider refuses Basic.
		{ID: postClientID, Secret: secret, Redirects: []string{redirect}, TokenAuth: "client_secret_post"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	return op
}

func TestNewValidates(t *testing.T) {
	prov, err := client.NewProvider("p", client.Endpoints{AuthURL: "https://p/a", TokenURL: "https://p/t"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		cfg  client.Config
		want string
	}{
		{client.Config{ClientSecret: "s", RedirectURL: "https://a/cb", Provider: prov}, "ClientID"},
		{client.Config{ClientID: "c", RedirectURL: "https://a/cb", Provider: prov}, "ClientSecret"},
		{client.Config{ClientID: "c", ClientSecret: "s", Provider: prov}, "RedirectURL"},
		{client.Config{ClientID: "c", ClientSecret: "s", RedirectURL: "https://a/cb"}, "Provider"},
		{client.Config{ClientID: "c", ClientSecret: "s", RedirectURL: "/cb", Provider: prov}, "RedirectURL"},
	}
	for _, tc := range cases {
		_, err := client.New(tc.cfg)
		if !errors.Is(err, fail.ClientConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want fail.ClientConfig naming %s", tc.cfg, err, tc.want)
		}
	}
	if _, err := client.NewProvider("p", client.Endpoints{AuthURL: "https://p/a"}); !errors.Is(err, fail.ClientConfig) {
		t.Errorf("provider without token URL: %v", err)
	}
	if _, err := client.NewProvider("p", client.Endpoints{AuthURL: "a", TokenURL: "t", Issuer: "https://p"}); !errors.Is(err, fail.ClientConfig) {
		t.Errorf("OIDC provider without JWKS: %v", err)
	}
}

// TestDiscoverRetriesOnFirstUse: a provider that is down when the app
// starts does not make Discover fail; the first use after it comes up works.
func TestDiscoverRetriesOnFirstUse(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	front := httptest.NewUnstartedServer(nil)
	issuer := "http://" + front.Listener.Addr().String()
	op2, err := devprovider.New(issuer, devprovider.Config{Clients: []devprovider.Client{{ID: clientID, Secret: secret, Redirects: []string{redirect}}}})
	if err != nil {
		t.Fatal(err)
	}
	front.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		op2.ServeHTTP(w, r)
	})
	front.Start()
	defer front.Close()

	prov, err := client.Discover(context.Background(), issuer, client.WithRetryInterval(1))
	if err != nil {
		t.Fatalf("Discover with the provider down: %v", err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: clientID, ClientSecret: secret, RedirectURL: redirect})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.NewLogin(context.Background(), nil); !errors.Is(err, client.ErrProviderUnavailable) {
		t.Fatalf("login while down: %v, want ErrProviderUnavailable", err)
	}
	down.Store(false)
	l, err := c.NewLogin(context.Background(), nil)
	if err != nil {
		t.Fatalf("login after recovery: %v", err)
	}
	if !strings.HasPrefix(l.URL, issuer+devprovider.PathAuthorize) {
		t.Errorf("auth URL %s", l.URL)
	}
}

func TestDiscoverRefusesWrongIssuer(t *testing.T) {
	op := startOP(t)
	// The same OP reached under another name: its document names its own issuer.
	u, _ := url.Parse(op.Issuer)
	_, port, _ := net.SplitHostPort(u.Host)
	_, err := client.Discover(context.Background(), "http://localhost:"+port)
	if !errors.Is(err, fail.Discovery) || !strings.Contains(err.Error(), "set the issuer to exactly \""+op.Issuer+"\"") {
		t.Fatalf("err %v, want fail.Discovery naming the issuer to set", err)
	}
	// A trailing slash that the document does not have: said so.
	_, err = client.Discover(context.Background(), op.Issuer+"/")
	if !errors.Is(err, fail.Discovery) || !strings.Contains(err.Error(), "trailing slash") {
		t.Fatalf("issuer with a trailing slash: %v, want fail.Discovery naming the slash", err)
	}
	// Unreachable is not a configuration error.
	if _, err := client.Discover(context.Background(), "http://127.0.0.1:1"); err != nil {
		t.Fatalf("unreachable provider: %v, want a lazily discovered provider", err)
	}
	if _, err := client.Discover(context.Background(), "not a url"); !errors.Is(err, fail.ClientConfig) {
		t.Fatalf("bad issuer: %v", err)
	}
}

// TestExchange covers both client authentication styles and the userinfo
// sub check, with a real authorization code from the OP.
func TestExchange(t *testing.T) {
	op := startOP(t)
	prov, err := client.Discover(context.Background(), op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	for style, id := range map[client.AuthStyle]string{client.AuthStyleBasic: clientID, client.AuthStylePost: postClientID} {
		c, err := client.New(client.Config{Provider: prov, ClientID: id, ClientSecret: secret,
			RedirectURL: redirect, AuthStyle: style, FetchUserInfo: true,
			Scopes: []string{"openid", "profile", "email", "offline_access"}})
		if err != nil {
			t.Fatal(err)
		}
		l, err := c.NewLogin(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		cb, err := op.Login(http.DefaultClient, l.URL, devprovider.DemoUser)
		if err != nil {
			t.Fatal(err)
		}
		if cb.Query().Get("state") != l.State {
			t.Fatalf("state not echoed")
		}
		res, err := c.Callback(context.Background(), cb.Query(), l)
		if err != nil {
			t.Fatalf("style %d: %v", style, err)
		}
		if res.User.Subject != devprovider.DemoUser.ID || res.User.Email != devprovider.DemoUser.Email ||
			res.Token.RefreshToken == "" || res.IDToken == "" || !res.User.EmailVerified {
			t.Errorf("style %d: result %+v", style, res.User)
		}
		// The code is single-use.
		if _, err := c.Callback(context.Background(), cb.Query(), l); !errors.Is(err, client.ErrTokenRequest) {
			t.Errorf("reused code: %v, want ErrTokenRequest", err)
		}
		// Revoke, then the OP no longer honours the refresh token.
		if err := c.Revoke(context.Background(), &oauth2.Token{RefreshToken: res.Token.RefreshToken}); err != nil {
			t.Fatal(err)
		}
		if op.RefreshTokenValid(res.Token.RefreshToken) {
			t.Error("refresh token valid after revocation")
		}
		u, err := c.LogoutURL(context.Background(), res.IDToken, "http://127.0.0.1:1/")
		if err != nil || !strings.HasPrefix(u, op.Issuer+devprovider.PathEndSession+"?") || !strings.Contains(u, "id_token_hint=") {
			t.Errorf("LogoutURL = %q, %v", u, err)
		}
	}
}

func TestExchangeWrongSecret(t *testing.T) {
	op := startOP(t)
	prov, _ := client.Discover(context.Background(), op.Issuer)
	c, _ := client.New(client.Config{Provider: prov, ClientID: clientID, ClientSecret: "wrong", RedirectURL: redirect})
	l, _ := c.NewLogin(context.Background(), nil)
	cb, err := op.Login(http.DefaultClient, l.URL, devprovider.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Callback(context.Background(), cb.Query(), l)
	var te *client.TokenError
	if !errors.Is(err, fail.TokenRequest) || !errors.As(err, &te) {
		t.Fatalf("err %v, want a TokenError", err)
	}
	if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), cb.Query().Get("code")) {
		t.Errorf("error leaks a secret or the code: %v", err)
	}
}

// TestUserInfoSubMismatch: a userinfo response about another user is refused.
func TestUserInfoSubMismatch(t *testing.T) {
	op := startOP(t)
	prov, _ := client.Discover(context.Background(), op.Issuer)
	ep, _ := prov.Endpoints(context.Background())
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"sub":"someone-else","email":"x@evil.example"}`))
	}))
	defer evil.Close()
	ep.UserInfoURL = evil.URL
	prov2, err := client.NewProvider("op", ep)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := client.New(client.Config{Provider: prov2, ClientID: clientID, ClientSecret: secret, RedirectURL: redirect, FetchUserInfo: true})
	l, _ := c.NewLogin(context.Background(), nil)
	cb, err := op.Login(http.DefaultClient, l.URL, devprovider.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Callback(context.Background(), cb.Query(), l); !errors.Is(err, fail.UserInfo) {
		t.Fatalf("err %v, want ErrUserInfo", err)
	}
}

func TestNoRevocationEndpoint(t *testing.T) {
	prov, _ := client.NewProvider("p", client.Endpoints{AuthURL: "https://p/a", TokenURL: "https://p/t"})
	c, _ := client.New(client.Config{Provider: prov, ClientID: "c", ClientSecret: "s", RedirectURL: "https://a/cb"})
	if err := c.Revoke(context.Background(), &oauth2.Token{AccessToken: "t"}); !errors.Is(err, fail.NotSupported) {
		t.Errorf("err %v, want fail.NotSupported", err)
	}
	if u, err := c.LogoutURL(context.Background(), "id", "https://a/"); u != "" || err != nil {
		t.Errorf("LogoutURL = %q, %v; want empty", u, err)
	}
}

// TestPlainHTTPRefused: a RedirectURL or issuer on plain http to a host
// that is not loopback is refused at construction, unless opted out loudly.
func TestPlainHTTPRefused(t *testing.T) {
	p, err := client.NewProvider("p", client.Endpoints{AuthURL: "https://idp.example.com/a", TokenURL: "https://idp.example.com/t"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url   string
		allow bool
		ok    bool
	}{
		{"http://app.example.com/auth/callback", false, false},
		{"http://app.example.com/auth/callback", true, true},
		{"https://app.example.com/auth/callback", false, true},
		{"http://localhost:8080/auth/callback", false, true},
		{"http://127.0.0.1:8080/auth/callback", false, true},
	} {
		_, err := client.New(client.Config{Provider: p, ClientID: "c", ClientSecret: "s", RedirectURL: tc.url, AllowInsecureHTTP: tc.allow})
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, fail.ClientConfig)) {
			t.Errorf("%s (allow %v): %v", tc.url, tc.allow, err)
		}
	}
	insecure, err := client.Discover(context.Background(), "http://idp.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	for _, allow := range []bool{false, true} {
		_, err := client.New(client.Config{Provider: insecure, ClientID: "c", ClientSecret: "s", RedirectURL: "https://app.example.com/cb", AllowInsecureHTTP: allow})
		if (err == nil) != allow || (err != nil && !errors.Is(err, fail.ClientConfig)) {
			t.Errorf("an issuer on plain http (allow %v): %v", allow, err)
		}
	}
}

// TestCallbackOrder: Callback checks the state (in constant time, one
// value, the Login's) before any token request, then the response's iss,
// then the provider's error (a *TokenError), and only then redeems the
// code. A refused
// callback leaves the code unredeemed: it still works with the right
// parameters afterwards.
func TestCallbackOrder(t *testing.T) {
	op := startOP(t)
	prov, err := client.Discover(context.Background(), op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: clientID, ClientSecret: secret, RedirectURL: redirect})
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.NewLogin(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := op.Login(http.DefaultClient, l.URL, devprovider.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	good := cb.Query()
	with := func(k string, v ...string) url.Values {
		q := url.Values{}
		for key, vals := range good {
			q[key] = vals
		}
		if v == nil {
			delete(q, k)
		} else {
			q[k] = v
		}
		return q
	}
	withError := func(q url.Values) url.Values {
		q.Set("error", "access_denied")
		q.Set("error_description", "the user said no")
		return q
	}
	other := *l
	other.State = strings.Repeat("x", len(l.State))
	before := op.Count(devprovider.PathToken)
	for _, tc := range []struct {
		name   string
		params url.Values
		login  *client.Login
		want   error
	}{
		{"another state", with("state", other.State), l, fail.CallbackRefused},
		{"no state", with("state"), l, fail.CallbackRefused},
		{"two states", with("state", l.State, l.State), l, fail.CallbackRefused},
		{"another login", good, &other, fail.CallbackRefused},
		{"no login", good, nil, fail.CallbackRefused},
		{"an error with another state", withError(with("state", other.State)), l, fail.CallbackRefused},
		{"another issuer", with("iss", "https://evil.example"), l, fail.ResponseIssuer},
		{"an error from another issuer", withError(with("iss", "https://evil.example")), l, fail.ResponseIssuer},
		{"no code", with("code"), l, fail.CallbackRefused},
	} {
		if _, err := c.Callback(context.Background(), tc.params, tc.login); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	_, err = c.Callback(context.Background(), withError(with("code")), l)
	var perr *client.TokenError
	if !errors.As(err, &perr) || perr.Code != "access_denied" || perr.Description != "the user said no" || perr.StatusCode != 0 ||
		errors.Is(err, client.ErrTokenRequest) {
		t.Errorf("the provider's error: %v, want a *TokenError with its code and description, no token request", err)
	}
	if n := op.Count(devprovider.PathToken) - before; n != 0 {
		t.Fatalf("%d token requests for refused callbacks, want none", n)
	}
	res, err := c.Callback(context.Background(), good, l)
	if err != nil || res.User.Subject != devprovider.DemoUser.ID {
		t.Fatalf("the good callback after the refused ones: %v", err)
	}
}
