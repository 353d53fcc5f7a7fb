package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestSecretJWT: a client whose secret is a JWT it signs (Sign in with
// Apple) signs in, refreshes and revokes at a provider that checks the
// secret as Apple does; the secret is renewed once half its lifetime has
// passed, so the provider never sees an expired one; a secret signed by
// another key is refused.
func TestSecretJWT(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	front := httptest.NewUnstartedServer(nil)
	issuer := "http://" + front.Listener.Addr().String()
	op, err := devprovider.New(issuer, devprovider.Config{Now: clock.Now, AccessTokenLifetime: 10 * time.Minute,
		Clients: []devprovider.Client{{ID: "com.example.web", Secret: "registered", Redirects: []string{redirect},
			TokenAuth: "client_secret_post"}}})
	if err != nil {
		t.Fatal(err)
	}
	apple := &emulate.AppleSecrets{Key: key.Public(), KeyID: "ABC123DEFG", TeamID: "DEF123GHIJ", ClientID: "com.example.web",
		Audience: issuer, Registered: "registered", Now: clock.Now, Next: op,
		Paths: []string{devprovider.PathToken, devprovider.PathRevoke}}
	front.Config.Handler = apple
	front.Start()
	t.Cleanup(front.Close)

	newClient := func(k *ecdsa.PrivateKey) *client.Client {
		prov, err := client.Discover(context.Background(), issuer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Config{Provider: prov, ClientID: "com.example.web", RedirectURL: redirect, Now: clock.Now,
			Scopes:    []string{"openid", "email", "offline_access"},
			SecretJWT: &client.SecretJWT{Key: k, KeyID: "ABC123DEFG", Issuer: "DEF123GHIJ", Lifetime: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := newClient(key)
	l, err := c.NewLogin(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := op.Login(http.DefaultClient, l.URL, devprovider.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Callback(context.Background(), cb.Query(), l)
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	prev := client.Previous{Issuer: res.Issuer, Subject: res.User.Subject}
	rt := res.Token.RefreshToken
	for i, step := range []time.Duration{10 * time.Minute, 25 * time.Minute, 20 * time.Minute, 50 * time.Minute} {
		clock.Add(step) // 10, 35, 55, 105 minutes after the first secret
		r, err := client.RefreshWith(c, context.Background(), rt, prev)
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		rt = r.Token.RefreshToken
	}
	if err := c.Revoke(context.Background(), &oauth2.Token{RefreshToken: rt}); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	// Minted at 0, renewed at 35 (past 30) and at 105 (past 65).
	if accepted, refused := apple.Secrets(); accepted != 3 || refused != 0 {
		t.Errorf("%d secrets accepted, %d requests refused; want 3 and 0", accepted, refused)
	}

	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c2 := newClient(other)
	l2, _ := c2.NewLogin(context.Background(), nil)
	cb2, err := op.Login(http.DefaultClient, l2.URL, devprovider.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Callback(context.Background(), cb2.Query(), l2); !errors.Is(err, client.ErrTokenRequest) {
		t.Errorf("a secret signed by another key: %v, want ErrTokenRequest", err)
	}
}

// TestSecretJWTConfig: a SecretJWT without what Apple needs, with a key it
// cannot sign with, or beside a ClientSecret is refused at New.
func TestSecretJWTConfig(t *testing.T) {
	prov, _ := client.NewProvider("p", client.Endpoints{AuthURL: "https://p/a", TokenURL: "https://p/t"})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	good := client.SecretJWT{Key: key, KeyID: "K", Issuer: "T"}
	for _, tc := range []struct {
		name   string
		secret string
		s      client.SecretJWT
		want   string
	}{
		{"no key", "", client.SecretJWT{KeyID: "K", Issuer: "T"}, "SecretJWT.Key"},
		{"no key ID", "", client.SecretJWT{Key: key, Issuer: "T"}, "KeyID"},
		{"no issuer", "", client.SecretJWT{Key: key, KeyID: "K"}, "Issuer"},
		{"too long", "", client.SecretJWT{Key: key, KeyID: "K", Issuer: "T", Lifetime: 200 * 24 * time.Hour}, "Lifetime"},
		{"Ed25519", "", client.SecretJWT{Key: edKey, KeyID: "K", Issuer: "T"}, "SecretJWT.Key"},
		{"P-384", "", client.SecretJWT{Key: p384, KeyID: "K", Issuer: "T"}, "SecretJWT.Key"},
		{"with a client secret", "s", good, "ClientSecret and SecretJWT"},
	} {
		_, err := client.New(client.Config{Provider: prov, ClientID: "c", ClientSecret: tc.secret, RedirectURL: "https://a/cb", SecretJWT: &tc.s})
		if !errors.Is(err, fail.ClientConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want fail.ClientConfig naming %s", tc.name, err, tc.want)
		}
	}
	if _, err := client.New(client.Config{Provider: prov, ClientID: "c", RedirectURL: "https://a/cb", SecretJWT: &good,
		AuthStyle: client.AuthStylePost}); err != nil {
		t.Errorf("a SecretJWT alone, client_secret_post: %v", err)
	}
}
