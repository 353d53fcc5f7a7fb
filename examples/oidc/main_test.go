package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/certop"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv("RUN_OIDC_MAIN") == "1" {
		main()
		return
	}
	// The example's log lines and events are scanned for everything the
	// providers issued (oidc-provider's included).
	os.Exit(testenv.ScanAfter(m, "ex-secret"))
}

// TestMissingVariables: the binary exits with status 2 and one line that
// names every missing variable.
func TestMissingVariables(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{"RUN_OIDC_MAIN=1", "OIDC_CLIENT_ID=x", "PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit: %v, want status 2", err)
	}
	out := strings.TrimSpace(stderr.String())
	if strings.Count(out, "\n") != 0 || !strings.Contains(out, "OIDC_ISSUER") || !strings.Contains(out, "OIDC_CLIENT_SECRET") || strings.Contains(out, "OIDC_CLIENT_ID,") {
		t.Errorf("stderr %q: want one line naming OIDC_CLIENT_SECRET and OIDC_ISSUER only", out)
	}
}

// TestProviderUnreachableAtStart: an issuer that cannot be reached (a typo
// in its host) stops the app at start with the reason, instead of an app
// that starts and answers every user with a 502.
func TestProviderUnreachableAtStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second) // an app that starts anyway would serve until killed
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = []string{"RUN_OIDC_MAIN=1", "OIDC_ISSUER=http://127.0.0.1:1", "OIDC_CLIENT_ID=x", "OIDC_CLIENT_SECRET=y", "PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if ctx.Err() != nil {
		t.Fatalf("the app started with an issuer that cannot be reached; stderr %s", stderr.String())
	}
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit: %v, want status 2; stderr %s", err, stderr.String())
	}
	if out := stderr.String(); !strings.Contains(out, "http://127.0.0.1:1") || !strings.Contains(out, "connection refused") {
		t.Errorf("stderr %q: want the issuer and the reason", out)
	}
}

