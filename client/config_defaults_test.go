package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/testkit/configdoc"
)

// TestConfigDefaults: the default each field of Config, PrivateKey and
// SecretJWT states at the end of its comment (the form of package
// configdoc, from which docs/configuration.md is generated) is the one in
// effect in a Client made by New from a Config with only the required
// fields set (with a PrivateKey or a SecretJWT that has only its own);
// and without any one of those, New fails.
func TestConfigDefaults(t *testing.T) {
	structs, err := configdoc.Parse(".", "Config", "PrivateKey", "SecretJWT")
	if err != nil {
		t.Fatal(err)
	}
	config, privateKey, secretJWT := structs[0], structs[1], structs[2]
	prov, err := NewProvider("op", Endpoints{Issuer: "https://op.example.com", AuthURL: "https://op.example.com/authorize",
		TokenURL: "https://op.example.com/token", JWKSURL: "https://op.example.com/jwks"})
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	idents := map[string]any{"time.Now": time.Now, "AuthStyleAuto": AuthStyleAuto,
		// Defaults in words, exactly, for this OpenID Connect provider of
		// no preset and a P-256 key.
		"=Scopes":      []string{"openid", "profile", "email"},
		"=LoginParams": []string{"prompt", "login_hint", "max_age", "acr_values", "ui_locales"},
		"=Alg":         "ES256",
	}
	check := func(s configdoc.Struct, effective any, over map[string]any) {
		t.Helper()
		for _, err := range configdoc.Check(s, effective, over, idents) {
			t.Error(err)
		}
	}
	report := func(errs []error) {
		t.Helper()
		for _, err := range errs {
			t.Error(err)
		}
	}

	c, errs := configdoc.Minimal(config, map[string]func(*Config){
		"Provider":     func(cfg *Config) { cfg.Provider = prov },
		"ClientID":     func(cfg *Config) { cfg.ClientID = "app" },
		"ClientSecret": func(cfg *Config) { cfg.ClientSecret = "secret" },
		"RedirectURL":  func(cfg *Config) { cfg.RedirectURL = "http://localhost:8080/auth/callback" },
	}, New)
	report(errs)
	if c == nil {
		t.FailNow()
	}
	// PARLimit stays 0 in the kept Config: the bound is the bucket's.
	check(config, c.cfg, map[string]any{"PARLimit": c.pushes.rate})

	// PrivateKey, in a client that authenticates with it alone.
	withKey := func(k PrivateKey) (*Client, error) {
		return New(Config{Provider: prov, ClientID: "app", RedirectURL: "http://localhost:8080/auth/callback", PrivateKey: &k})
	}
	c, errs = configdoc.Minimal(privateKey, map[string]func(*PrivateKey){
		"Key": func(k *PrivateKey) { k.Key = key },
	}, withKey)
	report(errs)
	if c == nil {
		t.FailNow()
	}
	// The key as the client keeps it (an assertionSigner), in PrivateKey's fields.
	s := c.signer
	check(privateKey, PrivateKey{Key: s.key, KeyID: s.kid, Alg: string(s.alg), Cert: s.cert}, nil)

	// SecretJWT, in a client that authenticates with it alone.
	withSecret := func(j SecretJWT) (*Client, error) {
		return New(Config{Provider: prov, ClientID: "app", RedirectURL: "http://localhost:8080/auth/callback", SecretJWT: &j})
	}
	c, errs = configdoc.Minimal(secretJWT, map[string]func(*SecretJWT){
		"Key":    func(j *SecretJWT) { j.Key = key },
		"KeyID":  func(j *SecretJWT) { j.KeyID = "KEY1234567" },
		"Issuer": func(j *SecretJWT) { j.Issuer = "TEAM123456" },
	}, withSecret)
	report(errs)
	if c == nil {
		t.FailNow()
	}
	check(secretJWT, c.minter.cfg, nil)
}
