package client_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
)

// fuzzOP answers the token and userinfo endpoints with whatever the fuzzer
// gives it; discovery and JWKS are honest.
type fuzzOP struct {
	srv   *httptest.Server
	key   *rsa.PrivateKey
	mu    sync.Mutex
	token func(w http.ResponseWriter, r *http.Request)
	user  []byte
}

func newFuzzOP(f *testing.F) *fuzzOP {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	op := &fuzzOP{key: k}
	op.srv = httptest.NewServer(op)
	f.Cleanup(op.srv.Close)
	return op
}

func (op *fuzzOP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	iss := op.srv.URL
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "authorization_endpoint": iss + "/a", "token_endpoint": iss + "/t",
			"userinfo_endpoint": iss + "/u", "jwks_uri": iss + "/k", "id_token_signing_alg_values_supported": []string{"RS256"}})
	case "/k":
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &op.key.PublicKey, KeyID: "k", Algorithm: "RS256", Use: "sig"}}})
	case "/t":
		op.mu.Lock()
		f := op.token
		op.mu.Unlock()
		f(w, r)
	case "/u":
		op.mu.Lock()
		b := op.user
		op.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}
}

func (op *fuzzOP) idToken(nonce string) string {
	now := time.Now().Unix()
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: op.key, KeyID: "k"}}, nil)
	p, _ := json.Marshal(map[string]any{"iss": op.srv.URL, "sub": "alice", "aud": "rp", "exp": now + 600, "iat": now, "nonce": nonce})
	obj, _ := signer.Sign(p)
	s, _ := obj.CompactSerialize()
	return s
}

// FuzzTokenResponse: arbitrary token endpoint answers (body and content
// type) never panic and never complete a sign-in.
func FuzzTokenResponse(f *testing.F) {
	op := newFuzzOP(f)
	prov, err := client.Discover(context.Background(), op.srv.URL)
	if err != nil {
		f.Fatal(err)
	}
	c, _ := client.New(client.Config{Provider: prov, ClientID: "rp", ClientSecret: "s", RedirectURL: "http://127.0.0.1:1/cb"})
	for _, seed := range []struct{ ct, body string }{
		{"application/json", `{"access_token":"a","token_type":"Bearer","expires_in":3600,"id_token":"x.y.z"}`},
		{"application/json", `{"access_token":"a","id_token":"eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0."}`},
		{"application/x-www-form-urlencoded", "access_token=a&id_token=b.c.d"},
		{"text/html", "<html>"},
		{"application/json", `{"error":"invalid_grant"}`},
		{"application/json", `{"access_token":"a","expires_in":-1e308,"id_token":7}`},
	} {
		f.Add(seed.ct, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		op.mu.Lock()
		op.token = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			w.Write(body)
		}
		op.mu.Unlock()
		l, err := c.NewLogin(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Callback(context.Background(), url.Values{"code": {"code"}, "state": {l.State}}, l)
		if err == nil {
			t.Fatalf("signed in from a forged token response: %+v", res.User)
		}
		// Every failure is one a caller can tell apart, as Exchange
		// documents: refused (a *TokenError), unavailable, or a token
		// that does not verify.
		var te *client.TokenError
		documented := errors.As(err, &te)
		for _, kind := range []error{client.ErrProviderUnavailable, fail.NoIDToken, client.ErrInvalidIDToken,
			fail.NonceMismatch, fail.AccessTokenHash} {
			documented = documented || errors.Is(err, kind)
		}
		if !documented {
			t.Fatalf("an undocumented kind of error: %v", err)
		}
	})
}

// FuzzUserInfo: arbitrary userinfo answers after a valid ID token never
// panic, and are accepted only when they are about the same subject.
func FuzzUserInfo(f *testing.F) {
	op := newFuzzOP(f)
	prov, err := client.Discover(context.Background(), op.srv.URL)
	if err != nil {
		f.Fatal(err)
	}
	c, _ := client.New(client.Config{Provider: prov, ClientID: "rp", ClientSecret: "s", RedirectURL: "http://127.0.0.1:1/cb", FetchUserInfo: true})
	for _, s := range []string{`{"sub":"alice","email":"a@example.com"}`, `{"sub":"mallory"}`, `{}`, `[]`, `null`, `{"sub":1}`,
		`{"sub":"alice","email_verified":"true"}`, "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := c.NewLogin(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		op.mu.Lock()
		op.user = body
		op.token = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 60, "id_token": op.idToken(l.Nonce)})
		}
		op.mu.Unlock()
		res, err := c.Callback(context.Background(), url.Values{"code": {"code"}, "state": {l.State}}, l)
		if err != nil {
			return
		}
		var ui struct {
			Sub string `json:"sub"`
		}
		if json.Unmarshal(body, &ui) != nil || ui.Sub != "alice" || res.User.Subject != "alice" {
			t.Fatalf("accepted userinfo %q", body)
		}
	})
}
