package client_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/confidanttest"
)

// Discover finds a provider's endpoints and keys from its issuer URL (here
// a provider in the process, as confidanttest starts one; in production
// "https://example.eu.auth0.com/", or client.Auth0, client.Google,
// client.GitHub). If the provider cannot be reached at start, Discover
// still succeeds and discovery is retried on first use.
func ExampleDiscover() {
	op, err := confidanttest.Start(confidanttest.Options{})
	if err != nil {
		panic(err)
	}
	defer op.Close()
	redirect := "http://localhost:8080/auth/callback"
	id, secret := op.Register(redirect)

	ctx := context.Background()
	prov, err := client.Discover(ctx, op.Issuer)
	if err != nil {
		panic(err)
	}
	c, err := client.New(client.Config{
		Provider:     prov,
		ClientID:     id,
		ClientSecret: secret, // from the environment in production
		RedirectURL:  redirect,
		Scopes:       []string{"openid", "profile", "email", "offline_access"},
	})
	if err != nil {
		panic(err)
	}
	ep, err := prov.Endpoints(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("OpenID Connect:", prov.IsOIDC(), "issuer found:", ep.Issuer == op.Issuer)
	fmt.Println("scopes:", c.Scopes()) // hand c to middleware.Config.Client
	// Output:
	// OpenID Connect: true issuer found: true
	// scopes: [openid profile email offline_access]
}

// NewLogin builds the authorization URL of one sign-in attempt, with a fresh
// state, nonce and PKCE S256 challenge. (The middleware's /auth/login does
// this and keeps the attempt in a cookie.)
func ExampleClient_NewLogin() {
	prov, _ := client.NewProvider("example", client.Endpoints{
		Issuer:  "https://id.example.com/",
		AuthURL: "https://id.example.com/authorize", TokenURL: "https://id.example.com/oauth/token",
		JWKSURL: "https://id.example.com/.well-known/jwks.json",
	}, nil)
	c, _ := client.New(client.Config{Provider: prov, ClientID: "my-app", ClientSecret: "s3cret",
		RedirectURL: "https://app.example.com/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}})

	l, err := c.NewLogin(context.Background(), url.Values{"prompt": {"login"}})
	if err != nil {
		panic(err)
	}
	u, _ := url.Parse(l.URL)
	q := u.Query()
	fmt.Println(q.Get("response_type"), q.Get("scope"))
	fmt.Println(q.Get("code_challenge_method"), len(q.Get("state")), len(q.Get("nonce")), q.Get("prompt"))
	// Output:
	// code openid profile email offline_access
	// S256 43 43 login
}

func ExampleNew_missingFields() {
	prov, _ := client.NewProvider("example", client.Endpoints{AuthURL: "https://p.example/authorize", TokenURL: "https://p.example/token"}, nil)
	_, err := client.New(client.Config{Provider: prov, ClientID: "my-app"})
	fmt.Println(err)
	// Output:
	// client: invalid configuration: missing ClientSecret, RedirectURL
}

// TokenSource keeps a token fresh outside a web request (a worker, a CLI):
// it refreshes before expiry and hands every new token, rotated refresh
// token included, to OnRefresh to persist. It composes with x/oauth2.
func ExampleClient_TokenSource() {
	// A token endpoint that rotates refresh tokens, standing in for the
	// provider's.
	n := 0
	tokenEndpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		n++
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"at-%d","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-%d"}`, n, n)
	}))
	defer tokenEndpoint.Close()
	prov, _ := client.NewProvider("example", client.Endpoints{AuthURL: tokenEndpoint.URL + "/authorize", TokenURL: tokenEndpoint.URL + "/token"}, nil)
	c, _ := client.New(client.Config{Provider: prov, ClientID: "worker", ClientSecret: "s3cret", RedirectURL: "http://localhost/cb"})

	saved := &oauth2.Token{AccessToken: "at-0", RefreshToken: "rt-0", Expiry: time.Now().Add(-time.Minute)} // expired: refreshed on first use
	src := c.TokenSource(context.Background(), client.TokenSourceConfig{
		Token: saved,
		OnRefresh: func(t *oauth2.Token) error {
			fmt.Println("persist", t.RefreshToken)
			return nil
		},
	})
	for range 2 {
		tok, err := src.Token()
		if err != nil {
			panic(err)
		}
		fmt.Println(tok.AccessToken)
	}
	// An *http.Client that sends it: oauth2.NewClient(ctx, src).
	// Output:
	// persist rt-1
	// at-1
	// at-1
}

// A FAPI 2.0 client that authenticates with its TLS certificate
// (tls_client_auth, RFC 8705) and whose tokens the provider binds to that
// certificate: no secret and no DPoP key. The certificate's key may be any
// crypto.Signer (here from files; an HSM works the same). The middleware's
// API calls present the certificate too (Client.Transport).
func ExampleConfig_mutualTLS() {
	ctx := context.Background()
	cert, err := tls.LoadX509KeyPair("client.pem", "client-key.pem")
	if err != nil {
		fmt.Println("the certificate:", err)
		return
	}
	prov, err := client.Discover(ctx, "https://bank.example")
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := client.New(client.Config{
		Provider:          prov,
		ClientID:          "app",
		RedirectURL:       "https://app.example/auth/callback",
		ClientCertificate: &cert,
		AuthStyle:         client.AuthStyleTLSClientAuth,
		FAPI:              "2.0",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = c // middleware.Config{Clients: []*client.Client{c}, …}
}
