package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/confidanttest"
)

// Discover finds a provider's endpoints and keys from its issuer URL (here
// a provider in the process, as confidanttest starts one; in production
// "https://example.eu.auth0.com/", or providers.Auth0, providers.Google,
// providers.GitHub). If the provider cannot be reached at start, Discover
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
	fmt.Println("issuer found:", ep.Issuer == op.Issuer, "userinfo:", ep.UserInfoURL != "")
	_ = c // hand c to middleware.Config.Clients, or sign users in with NewLogin and Callback
	// Output:
	// issuer found: true userinfo: true
}

// Example signs a user in with package client alone, as an app that runs
// the protocol itself does (package middleware does all of this for most
// apps): a Provider found by discovery, the app's Client, NewLogin at the
// login route and Callback at the callback. Callback checks the state,
// iss and the provider's error before it redeems the code, then verifies
// the ID token. The app keeps each pending Login between the two requests
// (here in memory; a short-lived encrypted cookie per attempt works across
// instances). The provider is one in the process (package confidanttest),
// so the example runs offline.
func Example() {
	op, err := confidanttest.Start(confidanttest.Options{Users: []confidanttest.User{{Subject: "ada", Name: "Ada Lovelace"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	id, secret := op.Register(app.URL + "/auth/callback")

	prov, err := client.Discover(context.Background(), op.Issuer) // "https://example.eu.auth0.com/"
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: id, ClientSecret: secret,
		RedirectURL: app.URL + "/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}})
	if err != nil {
		log.Fatal(err)
	}

	var pending sync.Map // state → *client.Login
	mux.HandleFunc("/auth/login", func(w http.ResponseWriter, r *http.Request) {
		l, err := c.NewLogin(r.Context(), nil)
		if err != nil {
			http.Error(w, "provider unavailable", http.StatusServiceUnavailable)
			return
		}
		pending.Store(l.State, l)
		http.Redirect(w, r, l.URL, http.StatusFound)
	})
	mux.HandleFunc("/auth/callback", func(w http.ResponseWriter, r *http.Request) {
		v, _ := pending.LoadAndDelete(r.URL.Query().Get("state")) // once only
		l, _ := v.(*client.Login)                                 // nil for an unknown state: Callback refuses it
		res, err := c.Callback(r.Context(), r.URL.Query(), l)
		var perr *client.TokenError
		switch {
		case errors.As(err, &perr) && perr.StatusCode == 0: // ?error=access_denied, login_required, …
			fmt.Println("the provider said", perr.Code)
		case err != nil:
			fmt.Println("refused:", errors.Is(err, client.ErrInvalidResponse))
		default:
			fmt.Println("signed in:", res.User.Subject, res.User.Name, res.Token.RefreshToken != "")
		}
		http.Redirect(w, r, "/", http.StatusFound)
	})

	if _, err := op.SignIn(confidanttest.Browser(), app.URL+"/auth/login", confidanttest.User{Subject: "ada"}); err != nil {
		log.Fatal(err)
	}
	resp, err := http.Get(app.URL + "/auth/callback?code=stolen&state=forged")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("token requests:", op.Requests(confidanttest.Token)) // the forged callback made none
	// Output:
	// signed in: ada Ada Lovelace true
	// refused: true
	// token requests: 1
}

// NewLogin builds the authorization URL of one sign-in attempt, with a fresh
// state, nonce and PKCE S256 challenge. (The middleware's /auth/login does
// this and keeps the attempt in a cookie.)
func ExampleClient_NewLogin() {
	prov, _ := client.NewProvider("example", client.Endpoints{
		Issuer:  "https://id.example.com/",
		AuthURL: "https://id.example.com/authorize", TokenURL: "https://id.example.com/oauth/token",
		JWKSURL: "https://id.example.com/.well-known/jwks.json",
	})
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
	prov, _ := client.NewProvider("example", client.Endpoints{AuthURL: "https://p.example/authorize", TokenURL: "https://p.example/token"})
	_, err := client.New(client.Config{Provider: prov, ClientID: "my-app"})
	fmt.Println(err)
	// Output:
	// client: invalid configuration: missing ClientSecret, RedirectURL
}

// TokenSource keeps a token fresh outside a web request (a worker, a CLI):
// it refreshes before expiry; a new token carries the rotated refresh
// token, to persist. It composes with x/oauth2.
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
	prov, _ := client.NewProvider("example", client.Endpoints{AuthURL: tokenEndpoint.URL + "/authorize", TokenURL: tokenEndpoint.URL + "/token"})
	c, _ := client.New(client.Config{Provider: prov, ClientID: "worker", ClientSecret: "s3cret", RedirectURL: "http://localhost/cb"})

	saved := &oauth2.Token{AccessToken: "at-0", RefreshToken: "rt-0", Expiry: time.Now().Add(-time.Minute)} // expired: refreshed on first use
	src := c.TokenSource(context.Background(), &client.Result{Token: saved})
	// An *http.Client that sends it: oauth2.NewClient(ctx, src).
	for range 2 {
		tok, err := src.Token()
		if err != nil {
			panic(err)
		}
		if tok.RefreshToken != saved.RefreshToken {
			fmt.Println("persist", tok.RefreshToken)
			saved = tok
		}
		fmt.Println(tok.AccessToken)
	}
	// Output:
	// persist rt-1
	// at-1
	// at-1
}

// A FAPI 2.0 client that authenticates with its TLS certificate
// (tls_client_auth, RFC 8705) and whose tokens the provider binds to that
// certificate: no secret, no DPoP key and no AuthStyle (a certificate that
// is the only credential is how the client authenticates). The
// certificate's key may be any crypto.Signer (an HSM works the same). The
// middleware's API calls present the certificate too (Client.Transport).
// Here the provider is a stand-in on https that asks for client
// certificates, and the client refreshes a stored token, as a worker does.
func ExampleConfig_mutualTLS() {
	// The client's certificate; in production: tls.LoadX509KeyPair("client.pem", "client-key.pem").
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		log.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}

	// A stand-in for the provider: on https, asking for client certificates;
	// its token endpoint takes only a client that presented one, and says
	// who it was.
	mux := http.NewServeMux()
	op := httptest.NewUnstartedServer(mux)
	op.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"issuer": op.URL, "authorization_endpoint": op.URL + "/authorize",
			"token_endpoint": op.URL + "/token", "jwks_uri": op.URL + "/jwks",
			"pushed_authorization_request_endpoint": op.URL + "/par", "authorization_response_iss_parameter_supported": true,
			"token_endpoint_auth_methods_supported":      []string{"client_secret_basic", "tls_client_auth"},
			"tls_client_certificate_bound_access_tokens": true})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"keys":[]}`) })
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if len(r.TLS.PeerCertificates) == 0 || r.Form.Has("client_secret") || r.Header.Get("Authorization") != "" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		fmt.Printf("token request over TLS from %s: client_id %s, no secret\n", r.TLS.PeerCertificates[0].Subject, r.Form.Get("client_id"))
		io.WriteString(w, `{"access_token":"at-1","token_type":"Bearer","expires_in":3600}`)
	})
	op.StartTLS()
	defer op.Close()

	ctx := context.Background()
	prov, err := client.Discover(ctx, op.URL, client.WithHTTPClient(op.Client())) // trusts the stand-in's CA; none in production
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.New(client.Config{
		Provider:          prov,
		ClientID:          "app",
		RedirectURL:       "https://app.example/auth/callback",
		ClientCertificate: &cert,
		FAPI:              "2.0",
	})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := c.TokenSource(ctx, &client.Result{Token: &oauth2.Token{RefreshToken: "rt-0"}}).Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("access token:", tok.AccessToken) // c goes to middleware.Config.Clients
	// Output:
	// token request over TLS from CN=app: client_id app, no secret
	// access token: at-1
}
