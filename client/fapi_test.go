package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/providers"
)

// TestFAPIRefusals: the FAPI 2.0 profile refuses at New each setting it
// forbids, with an fail.ClientConfig that names it; a compliant configuration is
// accepted and gets PAR (and, with message signing, JAR and JARM).
func TestFAPIRefusals(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	discovered, _ := providers.Keycloak("https://sso.example.com", "r") // discovered on first use: no request here
	byHand, _ := client.NewProvider("p", client.Endpoints{Issuer: "https://p.example", AuthURL: "https://p.example/a", TokenURL: "https://p.example/t",
		JWKSURL: "https://p.example/k"})
	tenants, _ := client.Discover(context.Background(), "http://127.0.0.1:1", providers.WithTenants("t1"))
	entra, _ := providers.Entra("72f988bf-86f1-41af-91ab-2d7cd011db47")
	good := func() client.Config {
		return client.Config{Provider: discovered, ClientID: "c", RedirectURL: "https://app.example/auth/callback",
			PrivateKey: &client.PrivateKey{Key: ec}, DPoP: true, FAPI: "2.0"}
	}
	for _, tc := range []struct {
		name   string
		adjust func(*client.Config)
		says   string
	}{
		{"a client secret", func(c *client.Config) { c.ClientSecret = "s" }, "ClientSecret"},
		{"no key", func(c *client.Config) { c.PrivateKey = nil }, "PrivateKey"},
		{"RS256", func(c *client.Config) { c.PrivateKey = &client.PrivateKey{Key: rs, Alg: "RS256"} }, "PS256"},
		{"client_secret_post", func(c *client.Config) { c.AuthStyle = client.AuthStylePost; c.ClientSecret = "" }, "AuthStyle"},
		{"no sender constraint", func(c *client.Config) { c.DPoP = false }, "DPoP"},
		{"metadata by hand", func(c *client.Config) { c.Provider = byHand }, "discovery"},
		{"a tenant template", func(c *client.Config) { c.Provider = tenants }, "multi-tenant"},
		{"the token endpoint as aud", func(c *client.Config) { c.Provider = entra }, "aud"},
		{"another profile", func(c *client.Config) { c.FAPI = "1.0" }, "2.0-message-signing"},
		{"message signing with form_post", func(c *client.Config) { c.FAPI = "2.0-message-signing"; c.ResponseMode = "form_post" }, "ResponseMode"},
	} {
		cfg := good()
		tc.adjust(&cfg)
		_, err := client.New(cfg)
		if !errors.Is(err, fail.ClientConfig) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want fail.ClientConfig naming %s", tc.name, err, tc.says)
		}
	}
	for _, profile := range []string{"2.0", "2.0-message-signing"} {
		cfg := good()
		cfg.FAPI = profile
		c, err := client.New(cfg)
		if err != nil {
			t.Fatalf("%s: %v", profile, err)
		}
		if want := map[string]string{"2.0": "", "2.0-message-signing": "jwt"}[profile]; client.ResponseMode(c) != want {
			t.Errorf("%s: ResponseMode %q, want %q", profile, client.ResponseMode(c), want)
		}
	}
	cfg := good()
	cfg.PrivateKey = &client.PrivateKey{Key: rs} // no alg named: PS256 under the profile
	if _, err := client.New(cfg); err != nil {
		t.Errorf("an RSA key: %v", err)
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	cfg.PrivateKey = &client.PrivateKey{Key: ed} // EdDSA
	if _, err := client.New(cfg); err != nil {
		t.Errorf("an Ed25519 key: %v", err)
	}
	if _, err := client.New(client.Config{Provider: discovered, ClientID: "c", RedirectURL: "https://app.example/auth/callback",
		SecretJWT: &client.SecretJWT{Key: ed, KeyID: "k", Issuer: "team"}}); !errors.Is(err, fail.ClientConfig) || !strings.Contains(err.Error(), "Ed25519") {
		t.Errorf("SecretJWT with an Ed25519 key: %v, want fail.ClientConfig naming it", err)
	}
}