// TestSignInWithEnvConfig runs the example against the in-process OP.
func TestSignInWithEnvConfig(t *testing.T) {
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	op, err := devprovider.Start(devprovider.Config{Clients: []devprovider.Client{{ID: "ex", Secret: "ex-secret",
		Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	api := httptest.NewServer(op.NewAPI())
	defer api.Close()
	env := map[string]string{"OIDC_ISSUER": op.Issuer, "OIDC_CLIENT_ID": "ex", "OIDC_CLIENT_SECRET": "ex-secret",
		"APP_URL": appURL, "API_URL": api.URL}
	h, err := newApp(context.Background(), func(k string) string { return env[k] }, nil, testenv.CollectLogger())
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()

	body := signInAndCallAPI(t, appURL, func(hc *http.Client, u string) (*url.URL, error) { return op.Login(hc, u, devprovider.DemoUser) }, nil)
	if !strings.Contains(body, `"status":200`) || !strings.Contains(body, devprovider.DemoUser.ID) {
		t.Errorf("/api: %s", body)
	}
}

// TestEnvContractCertified runs the example against oidc-provider with the
// standards its environment turns on: private_key_jwt from a PKCS#8 PEM
// file (OIDC_CLIENT_AUTH, OIDC_CLIENT_KEY_FILE, OIDC_CLIENT_KEY_ID) and PAR
// (OIDC_PAR), DPoP-bound tokens (OIDC_DPOP: the userinfo endpoint API_URL
// checks the proofs), and the authentication asked for and verified at
// sign-in (OIDC_ACR_VALUES, OIDC_MAX_AGE).
func TestEnvContractCertified(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(t.TempDir(), "client.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"})
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	op := certop.Start(t, certop.Config{
		Features: map[string]any{"pushedAuthorizationRequests": map[string]any{"enabled": true}},
		Clients: []certop.Client{{ID: "ex", RedirectURIs: []string{appURL + "/auth/callback"}, AuthMethod: "private_key_jwt",
			JWKS: &certop.JWKS{Keys: []json.RawMessage{jwk}}}},
	})
	env := map[string]string{"OIDC_ISSUER": op.Issuer, "OIDC_CLIENT_ID": "ex", "OIDC_CLIENT_AUTH": "private_key_jwt",
		"OIDC_CLIENT_KEY_FILE": keyFile, "OIDC_CLIENT_KEY_ID": "k1", "OIDC_PAR": "true", "OIDC_DPOP": "true", "APP_URL": appURL, "API_URL": op.Issuer + "/me",
		"OIDC_ACR_VALUES": "urn:confidant:mfa", "OIDC_MAX_AGE": "600"}
	h, err := newApp(context.Background(), func(k string) string { return env[k] }, nil, testenv.CollectLogger())
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()

	op.ACR = "urn:confidant:mfa"
	body := signInAndCallAPI(t, appURL, func(hc *http.Client, u string) (*url.URL, error) { return op.Login(hc, u, "alice") }, func(authURL string) {
		if q, _ := url.ParseQuery(strings.SplitN(authURL, "?", 2)[1]); !q.Has("request_uri") {
			t.Errorf("authorization request not pushed: %s", authURL)
		}
	})
	if !strings.Contains(body, `"status":200`) || !strings.Contains(body, `\"sub\":\"alice\"`) {
		t.Errorf("/api: %s", body)
	}
}

// TestEnvContractFAPI: with OIDC_FAPI, the example runs the FAPI 2.0
// profile against oidc-provider's (features.fapi, 2.0) with the key file it
// already reads for private_key_jwt (an RSA key: PS256) and OIDC_DPOP: both
// levels sign in and call the API; without OIDC_DPOP it does not start, and
// says why.
func TestEnvContractFAPI(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(t.TempDir(), "client.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: key.Public(), KeyID: "k1", Algorithm: "PS256", Use: "sig"})
	opKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	opJWK, _ := json.Marshal(jose.JSONWebKey{Key: opKey, KeyID: "op", Use: "sig"})
	algs := []string{"RS256", "PS256", "ES256"}
	for _, profile := range []string{"2.0", "2.0-message-signing"} {
		t.Run(profile, func(t *testing.T) {
			app := httptest.NewUnstartedServer(nil)
			appURL := "http://" + app.Listener.Addr().String()
			reg := certop.Client{ID: "ex", RedirectURIs: []string{appURL + "/auth/callback"}, AuthMethod: "private_key_jwt",
				JWKS: &certop.JWKS{Keys: []json.RawMessage{jwk}}, IDTokenSignedResponseAlg: "PS256"}
			features := map[string]any{"fapi": map[string]any{"enabled": true, "profile": "2.0"}}
			if profile == "2.0-message-signing" {
				reg.RequireSignedRequestObject, reg.RequestObjectSigningAlg, reg.AuthorizationSignedResponseAlg = true, "PS256", "PS256"
				features["requestObjects"] = map[string]any{"enabled": true}
				features["jwtResponseModes"] = map[string]any{"enabled": true}
			}
			op := certop.Start(t, certop.Config{Features: features, Clients: []certop.Client{reg}, JWKS: &certop.JWKS{Keys: []json.RawMessage{opJWK}},
				EnabledJWA: map[string][]string{"idTokenSigningAlgValues": algs, "authorizationSigningAlgValues": algs,
					"requestObjectSigningAlgValues": algs, "clientAuthSigningAlgValues": algs}})
			env := map[string]string{"OIDC_ISSUER": op.Issuer, "OIDC_CLIENT_ID": "ex", "OIDC_CLIENT_KEY_FILE": keyFile, "OIDC_CLIENT_KEY_ID": "k1",
				"OIDC_DPOP": "true", "OIDC_FAPI": profile, "APP_URL": appURL, "API_URL": op.Issuer + "/me"}
			getenv := func(k string) string { return env[k] }
			h, err := newApp(context.Background(), getenv, nil, testenv.CollectLogger())
			if err != nil {
				t.Fatal(err)
			}
			app.Config.Handler = h
			app.Start()
			defer app.Close()
			body := signInAndCallAPI(t, appURL, func(hc *http.Client, u string) (*url.URL, error) { return op.Login(hc, u, "alice") }, func(authURL string) {
				if q, _ := url.ParseQuery(strings.SplitN(authURL, "?", 2)[1]); !q.Has("request_uri") || q.Has("state") {
					t.Errorf("authorization request not pushed: %s", authURL)
				}
			})
			if !strings.Contains(body, `"status":200`) || !strings.Contains(body, `\"sub\":\"alice\"`) {
				t.Errorf("/api: %s", body)
			}
			env["OIDC_DPOP"] = ""
			if _, err := newApp(context.Background(), getenv, nil, nil); err == nil || !strings.Contains(err.Error(), "DPoP") {
				t.Errorf("without OIDC_DPOP: %v, want an error naming DPoP", err)
			}
		})
	}
}

// TestEnvContractMTLS: the example run as the binary a user runs, with
// OIDC_CLIENT_CERT_FILE, OIDC_CLIENT_CERT_KEY_FILE, OIDC_CLIENT_AUTH and
// OIDC_FAPI=2.0 (no OIDC_DPOP), against oidc-provider's FAPI 2.0 profile
// over https with mutual TLS, its private CA trusted through SSL_CERT_FILE:
// with tls_client_auth and with self_signed_tls_client_auth it signs in,
// its tokens are bound to the certificate, and /api reaches API_URL (the
// provider's userinfo on its mutual TLS port, which checks the binding)
// over the certificate.
func TestEnvContractMTLS(t *testing.T) {
	opKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	opJWK, _ := json.Marshal(jose.JSONWebKey{Key: opKey, KeyID: "op", Use: "sig"})
	algs := []string{"RS256", "PS256", "ES256"}
	for _, auth := range []string{"tls_client_auth", "self_signed_tls_client_auth"} {
		t.Run(auth, func(t *testing.T) {
			clientCA := certop.NewCA(t, "client CA")
			cert := certop.SelfSigned(t, "ex")
			if auth == "tls_client_auth" {
				cert = clientCA.Issue(t, "ex", true)
			}
			certFile, keyFile := certop.WritePEM(t, cert)
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			appURL := "http://" + addr
			reg := certop.Client{ID: "ex", RedirectURIs: []string{appURL + "/auth/callback"}, AuthMethod: auth,
				IDTokenSignedResponseAlg: "PS256", CertificateBoundTokens: true}
			if auth == "tls_client_auth" {
				reg.TLSClientAuthSubjectDN = "CN=ex"
			} else {
				jwk, _ := json.Marshal(jose.JSONWebKey{Key: cert.Leaf.PublicKey, Certificates: []*x509.Certificate{cert.Leaf}, Use: "sig"})
				reg.JWKS = &certop.JWKS{Keys: []json.RawMessage{jwk}}
			}
			op := certop.Start(t, certop.Config{TLS: true, ClientCA: clientCA, Clients: []certop.Client{reg},
				Features: map[string]any{"fapi": map[string]any{"enabled": true, "profile": "2.0"}},
				JWKS:     &certop.JWKS{Keys: []json.RawMessage{opJWK}},
				EnabledJWA: map[string][]string{"idTokenSigningAlgValues": algs, "authorizationSigningAlgValues": algs,
					"requestObjectSigningAlgValues": algs, "clientAuthSigningAlgValues": algs}})
			caFile := filepath.Join(t.TempDir(), "ca.pem")
			if err := os.WriteFile(caFile, op.CA.PEM, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0])
			cmd.Env = []string{"RUN_OIDC_MAIN=1", "PATH=" + os.Getenv("PATH"), "SSL_CERT_FILE=" + caFile,
				"OIDC_ISSUER=" + op.Issuer, "OIDC_CLIENT_ID=ex", "OIDC_CLIENT_AUTH=" + auth,
				"OIDC_CLIENT_CERT_FILE=" + certFile, "OIDC_CLIENT_CERT_KEY_FILE=" + keyFile, "OIDC_FAPI=2.0",
				"APP_URL=" + appURL, "LISTEN_ADDR=" + addr, "API_URL=" + op.MTLS + "/me"}
			var stderr testenv.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				cmd.Process.Kill()
				cmd.Wait()
				if t.Failed() {
					t.Logf("the app's stderr:\n%s", stderr.String())
				}
			})
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if resp, err := http.Get(appURL + "/"); err == nil {
					resp.Body.Close()
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the app did not start")
				}
			}
			body := signInAndCallAPIWith(t, op.Browser(), appURL, func(hc *http.Client, u string) (*url.URL, error) { return op.Login(hc, u, "alice") }, func(authURL string) {
				if q, _ := url.ParseQuery(strings.SplitN(authURL, "?", 2)[1]); !q.Has("request_uri") || q.Has("state") {
					t.Errorf("authorization request not pushed: %s", authURL)
				}
			})
			if !strings.Contains(body, `"status":200`) || !strings.Contains(body, `\"sub\":\"alice\"`) {
				t.Errorf("/api: %s", body)
			}
		})
	}
}

