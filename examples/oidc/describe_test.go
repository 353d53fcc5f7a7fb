package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/confidant-go/confidant/internal/testkit/certop"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestEnvContractDescribedAPI: API_URL alone with API_AUTH_SERVERS, for an
// API that publishes RFC 9728 metadata at its well-known URL (its 401
// names none). /api's first call carries no token; the user connects it
// once (a navigation is sent there, a JSON client gets 401 with the
// login_url); then /api calls it with a token for its resource. An
// authorization server outside API_AUTH_SERVERS is refused with a JSON
// error naming it.
func TestEnvContractDescribedAPI(t *testing.T) {
	var mu sync.Mutex
	var seen []string // the aud of each call's token ("" for none)
	api := httptest.NewUnstartedServer(nil)
	apiURL := "http://" + api.Listener.Addr().String() + "/api"
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	op := certop.Start(t, certop.Config{
		Clients:         []certop.Client{{ID: "ex", Secret: "ex-secret", RedirectURIs: []string{appURL + "/auth/callback"}}},
		ResourceServers: map[string]map[string]string{apiURL: {"scope": "read"}},
	})
	api.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/oauth-protected-resource/api" {
			json.NewEncoder(w).Encode(map[string]any{"resource": apiURL, "authorization_servers": []string{op.Issuer}, "scopes_supported": []string{"read"}})
			return
		}
		raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var claims struct{ Aud, Sub string }
		if parts := strings.Split(raw, "."); len(parts) == 3 {
			b, _ := base64.RawURLEncoding.DecodeString(parts[1])
			json.Unmarshal(b, &claims)
		}
		mu.Lock()
		seen = append(seen, claims.Aud)
		mu.Unlock()
		if claims.Aud != apiURL {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, `{"sub":%q}`, claims.Sub)
	})
	api.Start()
	defer api.Close()
	env := map[string]string{"OIDC_ISSUER": op.Issuer, "OIDC_CLIENT_ID": "ex", "OIDC_CLIENT_SECRET": "ex-secret", "APP_URL": appURL,
		"API_URL": apiURL, "API_AUTH_SERVERS": op.Issuer, "SESSION_KEYS": base64.StdEncoding.EncodeToString(testenv.NewKey())}
	h, err := newApp(context.Background(), func(k string) string { return env[k] }, nil, testenv.CollectLogger())
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()
	hc := testenv.Browser()
	body := signInAndCallAPIWith(t, hc, appURL, func(hc *http.Client, u string) (*url.URL, error) { return op.Login(hc, u, "dave") }, nil)
	var nc map[string]string
	json.Unmarshal([]byte(body), &nc)
	if nc["error"] != "not_connected" || nc["login_url"] != "/auth/connect?api=api&return_to=%2Fapi" {
		t.Fatalf("/api as JSON before connecting: %s", body)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0] != "" {
		t.Fatalf("the API's calls before connecting carried tokens for %q, want one call without a token", seen)
	}
	mu.Unlock()
	resp := testenv.Do(t, hc, "GET", appURL+"/api", "text/html")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != nc["login_url"] {
		t.Fatalf("/api navigation before connecting: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = testenv.Do(t, hc, "GET", appURL+nc["login_url"], "text/html")
	resp.Body.Close()
	cb, err := op.Login(hc, resp.Header.Get("Location"), "dave")
	if err != nil {
		t.Fatal(err)
	}
	resp = testenv.Do(t, hc, "GET", cb.String(), "text/html")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/api" {
		t.Fatalf("connect callback: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = testenv.Do(t, hc, "GET", appURL+"/api", "application/json")
	if body := testenv.Body(t, resp); resp.StatusCode != 200 || !strings.Contains(body, `"status":200`) || !strings.Contains(body, `\"sub\":\"dave\"`) {
		t.Fatalf("/api connected: %d %s", resp.StatusCode, body)
	}
	mu.Lock()
	for i, aud := range seen[1:] {
		if aud != apiURL {
			t.Errorf("call %d to the API carried a token for %q", i+2, aud)
		}
	}
	mu.Unlock()

	// The same API, trusting another server: refused, named.
	env2 := map[string]string{}
	for k, v := range env {
		env2[k] = v
	}
	env2["API_AUTH_SERVERS"] = "https://as.example.com"
	h2, err := newApp(context.Background(), func(k string) string { return env2[k] }, nil, testenv.CollectLogger())
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h2
	resp = testenv.Do(t, hc, "GET", appURL+"/api", "application/json")
	if body := testenv.Body(t, resp); resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, `"error":"untrusted_authorization_server"`) {
		t.Errorf("/api with an untrusted authorization server: %d %s", resp.StatusCode, body)
	}
}

// TestEnvContractClientIDMetadataDocument: OIDC_CLIENT_ID is a URL on
// APP_URL's origin (outside /auth/) and OIDC_CLIENT_KEY_FILE a key, no
// secret: the app serves its client metadata document there, and signs
// users in at oidc-provider, which never registered it.
func TestEnvContractClientIDMetadataDocument(t *testing.T) {
	app := httptest.NewUnstartedServer(nil)
	app.StartTLS()
	defer app.Close()
	op := certop.Start(t, certop.Config{
		TrustPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: app.Certificate().Raw}),
		Features: map[string]any{"clientIdMetadataDocument": map[string]any{"enabled": true}},
	})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(t.TempDir(), "client.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	clientID := app.URL + "/.well-known/client.json"
	env := map[string]string{"OIDC_ISSUER": op.Issuer, "OIDC_CLIENT_ID": clientID, "OIDC_CLIENT_KEY_FILE": keyFile,
		"OIDC_CLIENT_KEY_ID": "k1", "APP_URL": app.URL}
	h, err := newApp(context.Background(), func(k string) string { return env[k] }, nil, testenv.CollectLogger())
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	hc := testenv.BrowserVia(app.Client().Transport)
	resp := testenv.Do(t, hc, "GET", clientID, "application/json")
	var doc map[string]any
	json.Unmarshal([]byte(testenv.Body(t, resp)), &doc)
	if resp.StatusCode != 200 || doc["client_id"] != clientID || doc["token_endpoint_auth_method"] != "private_key_jwt" {
		t.Fatalf("the document: %d %v", resp.StatusCode, doc)
	}
	resp = testenv.Do(t, hc, "GET", app.URL+"/profile", "text/html")
	resp.Body.Close()
	cb, err := op.Login(hc, resp.Header.Get("Location"), "frank")
	if err != nil {
		t.Fatal(err)
	}
	resp = testenv.Do(t, hc, "GET", cb.String(), "text/html")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/profile" {
		t.Fatalf("callback: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = testenv.Do(t, hc, "GET", app.URL+"/profile", "application/json")
	if body := testenv.Body(t, resp); resp.StatusCode != 200 || !strings.Contains(body, `"sub": "frank"`) && !strings.Contains(body, `"sub":"frank"`) {
		t.Fatalf("/profile: %d %s", resp.StatusCode, body)
	}
}

// TestEnvContractStepUpCannotLowerACR: with OIDC_ACR_VALUES, an API whose
// RFC 9470 challenge asks for a lower acr makes /api answer a JSON call
// 401 with a login_url, and a navigation go to sign in again, but that
// sign-in asks for OIDC_ACR_VALUES, never the API's acr.
func TestEnvContractStepUpCannotLowerACR(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", acr_values="urn:confidant:pwd"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer api.Close()
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	op := certop.Start(t, certop.Config{Clients: []certop.Client{{ID: "ex", Secret: "ex-secret", RedirectURIs: []string{appURL + "/auth/callback"}}}})
	env := map[string]string{"OIDC_ISSUER": op.Issuer, "OIDC_CLIENT_ID": "ex", "OIDC_CLIENT_SECRET": "ex-secret", "APP_URL": appURL,
		"API_URL": api.URL, "OIDC_ACR_VALUES": "urn:confidant:mfa"}
	h, err := newApp(context.Background(), func(k string) string { return env[k] }, nil, testenv.CollectLogger())
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()
	op.ACR = "urn:confidant:mfa"
	hc := testenv.Browser()
	body := signInAndCallAPIWith(t, hc, appURL, func(hc *http.Client, u string) (*url.URL, error) { return op.Login(hc, u, "mia") }, nil)
	var ans map[string]string
	json.Unmarshal([]byte(body), &ans)
	if ans["error"] != "insufficient_user_authentication" || !strings.HasPrefix(ans["login_url"], "/auth/login?") {
		t.Fatalf("/api as JSON: %s", body)
	}
	resp := testenv.Do(t, hc, "GET", appURL+"/api", "text/html")
	resp.Body.Close()
	authz, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(authz.String(), op.Issuer) {
		t.Fatalf("/api navigation: %d to %q", resp.StatusCode, authz)
	}
	if got := authz.Query().Get("acr_values"); got != "urn:confidant:mfa" {
		t.Errorf("the step-up asks for acr_values %q, want OIDC_ACR_VALUES (urn:confidant:mfa)", got)
	}
}
