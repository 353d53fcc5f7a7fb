package client_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
)

// docOP serves a discovery document and a JWKS the fuzzer writes (ISSUER
// in them stands for its own URL), and an honest token endpoint whose ID
// tokens are signed with key (kid "k").
type docOP struct {
	srv       *httptest.Server
	key       *rsa.PrivateKey
	mu        sync.Mutex
	doc, jwks []byte
	nonce     string
}

func newDocOP(f *testing.F) *docOP {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	op := &docOP{key: k}
	op.srv = httptest.NewServer(op)
	f.Cleanup(op.srv.Close)
	return op
}

func (op *docOP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	doc, jwks, nonce := op.doc, op.jwks, op.nonce
	op.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		w.Write([]byte(strings.ReplaceAll(string(doc), "ISSUER", op.srv.URL)))
	case "/k":
		w.Write([]byte(strings.ReplaceAll(string(jwks), "ISSUER", op.srv.URL)))
	case "/t":
		now := time.Now().Unix()
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: op.key, KeyID: "k"}}, nil)
		p, _ := json.Marshal(map[string]any{"iss": op.srv.URL, "sub": "alice", "aud": "rp", "exp": now + 600, "iat": now, "nonce": nonce})
		obj, _ := signer.Sign(p)
		idt, _ := obj.CompactSerialize()
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 60, "id_token": idt})
	}
}

func (op *docOP) set(doc, jwks []byte) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.doc, op.jwks = doc, jwks
}

// FuzzDiscovery: discovery documents the fuzzer writes. Discovery
// succeeds only for a document that names exactly this issuer and the
// endpoints it gives, and fails otherwise with a documented kind
// (fail.Discovery, ErrProviderUnavailable); the endpoints found are the
// document's.
func FuzzDiscovery(f *testing.F) {
	op := newDocOP(f)
	f.Add([]byte(`{"issuer":"ISSUER","authorization_endpoint":"ISSUER/a","token_endpoint":"ISSUER/t","jwks_uri":"ISSUER/k"}`))
	f.Add([]byte(`{"issuer":"ISSUER/","authorization_endpoint":"ISSUER/a","token_endpoint":"ISSUER/t","jwks_uri":"ISSUER/k"}`))
	f.Add([]byte(`{"issuer":"ISSUER","authorization_endpoint":7,"token_endpoint":"ISSUER/t"}`))
	f.Add([]byte(`{"issuer":"ISSUER","authorization_endpoint":"javascript:alert(1)","token_endpoint":"ISSUER/t","jwks_uri":"ISSUER/k","id_token_signing_alg_values_supported":["none","HS256"]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		op.set(doc, nil)
		prov, err := client.Discover(context.Background(), op.srv.URL)
		var ep client.Endpoints
		if err == nil {
			ep, err = prov.Endpoints(context.Background())
		}
		var m struct {
			Issuer string `json:"issuer"`
			Auth   string `json:"authorization_endpoint"`
			Token  string `json:"token_endpoint"`
		}
		parsed := json.Unmarshal([]byte(strings.ReplaceAll(string(doc), "ISSUER", op.srv.URL)), &m) == nil
		switch {
		case err != nil && !errors.Is(err, fail.Discovery) && !errors.Is(err, client.ErrProviderUnavailable):
			t.Fatalf("discovery failed with an undocumented kind: %v", err)
		case err == nil && (!parsed || m.Issuer != op.srv.URL):
			t.Fatalf("discovered a document that does not name this issuer: %s", doc)
		case err == nil && (ep.Issuer != op.srv.URL || ep.AuthURL != m.Auth || ep.TokenURL != m.Token):
			t.Fatalf("endpoints %+v are not the document's: %s", ep, doc)
		}
	})
}

// FuzzJWKS: key sets the fuzzer writes, with an ID token signed by the
// provider's real key. A sign-in succeeds only when the set holds that
// key (its modulus), and fails otherwise with a documented kind.
func FuzzJWKS(f *testing.F) {
	op := newDocOP(f)
	doc := []byte(`{"issuer":"ISSUER","authorization_endpoint":"ISSUER/a","token_endpoint":"ISSUER/t","jwks_uri":"ISSUER/k","id_token_signing_alg_values_supported":["RS256"]}`)
	real, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &op.key.PublicKey, KeyID: "k", Algorithm: "RS256", Use: "sig"}}})
	n := base64.RawURLEncoding.EncodeToString(op.key.PublicKey.N.Bytes())
	f.Add(real)
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"k","n":"` + n + `","e":"AQAB","alg":"HS256"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0"}]}`))
	f.Add([]byte(`{"keys":[]}`))
	f.Fuzz(func(t *testing.T, jwks []byte) {
		op.set(doc, jwks)
		prov, err := client.Discover(context.Background(), op.srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Config{Provider: prov, ClientID: "rp", ClientSecret: "s", RedirectURL: "http://127.0.0.1:1/cb"})
		if err != nil {
			t.Fatal(err)
		}
		l, err := c.NewLogin(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		op.mu.Lock()
		op.nonce = l.Nonce
		op.mu.Unlock()
		_, err = c.Callback(context.Background(), url.Values{"code": {"code"}, "state": {l.State}}, l)
		switch {
		case err == nil && !strings.Contains(string(jwks), n):
			t.Fatalf("an ID token verified with a key set that lacks the provider's key: %s", jwks)
		case err != nil && !errors.Is(err, client.ErrInvalidIDToken) && !errors.Is(err, client.ErrProviderUnavailable) && !errors.Is(err, fail.Discovery):
			t.Fatalf("refusal of an undocumented kind: %v", err)
		}
	})
}