// TestClientCertificate: mutual TLS settings that cannot work are refused
// at New with an fail.ClientConfig that names them; under FAPI 2.0 the certificate
// stands for private_key_jwt and for DPoP, but Message Signing still needs
// PrivateKey to sign request objects.
func TestClientCertificate(t *testing.T) {
	cert := selfSigned(t)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	discovered, _ := providers.Keycloak("https://sso.example.com", "r")
	ownTransport, _ := providers.Keycloak("https://sso.example.com", "r", client.WithHTTPClient(&http.Client{Transport: roundTripFunc(nil)}))
	base := func() client.Config {
		c := cert
		return client.Config{Provider: discovered, ClientID: "c", RedirectURL: "https://app.example/auth/callback", ClientCertificate: &c}
	}
	for _, tc := range []struct {
		name   string
		adjust func(*client.Config)
		says   string
	}{
		{"tls_client_auth without a certificate", func(c *client.Config) {
			c.ClientCertificate, c.ClientSecret, c.AuthStyle = nil, "s", client.AuthStyleTLSClientAuth
		}, "needs ClientCertificate"},
		{"no certificate in it", func(c *client.Config) { c.ClientCertificate = &tls.Certificate{PrivateKey: otherKey} }, "no certificate"},
		{"another key", func(c *client.Config) { c.ClientCertificate.PrivateKey = otherKey }, "not the key of its certificate"},
		{"a key that cannot sign", func(c *client.Config) { c.ClientCertificate.PrivateKey = "secret" }, "crypto.Signer"},
		{"a transport of its own", func(c *client.Config) { c.Provider = ownTransport }, "WithHTTPClient"},
		{"FAPI without DPoP or certificate", func(c *client.Config) {
			c.ClientCertificate, c.PrivateKey, c.FAPI = nil, &client.PrivateKey{Key: otherKey}, "2.0"
		}, "ClientCertificate"},
		{"FAPI message signing without a key", func(c *client.Config) { c.FAPI = "2.0-message-signing" }, "PrivateKey"},
		{"FAPI with neither key nor certificate", func(c *client.Config) { c.ClientCertificate, c.FAPI, c.DPoP = nil, "2.0", true }, "ClientCertificate"},
	} {
		cfg := base()
		tc.adjust(&cfg)
		if _, err := client.New(cfg); !errors.Is(err, fail.ClientConfig) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want fail.ClientConfig saying %q", tc.name, err, tc.says)
		}
	}
	// FAPI 2.0 with the certificate alone: mutual TLS authenticates and
	// binds the tokens.
	cfg := base()
	cfg.FAPI = "2.0"
	c, err := client.New(cfg)
	if err != nil {
		t.Fatalf("FAPI 2.0 with a certificate: %v", err)
	}
	if _, err := c.Transport(roundTripFunc(nil)); !errors.Is(err, fail.ClientConfig) {
		t.Errorf("Transport of a custom RoundTripper: %v, want fail.ClientConfig", err)
	}
	tr, err := c.Transport(nil)
	if ht, ok := tr.(*http.Transport); err != nil || !ok || ht.TLSClientConfig.GetClientCertificate == nil || ht == http.DefaultTransport {
		t.Errorf("Transport(nil): %T %v, want a copy of the default transport with the certificate", tr, err)
	}
	plain, _ := client.New(client.Config{Provider: discovered, ClientID: "c", ClientSecret: "s", RedirectURL: "https://app.example/auth/callback"})
	if tr, err := plain.Transport(nil); tr != nil || err != nil {
		t.Errorf("Transport without a certificate: %v %v, want nil (the default) as given", tr, err)
	}
	if _, err := client.NewProvider("p", client.WithMTLSAliases(client.Endpoints{AuthURL: "https://p.example/a", TokenURL: "https://p.example/t"},
		map[string]string{"token_endpoint": "http://mtls.p.example/t"})); !errors.Is(err, fail.ClientConfig) {
		t.Errorf("an http alias: %v, want ErrConfig", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// selfSigned is a self-signed client certificate.
func selfSigned(t *testing.T) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
