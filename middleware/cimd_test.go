package middleware_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/testkit/certop"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// TestClientIDMetadataDocument: an app whose client ID is the URL of a
// document it serves (the OAuth Client ID Metadata Document draft) signs
// users in at oidc-provider, which has never seen it: the provider fetches
// the document, takes its redirect URI and its public key, and the app
// authenticates with private_key_jwt. No registration by hand, no secret.
func TestClientIDMetadataDocument(t *testing.T) {
	var h atomic.Value
	var fetched atomic.Int32
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/client.json" && r.Header.Get("Cookie") == "" {
			fetched.Add(1)
		}
		h.Load().(http.Handler).ServeHTTP(w, r)
	}))
	app.StartTLS()
	t.Cleanup(app.Close)
	op := certop.Start(t, certop.Config{
		TrustPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: app.Certificate().Raw}),
		Features: map[string]any{"clientIdMetadataDocument": map[string]any{"enabled": true}},
	})
	prov, err := client.Discover(t.Context(), op.Issuer, client.WithHTTPClient(op.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	clientID := app.URL + "/oauth/client.json"
	c, err := client.New(client.Config{Provider: prov, ClientID: clientID, PrivateKey: &client.PrivateKey{Key: key, KeyID: "app-key-1"},
		RedirectURL: app.URL + "/auth/callback", Scopes: []string{"openid", "profile", "offline_access"}})
	if err != nil {
		t.Fatal(err)
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/oauth/client.json", auth) // the document's path, outside /auth/
	mux.Handle("/profile", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, middleware.UserFrom(r.Context()).Subject)
	})))
	h.Store(http.Handler(mux))

	// The document.
	resp, err := app.Client().Get(clientID)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	jwks, _ := json.Marshal(doc["jwks"])
	if resp.StatusCode != 200 || doc["client_id"] != clientID || doc["token_endpoint_auth_method"] != "private_key_jwt" ||
		!strings.Contains(fmt.Sprint(doc["redirect_uris"]), app.URL+"/auth/callback") || !strings.Contains(string(jwks), `"kid":"app-key-1"`) ||
		strings.Contains(string(jwks), `"d":`) || doc["client_secret"] != nil {
		t.Fatalf("the document: %d %v", resp.StatusCode, doc)
	}

	// A sign-in at a provider that has never seen the app.
	hc := testenv.BrowserVia(app.Client().Transport)
	resp = testenv.Do(t, hc, "GET", app.URL+"/profile", "text/html")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), op.Issuer) {
		t.Fatalf("/profile: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cb, err := op.Login(hc, resp.Header.Get("Location"), "erin")
	if err != nil {
		t.Fatal(err)
	}
	resp = testenv.Do(t, hc, "GET", cb.String(), "text/html")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/profile" {
		t.Fatalf("callback: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = testenv.Do(t, hc, "GET", app.URL+"/profile", "text/html")
	if body := testenv.Body(t, resp); resp.StatusCode != 200 || body != "erin" {
		t.Fatalf("/profile signed in: %d %q", resp.StatusCode, body)
	}
	if fetched.Load() < 2 { // ours, and the provider's
		t.Errorf("the document was fetched %d times, want the provider's fetch too", fetched.Load())
	}
}

// TestClientIDMetadataDocumentRefused: a client ID that is a URL on the
// app's origin with a shared secret (which the draft forbids; without a
// key or a secret, client.New refuses it already), or over
// plain http to a host that is not loopback, or without a path, is
// refused at New.
func TestClientIDMetadataDocumentRefused(t *testing.T) {
	prov, err := client.NewProvider("as", client.Endpoints{AuthURL: "https://as.example/authorize", TokenURL: "https://as.example/token"})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	store, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
	for _, c := range []struct {
		name, id, redirect string
		secret             string
		key                bool
	}{
		{"a shared secret", "https://app.example/oauth/client.json", "https://app.example/auth/callback", "s3cret-s3cret-s3cret", true},
		{"plain http not on loopback", "http://app.example/oauth/client.json", "http://app.example/auth/callback", "", true},
		{"no path", "https://app.example/", "https://app.example/auth/callback", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := client.Config{Provider: prov, ClientID: c.id, ClientSecret: c.secret, RedirectURL: c.redirect, AllowInsecureHTTP: true}
			if c.key {
				cfg.PrivateKey = &client.PrivateKey{Key: key}
			}
			cl, err := client.New(cfg)
			if err != nil {
				t.Fatalf("client.New: %v", err)
			}
			if _, err := middleware.New(middleware.Config{Clients: []*client.Client{cl}, Store: store}); !errors.Is(err, confidant.ErrConfig) {
				t.Errorf("New: %v, want ErrConfig", err)
			}
		})
	}
}

// TestClientIDMetadataDocumentAtAnAPIsServer: the app's client ID
// metadata document is its identity at the authorization server of an
// API that describes itself, too: a second oidc-provider, which never
// registered the app and supports such documents, fetches it when the
// user connects the API; the grant is the app's (private_key_jwt with the
// document's key), and the API gets a token for its resource.
func TestClientIDMetadataDocumentAtAnAPIsServer(t *testing.T) {
	var h atomic.Value
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Load().(http.Handler).ServeHTTP(w, r)
	}))
	app.StartTLS()
	t.Cleanup(app.Close)
	api := newHostileAPI(t)
	trust := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: app.Certificate().Raw})
	cimd := map[string]any{"clientIdMetadataDocument": map[string]any{"enabled": true}}
	op := certop.Start(t, certop.Config{TrustPEM: trust, Features: cimd})
	op2 := certop.Start(t, certop.Config{TrustPEM: trust, Features: cimd, ResourceServers: map[string]map[string]string{api.URL: {"scope": "read"}}})
	api.set(func(a *hostileAPI) {
		a.meta = func(string) any {
			return map[string]any{"resource": a.URL, "authorization_servers": []string{op2.Issuer}, "scopes_supported": []string{"read"}}
		}
	})
	prov, err := client.Discover(t.Context(), op.Issuer, client.WithHTTPClient(op.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c, err := client.New(client.Config{Provider: prov, ClientID: app.URL + "/oauth/client.json", PrivateKey: &client.PrivateKey{Key: key, KeyID: "app-key-1"},
		RedirectURL: app.URL + "/auth/callback", Scopes: []string{"openid", "profile"}})
	if err != nil {
		t.Fatal(err)
	}
	store, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store,
		APIs: []middleware.API{{Name: "partner", BaseURL: api.URL, AuthorizationServers: []string{op2.Issuer}}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/oauth/client.json", auth)
	mux.Handle("/partner", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := auth.HTTPClient(r).Get(api.URL)
		if auth.StepUp(w, r, err) {
			return
		}
		if err != nil {
			http.Error(w, err.Error(), middleware.StatusCode(err))
			return
		}
		resp.Body.Close()
		fmt.Fprint(w, resp.StatusCode)
	})))
	h.Store(http.Handler(mux))

	hc := testenv.BrowserVia(app.Client().Transport)
	resp := testenv.Do(t, hc, "GET", app.URL+"/partner", "text/html")
	resp.Body.Close()
	cb, err := op.Login(hc, resp.Header.Get("Location"), "zoe")
	if err != nil {
		t.Fatal(err)
	}
	resp = testenv.Do(t, hc, "GET", cb.String(), "text/html")
	resp.Body.Close()
	// Signed in; /partner is not connected: a navigation goes to connect.
	resp = testenv.Do(t, hc, "GET", app.URL+"/partner", "text/html")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/connect?") {
		t.Fatalf("/partner before connecting: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = testenv.Do(t, hc, "GET", app.URL+resp.Header.Get("Location"), "text/html")
	resp.Body.Close()
	authz, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(authz.String(), op2.Issuer) || authz.Query().Get("client_id") != app.URL+"/oauth/client.json" {
		t.Fatalf("connect: to %s, want the API's server with the document's URL as client_id", authz)
	}
	cb, err = op2.Login(hc, authz.String(), "zoe")
	if err != nil {
		t.Fatal(err)
	}
	resp = testenv.Do(t, hc, "GET", cb.String(), "text/html")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/partner" {
		t.Fatalf("connect callback: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = testenv.Do(t, hc, "GET", app.URL+"/partner", "application/json")
	if body := testenv.Body(t, resp); resp.StatusCode != 200 || body != "200" {
		t.Fatalf("/partner connected: %d %s", resp.StatusCode, body)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	last := api.calls[len(api.calls)-1]
	if audOf(last) != api.URL {
		t.Errorf("the API got a token for %q", audOf(last))
	}
}