// signInAndCallAPI signs in through the app at appURL with login (the
// provider's pages) and returns what /api answered as JSON.
func signInAndCallAPI(t *testing.T, appURL string, login func(hc *http.Client, authURL string) (*url.URL, error), check func(authURL string)) string {
	t.Helper()
	return signInAndCallAPIWith(t, testenv.Browser(), appURL, login, check)
}

// signInAndCallAPIWith is signInAndCallAPI with the browser hc.
func signInAndCallAPIWith(t *testing.T, hc *http.Client, appURL string, login func(hc *http.Client, authURL string) (*url.URL, error), check func(authURL string)) string {
	t.Helper()
	resp, err := hc.Get(appURL + "/profile")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if check != nil {
		check(resp.Header.Get("Location"))
	}
	cb, err := login(hc, resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if resp, err = hc.Get(cb.String()); err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %v %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequest("GET", appURL+"/api", nil)
	req.Header.Set("Accept", "application/json")
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return buf.String()
}

// TestEnvContractAPIResource: with API_RESOURCE (and API_SCOPES), /api
// calls API_URL with a token of its own, for that resource (RFC 8707 at
// oidc-provider).
func TestEnvContractAPIResource(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var claims struct {
			Aud   string `json:"aud"`
			Scope string `json:"scope"`
		}
		if parts := strings.Split(raw, "."); len(parts) == 3 {
			b, _ := base64.RawURLEncoding.DecodeString(parts[1])
			json.Unmarshal(b, &claims)
		}
		fmt.Fprintf(w, "aud=%s scope=%s", claims.Aud, claims.Scope)
	}))
	defer api.Close()
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	op := certop.Start(t, certop.Config{
		ResourceServers: map[string]map[string]string{"https://orders.example/": {"scope": "orders:read orders:write"}},
		Clients:         []certop.Client{{ID: "ex", Secret: "ex-secret", RedirectURIs: []string{appURL + "/auth/callback"}}},
	})
	env := map[string]string{"OIDC_ISSUER": op.Issuer, "OIDC_CLIENT_ID": "ex", "OIDC_CLIENT_SECRET": "ex-secret", "APP_URL": appURL,
		"API_URL": api.URL + "/", "API_RESOURCE": "https://orders.example/", "API_SCOPES": "orders:read",
		"OIDC_SCOPES": "openid profile email offline_access"} // as the README says: the API's scope in API_SCOPES only
	h, err := newApp(context.Background(), func(k string) string { return env[k] }, nil, testenv.CollectLogger())
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()
	body := signInAndCallAPI(t, appURL, func(hc *http.Client, u string) (*url.URL, error) { return op.Login(hc, u, "alice") }, nil)
	if !strings.Contains(body, `"status":200`) || !strings.Contains(body, "aud=https://orders.example/ scope=orders:read") {
		t.Errorf("/api: %s", body)
	}
}

