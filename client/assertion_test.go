package client_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/confidant-go/confidant/client"
)

// TestPrivateKeyConfig: keys and algorithms that cannot make a valid
// assertion are refused by New, naming the reason.
func TestPrivateKeyConfig(t *testing.T) {
	prov, _ := client.NewProvider("p", client.Endpoints{Issuer: "https://p.example/", AuthURL: "https://p.example/a",
		TokenURL: "https://p.example/t", JWKSURL: "https://p.example/k"}, nil)
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
				PrivateKey: tc.key, PrivateKeyAlg: tc.alg, AuthStyle: tc.style})
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, client.ErrConfig)) {
				t.Errorf("New: %v, want ok=%v (or ErrConfig)", err, tc.ok)
			}
		})
	}
}
