package middleware_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/certop"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// TestMTLS: FAPI 2.0 with mutual TLS (RFC 8705) against oidc-provider's
// FAPI 2.0 profile served over https, each client authentication with each
// sender constraint: tls_client_auth (a certificate of the provider's
// client CA), self_signed_tls_client_auth (registered by its x5c) and
// private_key_jwt, with certificate-bound tokens; tls_client_auth and
// self_signed_tls_client_auth with DPoP; and Message Signing (JAR, JARM)
// with tls_client_auth and certificate-bound tokens. The provider's https port asks for no certificate, so only a
// client that uses mtls_endpoint_aliases (token, PAR, userinfo,
// revocation) gets anywhere. Each signs in, calls userinfo (which checks
// the binding) and a resource API of the test that checks the token's cnf
// against the connection's certificate or the DPoP proof, refreshes, and
// signs out; the token is refused over another certificate.
func TestMTLS(t *testing.T) {
	opRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	opEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name, auth string
		dpop       bool
		confirmed  string // the resource API's check
		profile    string
	}{
		{"tls_client_auth, certificate-bound", "tls_client_auth", false, "x5t#S256", "2.0"},
		{"self_signed_tls_client_auth, certificate-bound", "self_signed_tls_client_auth", false, "x5t#S256", "2.0"},
		{"private_key_jwt, certificate-bound", "private_key_jwt", false, "x5t#S256", "2.0"},
		{"tls_client_auth, DPoP", "tls_client_auth", true, "jkt", "2.0"},
		{"self_signed_tls_client_auth, DPoP", "self_signed_tls_client_auth", true, "jkt", "2.0"},
		// JAR and JARM besides, the request objects signed with the key.
		{"message signing, tls_client_auth, certificate-bound", "tls_client_auth", false, "x5t#S256", "2.0-message-signing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var rec recordingErrors
			selfSigned := certop.SelfSigned(t, "app")
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			features := map[string]any{"fapi": map[string]any{"enabled": true, "profile": "2.0"},
				"pushedAuthorizationRequests": map[string]any{"enabled": true, "requirePushedAuthorizationRequests": true}}
			if tc.profile == "2.0-message-signing" {
				features["requestObjects"] = map[string]any{"enabled": true}
				features["jwtResponseModes"] = map[string]any{"enabled": true}
			}
			resources := map[string]map[string]string{"https://ledger.example/": {"scope": "ledger:read"}}
			serverCA, clientCA := certop.NewCA(t, "server CA"), certop.NewCA(t, "client CA")
			var final client.Config // the app's client configuration, as New got it
			ledger := newBoundResourceServer(t, "https://ledger.example/", "ledger:read", serverCA)
			s := newCertified(t, certifiedOptions{tls: true, accessTTL: 6, features: features, resources: resources,
				op: func(c *certop.Config) {
					fapiKeys(t, opRSA, opEC)(c)
					c.CA, c.ClientCA = serverCA, clientCA
				},
				register: func(c *certop.Client) {
					c.Secret, c.AuthMethod, c.IDTokenSignedResponseAlg = "", tc.auth, "PS256"
					c.CertificateBoundTokens = !tc.dpop
					if tc.profile == "2.0-message-signing" {
						jwk, _ := json.Marshal(jose.JSONWebKey{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"})
						c.JWKS = &certop.JWKS{Keys: []json.RawMessage{jwk}}
						c.RequireSignedRequestObject, c.RequestObjectSigningAlg, c.AuthorizationSignedResponseAlg = true, "ES256", "PS256"
					}
					switch tc.auth {
					case "tls_client_auth":
						c.TLSClientAuthSubjectDN = "CN=app"
					case "self_signed_tls_client_auth":
						jwk, _ := json.Marshal(jose.JSONWebKey{Key: selfSigned.Leaf.PublicKey, Certificates: []*x509.Certificate{selfSigned.Leaf}, Use: "sig"})
						c.JWKS = &certop.JWKS{Keys: []json.RawMessage{jwk}}
					case "private_key_jwt":
						jwk, _ := json.Marshal(jose.JSONWebKey{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"})
						c.JWKS = &certop.JWKS{Keys: []json.RawMessage{jwk}}
					}
				},
				client: func(c *client.Config) {
					// As the README tells a user: the certificate, the
					// profile, DPoP when wanted; the rest from discovery.
					c.ClientSecret, c.FAPI, c.DPoP = "", tc.profile, tc.dpop
					if tc.profile == "2.0-message-signing" {
						c.PrivateKey = &client.PrivateKey{Key: kmsKey{key}, KeyID: "k1"} // signs the request objects
					}
					cert := selfSigned
					switch tc.auth {
					case "tls_client_auth":
						cert = clientCA.Issue(t, "app", true)
						c.AuthStyle = client.AuthStyleTLSClientAuth
					case "self_signed_tls_client_auth":
						c.AuthStyle = client.AuthStyleSelfSignedTLSClientAuth
					case "private_key_jwt":
						c.PrivateKey = &client.PrivateKey{Key: kmsKey{key}, KeyID: "k1"}
					}
					// Any crypto.Signer holds the certificate's key.
					cert.PrivateKey = kmsKey{cert.PrivateKey.(*ecdsa.PrivateKey)}
					c.ClientCertificate = &cert
					final = *c
				},
				mw: func(c *middleware.Config) {
					rec.install(c)
					c.APIs = append(c.APIs, middleware.API{Name: "ledger", BaseURL: ledger.URL + "/", Resource: "https://ledger.example/", Scopes: []string{"ledger:read"}})
				},
			})
			ledger.trust(s.op.Issuer)
			s.app.Mux.Handle("/call/ledger", relay(s.app.Auth, ledger.URL+"/items"))

			if resp, _ := get(t, s.op.Browser(), s.app.URL+"/profile"); resp.StatusCode != http.StatusFound {
				t.Fatalf("/profile: %d (%v)", resp.StatusCode, rec.last())
			}
			hc := s.signIn(t, "alice")
			sess, err := testenv.LoadCookies(s.app.Store, hc.Jar.Cookies(mustURL(s.app.URL)))
			if want := map[bool]string{false: "Bearer", true: "DPoP"}[tc.dpop]; err != nil || sess.TokenType != want {
				t.Fatalf("session: %v, token type %q; want %s", err, sess.TokenType, want)
			}
			call := func(when string) {
				t.Helper()
				if status, body := testenv.APIRequest(t, hc, s.app.URL); status != 200 || !strings.Contains(body, `"sub":"alice"`) {
					t.Errorf("userinfo %s: %d %s (%v)", when, status, body, rec.last())
				}
				resp, body := get(t, hc, s.app.URL+"/call/ledger")
				if resp.StatusCode != 200 || !strings.HasSuffix(body, " "+tc.confirmed) {
					t.Errorf("the ledger API %s: %d %q, want 200 confirmed by %s", when, resp.StatusCode, body, tc.confirmed)
				}
			}
			call("after the sign-in")

			// The token alone, over another certificate or none, is refused.
			other := certop.SelfSigned(t, "thief")
			for name, tr := range map[string]http.RoundTripper{"another certificate": withCert(s.op.CA.Transport(), other), "no certificate": s.op.CA.Transport()} {
				req, _ := http.NewRequest("GET", s.op.MTLS+"/me", nil)
				req.Header.Set("Authorization", "Bearer "+sess.AccessToken)
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusBadRequest {
					t.Errorf("the token over %s: %d, want it refused", name, resp.StatusCode)
				}
			}

			before := s.op.Counts(t)["/token"]
			time.Sleep(3100 * time.Millisecond) // past half of the 6-second tokens: due
			call("after the refresh")
			if n := s.op.Counts(t)["/token"] - before; n < 1 {
				t.Errorf("%d token requests after the tokens were due, want the refreshes", n)
			}

			// Sign-out revokes the refresh token at the revocation
			// endpoint's alias: the client cannot redeem it afterwards.
			sess, err = testenv.LoadCookies(s.app.Store, hc.Jar.Cookies(mustURL(s.app.URL)))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := hc.Post(s.app.URL+"/auth/logout", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if n := s.op.Counts(t)["/token/revocation"]; n != 1 {
				t.Errorf("%d revocation requests at sign-out, want 1", n)
			}
			c, err := client.New(final)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Refresh(t.Context(), &client.Result{Token: &oauth2.Token{RefreshToken: sess.RefreshToken}}); !errors.Is(err, fail.RefreshRevoked) {
				t.Errorf("the refresh token after sign-out: %v, want ErrRefreshRevoked", err)
			}
			if err := rec.last(); err != nil {
				t.Errorf("failure: %v", err)
			}
		})
	}
}

// TestMTLSDefaultAuthStyle (issue 34, section 6): configured as the README
// tells a user, a client certificate and no secret, key or AuthStyle,
// the client authenticates with tls_client_auth (AuthStyleAuto: the
// certificate is the only credential) at a provider that lists
// client_secret_basic first. Every other mutual TLS test set the style by
// hand, so removing the choice failed nothing. It signs in, calls
// userinfo with its certificate-bound token and signs out (the revocation
// authenticated the same way).
func TestMTLSDefaultAuthStyle(t *testing.T) {
	var rec recordingErrors
	var clientCA *certop.CA
	s := newCertified(t, certifiedOptions{tls: true,
		op: func(c *certop.Config) {
			c.CA, c.ClientCA = certop.NewCA(t, "server CA"), certop.NewCA(t, "client CA")
			clientCA = c.ClientCA
		},
		register: func(c *certop.Client) {
			c.Secret, c.AuthMethod, c.TLSClientAuthSubjectDN, c.CertificateBoundTokens = "", "tls_client_auth", "CN=app", true
		},
		client: func(c *client.Config) {
			cert := clientCA.Issue(t, "app", true)
			c.ClientSecret, c.ClientCertificate = "", &cert
		},
		mw: rec.install,
	})
	hc := s.signIn(t, "alice")
	if status, body := testenv.APIRequest(t, hc, s.app.URL); status != 200 || !strings.Contains(body, `"sub":"alice"`) {
		t.Errorf("userinfo: %d %s (%v)", status, body, rec.last())
	}
	resp, err := hc.Post(s.app.URL+"/auth/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := s.op.Counts(t); n["/token"] != 1 || n["/token/revocation"] != 1 {
		t.Errorf("%d token and %d revocation requests, want 1 each", n["/token"], n["/token/revocation"])
	}
	if err := rec.last(); err != nil {
		t.Errorf("failure: %v", err)
	}
}

// withCert is tr presenting cert to servers that ask for one.
func withCert(tr *http.Transport, cert tls.Certificate) *http.Transport {
	tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	return tr
}

// TestMTLSTransportRefused: a client with a certificate and an
// APITransport that cannot be given it (not an *http.Transport) are
// refused at New, naming APITransport, instead of API calls that go out
// without the certificate and fail at the API.
func TestMTLSTransportRefused(t *testing.T) {
	prov, _ := client.NewProvider("p", client.Endpoints{AuthURL: "https://p.example/authorize", TokenURL: "https://p.example/token"})
	cert := certop.SelfSigned(t, "app")
	c, err := client.New(client.Config{Provider: prov, ClientID: "c", RedirectURL: "https://app.example/auth/callback", ClientCertificate: &cert})
	if err != nil {
		t.Fatal(err)
	}
	store, _ := newStore()
	_, err = middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, APITransport: noRequest{}})
	if !errors.Is(err, fail.MiddlewareConfig) || !errors.Is(err, fail.ClientConfig) || !strings.Contains(err.Error(), "APITransport") {
		t.Errorf("New: %v, want fail.MiddlewareConfig naming APITransport", err)
	}
	if _, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, APITransport: http.DefaultTransport.(*http.Transport).Clone()}); err != nil {
		t.Errorf("New with an *http.Transport: %v", err)
	}
}
