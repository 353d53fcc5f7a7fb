package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	"github.com/confidant-go/confidant/client"
)

// TestFAPIRefusals: the FAPI 2.0 profile refuses at New each setting it
// forbids, with an ErrConfig that names it; a compliant configuration is
// accepted and gets PAR (and, with message signing, JAR and JARM).
func TestFAPIRefusals(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	discovered, _ := client.Keycloak("https://sso.example.com", "r") // discovered on first use: no request here
	byHand, _ := client.NewProvider("p", client.Endpoints{Issuer: "https://p.example", AuthURL: "https://p.example/a", TokenURL: "https://p.example/t",
		JWKSURL: "https://p.example/k"}, nil)
	tenants, _ := client.Discover(context.Background(), "http://127.0.0.1:1", client.WithTenants("t1"))
	entra, _ := client.Entra("72f988bf-86f1-41af-91ab-2d7cd011db47")
	good := func() client.Config {
		return client.Config{Provider: discovered, ClientID: "c", RedirectURL: "https://app.example/auth/callback",
			PrivateKey: ec, DPoP: true, FAPI: "2.0"}
	}
	for _, tc := range []struct {
		name   string
		adjust func(*client.Config)
		says   string
	}{
		{"a client secret", func(c *client.Config) { c.ClientSecret = "s" }, "ClientSecret"},
		{"no key", func(c *client.Config) { c.PrivateKey = nil }, "PrivateKey"},
		{"RS256", func(c *client.Config) { c.PrivateKey, c.PrivateKeyAlg = rs, "RS256" }, "PS256"},
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
		if !errors.Is(err, client.ErrConfig) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want ErrConfig naming %s", tc.name, err, tc.says)
		}
	}
	for _, profile := range []string{"2.0", "2.0-message-signing"} {
		cfg := good()
		cfg.FAPI = profile
		c, err := client.New(cfg)
		if err != nil {
			t.Fatalf("%s: %v", profile, err)
		}
		if want := map[string]string{"2.0": "", "2.0-message-signing": "jwt"}[profile]; c.ResponseMode() != want {
			t.Errorf("%s: ResponseMode %q, want %q", profile, c.ResponseMode(), want)
		}
	}
	cfg := good()
	cfg.PrivateKey = rs // no alg named: PS256 under the profile
	if _, err := client.New(cfg); err != nil {
		t.Errorf("an RSA key: %v", err)
	}
}
