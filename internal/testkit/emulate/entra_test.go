package emulate_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
)

// TestEntraAssertionClaims: the Entra emulator takes a client assertion
// only with every claim "Certificate credentials" requires (aud, exp,
// nbf, iss, sub, jti) and valid times, as Entra does: one without exp or
// nbf (accepted before, issue 34), or with any other of them missing or
// wrong, is invalid_client; the complete one passes client authentication
// (the made-up code is then invalid_grant).
func TestEntraAssertionClaims(t *testing.T) {
	const tid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	cert, _ := x509.ParseCertificate(der)
	hosts := &emulate.Hosts{}
	e := emulate.NewEntra(t, hosts, nil, []string{tid}, nil, []devprovider.Client{{ID: "app", Secret: "registered", Redirects: []string{"http://127.0.0.1/cb"}}})
	e.Certs["app"] = cert
	tokenURL := "https://login.microsoftonline.com/common/oauth2/v2.0/token"
	sum := sha256.Sum256(cert.Raw)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.PS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t#S256", base64.RawURLEncoding.EncodeToString(sum[:])))
	if err != nil {
		t.Fatal(err)
	}
	post := func(claims map[string]any) (int, string) {
		payload, _ := json.Marshal(claims)
		obj, err := signer.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := obj.CompactSerialize()
		resp, err := hosts.Client().PostForm(tokenURL, url.Values{"grant_type": {"authorization_code"}, "code": {"made-up"},
			"redirect_uri": {"http://127.0.0.1/cb"}, "client_id": {"app"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Error string `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Error
	}
	complete := func() map[string]any {
		now := time.Now()
		return map[string]any{"aud": tokenURL, "iss": "app", "sub": "app", "jti": rand.Text(),
			"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	}
	for _, tc := range []struct {
		name   string
		change func(map[string]any)
	}{
		{"no exp", func(c map[string]any) { delete(c, "exp") }},
		{"no nbf", func(c map[string]any) { delete(c, "nbf") }},
		{"no aud", func(c map[string]any) { delete(c, "aud") }},
		{"no iss", func(c map[string]any) { delete(c, "iss") }},
		{"no sub", func(c map[string]any) { delete(c, "sub") }},
		{"no jti", func(c map[string]any) { delete(c, "jti") }},
		{"aud the issuer", func(c map[string]any) { c["aud"] = emulate.EntraIssuer(tid) }},
		{"iss another client", func(c map[string]any) { c["iss"] = "other" }},
		{"expired", func(c map[string]any) { c["exp"] = time.Now().Add(-10 * time.Minute).Unix() }},
		{"not yet valid", func(c map[string]any) { c["nbf"] = time.Now().Add(10 * time.Minute).Unix() }},
	} {
		c := complete()
		tc.change(c)
		if status, code := post(c); status != http.StatusUnauthorized || code != "invalid_client" {
			t.Errorf("%s: %d %q, want 401 invalid_client", tc.name, status, code)
		}
	}
	c := complete()
	delete(c, "iat") // optional
	if status, code := post(c); status != http.StatusBadRequest || code != "invalid_grant" {
		t.Errorf("the complete assertion: %d %q, want 400 invalid_grant (authenticated, a made-up code)", status, code)
	}
}
