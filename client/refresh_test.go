package client_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
)

// signIn returns a client with a settable clock and a fresh sign-in result.
func signIn(t *testing.T, op *devprovider.Provider, now *time.Time, mu *sync.Mutex) (*client.Client, *client.Result) {
	t.Helper()
	prov, err := client.Discover(context.Background(), op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: clientID, ClientSecret: secret, RedirectURL: redirect,
		Scopes: []string{"openid", "profile", "offline_access"},
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return *now
		}})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := c.NewLogin(context.Background(), nil)
	cb, err := op.Login(http.DefaultClient, l.URL, devprovider.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Exchange(context.Background(), cb.Query().Get("code"), l)
	if err != nil {
		t.Fatal(err)
	}
	return c, res
}

// TestStandaloneTokenSource: a background job's token source refreshes
// once however many goroutines ask, reports the rotated token for
// persistence, and reports a revoked refresh token as fail.RefreshRevoked.
func TestStandaloneTokenSource(t *testing.T) {
	op := startOP(t)
	var mu sync.Mutex
	now := time.Now()
	c, res := signIn(t, op, &now, &mu)

	var persisted []*oauth2.Token
	var pmu sync.Mutex
	ts := c.TokenSource(context.Background(), client.TokenSourceConfig{
		Token:    res.Token,
		Previous: client.Previous{Issuer: res.Issuer, Subject: res.User.Subject},
		OnRefresh: func(tok *oauth2.Token) error {
			pmu.Lock()
			defer pmu.Unlock()
			persisted = append(persisted, tok)
			return nil
		},
	})
	before := op.Count(devprovider.PathToken)
	tok, err := ts.Token()
	if err != nil || tok.AccessToken != res.Token.AccessToken || op.Count(devprovider.PathToken) != before {
		t.Fatalf("fresh token: %v, refreshed=%v", err, op.Count(devprovider.PathToken) != before)
	}

	mu.Lock()
	now = now.Add(10 * time.Minute)
	mu.Unlock()
	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := ts.Token()
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = tok.AccessToken
		}()
	}
	wg.Wait()
	if n := op.Count(devprovider.PathToken) - before; n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	if len(persisted) != 1 || persisted[0].RefreshToken == res.Token.RefreshToken || persisted[0].AccessToken != got[0] {
		t.Fatalf("persisted %d tokens; want the one rotated token", len(persisted))
	}
	for _, g := range got {
		if g != got[0] {
			t.Error("goroutines got different tokens")
		}
	}
	if op.RefreshTokenValid(res.Token.RefreshToken) || !op.RefreshTokenValid(persisted[0].RefreshToken) {
		t.Error("the provider should honour only the rotated refresh token")
	}

	if err := c.Revoke(context.Background(), &oauth2.Token{RefreshToken: persisted[0].RefreshToken}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(10 * time.Minute)
	mu.Unlock()
	if _, err := ts.Token(); !errors.Is(err, fail.RefreshRevoked) {
		t.Errorf("revoked: %v, want fail.RefreshRevoked", err)
	}
}

func TestRefreshChecksIdentity(t *testing.T) {
	op := startOP(t)
	var mu sync.Mutex
	now := time.Now()
	c, res := signIn(t, op, &now, &mu)
	_, err := c.Refresh(context.Background(), res.Token.RefreshToken, client.Previous{Issuer: res.Issuer, Subject: "another-user"})
	if !errors.Is(err, fail.IdentityChanged) {
		t.Fatalf("err %v, want fail.IdentityChanged", err)
	}
	if _, err := c.Refresh(context.Background(), "", client.Previous{}); !errors.Is(err, fail.NoRefreshToken) {
		t.Errorf("no refresh token: %v", err)
	}
}

// TestTokenSourceLeewayCap pins a bug: TokenSourceConfig.Leeway promised a
// cap at half the token's lifetime that never applied (the issue time was
// always unknown), so a leeway longer than the token's lifetime refreshed
// on every call. The starting token's ExpiresIn and each refresh's time now
// give the lifetime.
func TestTokenSourceLeewayCap(t *testing.T) {
	op := startOP(t)
	var mu sync.Mutex
	now := time.Now()
	c, res := signIn(t, op, &now, &mu)
	if res.Token.ExpiresIn <= 0 {
		t.Fatalf("the token response's expires_in is not kept: ExpiresIn %d", res.Token.ExpiresIn)
	}
	life := time.Duration(res.Token.ExpiresIn) * time.Second
	ts := c.TokenSource(context.Background(), client.TokenSourceConfig{Token: res.Token, Leeway: 2 * life,
		Previous: client.Previous{Issuer: res.Issuer, Subject: res.User.Subject}})
	before := op.Count(devprovider.PathToken)
	advance := func(d time.Duration) {
		mu.Lock()
		now = now.Add(d)
		mu.Unlock()
	}
	for _, step := range []struct {
		wait time.Duration
		want int // token requests so far
	}{
		{0, 0},                      // fresh: not due, although Leeway exceeds the lifetime
		{life/2 - time.Second, 0},   // still in the first half
		{2 * time.Second, 1},        // past half: refreshed
		{0, 1},                      // the refreshed token is fresh
		{life / 4, 1},               // and stays so for half its lifetime
		{life/4 + 2*time.Second, 2}, // then is refreshed once
	} {
		advance(step.wait)
		if _, err := ts.Token(); err != nil {
			t.Fatal(err)
		}
		if n := op.Count(devprovider.PathToken) - before; n != step.want {
			t.Fatalf("after %v more: %d token requests, want %d", step.wait, n, step.want)
		}
	}
}