// TestEnvContractCookieInstances: with SESSION_STORE=cookie and REDIS_URL,
// three instances keep sessions in cookies and share the deny list and the
// refresh coordination through Redis: concurrent calls of one session on
// all of them after its access token is due are all answered, with one
// refresh and no refresh token reused at a provider that rotates them.
func TestEnvContractCookieInstances(t *testing.T) {
	redis := testenv.StartRedis(t)
	lb := httptest.NewUnstartedServer(nil)
	appURL := "http://" + lb.Listener.Addr().String()
	op := certop.Start(t, certop.Config{AccessTokenTTL: 4,
		Clients: []certop.Client{{ID: "ex", Secret: "ex-secret", RedirectURIs: []string{appURL + "/auth/callback"}}}})
	env := map[string]string{"OIDC_ISSUER": op.Issuer, "OIDC_CLIENT_ID": "ex", "OIDC_CLIENT_SECRET": "ex-secret",
		"OIDC_SCOPES": "openid profile email offline_access", "APP_URL": appURL, "API_URL": op.Issuer + "/me",
		"SESSION_KEYS": base64.StdEncoding.EncodeToString(testenv.NewKey()), "REDIS_URL": "redis://" + redis.Addr + "/0", "SESSION_STORE": "cookie"}
	var instances []http.Handler
	for range 3 {
		h, err := newApp(context.Background(), func(k string) string { return env[k] }, nil, testenv.CollectLogger())
		if err != nil {
			t.Fatal(err)
		}
		instances = append(instances, h)
	}
	var next atomic.Int64
	lb.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		instances[next.Add(1)%int64(len(instances))].ServeHTTP(w, r)
	})
	lb.Start()
	defer lb.Close()

	signInAndCallAPI(t, appURL, func(hc *http.Client, u string) (*url.URL, error) { return op.Login(hc, u, "alice") }, nil)
	hc := testenv.Browser()
	resp, _ := hc.Get(appURL + "/profile")
	cb, err := op.Login(hc, resp.Header.Get("Location"), "bob")
	if err != nil {
		t.Fatal(err)
	}
	if resp, err = hc.Get(cb.String()); err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %v", err)
	}
	before := op.Counts(t)
	time.Sleep(2200 * time.Millisecond) // past half the 4 s lifetime: due
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 9 {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", appURL+"/api", nil)
			req.Header.Set("Accept", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"status":200`) {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	after := op.Counts(t)
	if n, reused, refreshes := failed.Load(), after["_invalid_grants"]-before["_invalid_grants"], after["/token"]-before["/token"]; n != 0 || reused != 0 || refreshes != 1 {
		t.Errorf("%d of 9 calls failed, %d refresh tokens refused, %d refreshes; want 0, 0 and 1", n, reused, refreshes)
	}
}

// TestEnvContractRedis: REDIS_URL alone keeps sessions in Redis, shared by
// the instances: signed in through one, signed in at the other; signed
// out through the other, signed out at both.
func TestEnvContractRedis(t *testing.T) {
	redis := testenv.StartRedis(t)
	lb := httptest.NewUnstartedServer(nil)
	appURL := "http://" + lb.Listener.Addr().String()
	op, err := devprovider.Start(devprovider.Config{Clients: []devprovider.Client{{ID: "ex", Secret: "ex-secret",
		Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	env := map[string]string{"OIDC_ISSUER": op.Issuer, "OIDC_CLIENT_ID": "ex", "OIDC_CLIENT_SECRET": "ex-secret", "APP_URL": appURL,
		"SESSION_KEYS": base64.StdEncoding.EncodeToString(testenv.NewKey()), "REDIS_URL": "redis://" + redis.Addr + "/0"}
	var instances []http.Handler
	for range 2 {
		h, err := newApp(context.Background(), func(k string) string { return env[k] }, nil, testenv.CollectLogger())
		if err != nil {
			t.Fatal(err)
		}
		instances = append(instances, h)
	}
	var to atomic.Int64 // which instance the next request goes to
	lb.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { instances[to.Load()].ServeHTTP(w, r) })
	lb.Start()
	defer lb.Close()

	hc := testenv.Browser()
	resp, _ := hc.Get(appURL + "/profile")
	resp.Body.Close()
	cb, err := op.Login(hc, resp.Header.Get("Location"), devprovider.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err = hc.Get(cb.String()); err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %v", err)
	}
	if keys, _ := redis.Client().Keys(context.Background(), "confidant:*").Result(); len(keys) == 0 {
		t.Fatal("no session in Redis")
	}
	to.Store(1)
	profile := func() int {
		req, _ := http.NewRequest("GET", appURL+"/profile", nil)
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if status := profile(); status != http.StatusOK {
		t.Fatalf("the other instance: %d, want the session from Redis", status)
	}
	u, _ := url.Parse(appURL)
	copied := hc.Jar.Cookies(u) // a copy of the cookie, taken before sign-out
	if resp, err = hc.Post(appURL+"/auth/logout", "", nil); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	to.Store(0)
	hc = testenv.Browser()
	hc.Jar.SetCookies(u, copied)
	if status := profile(); status != http.StatusUnauthorized {
		t.Errorf("the copied cookie at the first instance after sign-out at the other: %d, want 401", status)
	}
}

// TestEnvTenants: OIDC_TENANTS with OIDC_ISSUER at a multi-tenant
// provider's common endpoint (Microsoft Entra ID's, emulated): a user of a
// named tenant signs in and calls the API; without OIDC_TENANTS the app
// does not start, and says how to fix it.
func TestEnvTenants(t *testing.T) {
	const tid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	user := devprovider.User{ID: "ada", Username: "ada@contoso.example", Password: "pw", Name: "Ada"}
	hosts := &emulate.Hosts{}
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	e := emulate.NewEntra(t, hosts, nil, []string{tid}, map[string][]devprovider.User{tid: {user}},
		[]devprovider.Client{{ID: "ex", Secret: "ex-secret", Redirects: []string{appURL + "/auth/callback"}}})
	env := map[string]string{"OIDC_ISSUER": "https://login.microsoftonline.com/common/v2.0", "OIDC_CLIENT_ID": "ex",
		"OIDC_CLIENT_SECRET": "ex-secret", "APP_URL": appURL, "API_URL": "https://login.microsoftonline.com/common/oidc/userinfo"}
	getenv, hc, logger := func(k string) string { return env[k] }, hosts.Client(), testenv.CollectLogger()
	if _, err := newApp(context.Background(), getenv, hc, logger); err == nil || !strings.Contains(err.Error(), "WithTenants") {
		t.Errorf("without OIDC_TENANTS: %v, want an error naming the fix", err)
	}
	env["OIDC_TENANTS"] = "00000000-0000-0000-0000-000000000000," + tid
	h, err := newApp(context.Background(), getenv, hc, logger)
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()
	body := signInAndCallAPI(t, appURL, func(hc *http.Client, u string) (*url.URL, error) {
		return e.Tenants[tid].Login(&http.Client{Transport: hosts, Jar: hc.Jar}, u, user)
	}, nil)
	if !strings.Contains(body, `"status":200`) || !strings.Contains(body, "ada") {
		t.Errorf("/api: %s", body)
	}
}
