package client_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/certop"
)

// TestPrivateKeyConfig: keys and algorithms that cannot make a valid
// assertion are refused by New, naming the reason.
func TestPrivateKeyConfig(t *testing.T) {
	prov, _ := client.NewProvider("p", client.Endpoints{Issuer: "https://p.example/", AuthURL: "https://p.example/a",
		TokenURL: "https://p.example/t", JWKSURL: "https://p.example/k"})
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name  string
		key   crypto.Signer
		alg   string
		style client.AuthStyle
		ok    bool
	}{
		{"P-256", p256, "", client.AuthStyleAuto, true},
		{"RSA PS256", rsa2048, "PS256", client.AuthStyleAuto, true},
		{"P-384", p384, "", client.AuthStyleAuto, false},
		{"RSA 1024", rsa1024, "", client.AuthStyleAuto, false},
		{"RSA with ES256", rsa2048, "ES256", client.AuthStyleAuto, false},
		{"P-256 with RS256", p256, "RS256", client.AuthStyleAuto, false},
		{"Ed25519", ed, "", client.AuthStyleAuto, true},
		{"Ed25519 with ES256", ed, "ES256", client.AuthStyleAuto, false},
		{"private_key_jwt without a key", nil, "", client.AuthStylePrivateKeyJWT, false},
		{"client_secret_post without a secret", p256, "", client.AuthStylePost, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.New(client.Config{Provider: prov, ClientID: "app", RedirectURL: "https://app.example/cb",
				PrivateKey: &client.PrivateKey{Key: tc.key, Alg: tc.alg}, AuthStyle: tc.style})
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, fail.ClientConfig)) {
				t.Errorf("New: %v, want ok=%v (or ErrConfig)", err, tc.ok)
			}
		})
	}
}

// TestClientAssertionAudience (issue 34, section 5): a client assertion
// is for the issuer or for the endpoint it is sent to. One whose aud is
// the token endpoint (a plain OAuth 2.0 provider, a multi-tenant template,
// Entra ID) went to PAR and revocation as well, where a provider that
// checks aud strictly refuses it, and where whoever receives it holds an
// assertion good at the token endpoint. Against oidc-provider taking an
// assertion only for its issuer or for the endpoint that receives it:
// every endpoint that gets one (PAR, token, revocation), at the provider's
// own URLs and at its mtls_endpoint_aliases, for a plain OAuth 2.0
// provider (aud each endpoint) and a discovered one (aud the issuer).
func TestClientAssertionAudience(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"})
	const redirect, api = "http://127.0.0.1:9/cb", "https://api.example/"
	for _, tc := range []struct {
		name       string
		discovered bool // else endpoints by hand, no issuer
		mtls       bool // the client has a certificate: the aliases
	}{
		{"plain OAuth 2.0", false, false},
		{"plain OAuth 2.0 at the mTLS aliases", false, true},
		{"discovered: aud the issuer", true, false},
		{"discovered, at the mTLS aliases: aud the issuer", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := certop.Start(t, certop.Config{TLS: tc.mtls, StrictAssertionAudience: true,
				Features: map[string]any{"pushedAuthorizationRequests": map[string]any{"enabled": true},
					"clientCredentials": map[string]any{"enabled": true}},
				ResourceServers: map[string]map[string]string{api: {"scope": "read"}},
				Clients: []certop.Client{{ID: "app", RedirectURIs: []string{redirect}, AuthMethod: "private_key_jwt",
					JWKS: &certop.JWKS{Keys: []json.RawMessage{jwk}}, GrantTypes: []string{"authorization_code", "client_credentials"}}}})
			var prov *client.Provider
			var err error
			if tc.discovered {
				prov, err = client.Discover(t.Context(), op.Issuer, client.WithHTTPClient(op.HTTPClient()))
			} else {
				ep := client.Endpoints{AuthURL: op.Issuer + "/auth", TokenURL: op.Issuer + "/token",
					PARURL: op.Issuer + "/request", RevocationURL: op.Issuer + "/token/revocation"}
				if tc.mtls {
					ep = client.WithMTLSAliases(ep, map[string]string{"token_endpoint": op.MTLS + "/token",
						"pushed_authorization_request_endpoint": op.MTLS + "/request", "revocation_endpoint": op.MTLS + "/token/revocation"})
				}
				prov, err = client.NewProvider("plain", ep, client.WithHTTPClient(op.HTTPClient()))
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg := client.Config{Provider: prov, ClientID: "app", RedirectURL: redirect, Scopes: []string{"openid"},
				PrivateKey: &client.PrivateKey{Key: key, KeyID: "k1"}, PAR: true}
			if tc.mtls {
				cert := op.ClientCA.Issue(t, "app", true)
				cfg.ClientCertificate = &cert
			}
			c, err := client.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if l, err := c.NewLogin(t.Context(), nil); err != nil || !strings.Contains(l.URL, "request_uri=") {
				t.Errorf("PAR: %v", err)
			}
			if _, err := c.ClientCredentials(t.Context(), api, []string{"read"}); err != nil {
				t.Fatalf("token endpoint: %v", err)
			}
			// A JWT access token cannot be revoked at oidc-provider; an
			// unknown token is answered 200 once the client is
			// authenticated (RFC 7009 2.2).
			if err := c.Revoke(t.Context(), &oauth2.Token{RefreshToken: "not-a-token-it-issued"}); err != nil {
				t.Errorf("revocation: %v", err)
			}
			if n := op.Counts(t); n["/request"] != 1 || n["/token"] != 1 || n["/token/revocation"] != 1 {
				t.Errorf("requests %v, want one each at PAR, token and revocation", n)
			}
		})
	}
}
