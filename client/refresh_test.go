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
	res, err := c.Callback(context.Background(), cb.Query(), l)
	if err != nil {
		t.Fatal(err)
	}
	return c, res
}

// TestStandaloneTokenSource: a background job's token source refreshes
// once however many goroutines ask, hands every one the rotated refresh
// token to persist, and reports a revoked refresh token as
// ErrRefreshRevoked.
func TestStandaloneTokenSource(t *testing.T) {
	op := startOP(t)
	var mu sync.Mutex
	now := time.Now()
	c, res := signIn(t, op, &now, &mu)

	ts := c.TokenSource(context.Background(), res)
	before := op.Count(devprovider.PathToken)
	tok, err := ts.Token()
	if err != nil || tok.AccessToken != res.Token.AccessToken || op.Count(devprovider.PathToken) != before {
		t.Fatalf("fresh token: %v, refreshed=%v", err, op.Count(devprovider.PathToken) != before)
	}

	mu.Lock()
	now = now.Add(10 * time.Minute)
	mu.Unlock()
	var wg sync.WaitGroup
	got := make([]*oauth2.Token, 20)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := ts.Token()
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = tok
		}()
	}
	wg.Wait()
	if n := op.Count(devprovider.PathToken) - before; n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	if got[0].RefreshToken == res.Token.RefreshToken {
		t.Fatal("the refreshed token does not carry the rotated refresh token")
	}
	for _, g := range got {
		if g.AccessToken != got[0].AccessToken || g.RefreshToken != got[0].RefreshToken {
			t.Error("goroutines got different tokens")
		}
	}
	persisted := got
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

// TestRefreshResult: Refresh takes the Result of the sign-in and returns
// one to refresh with next: the rotated refresh token, the identity kept
// (a new ID token verified against it), and the old refresh token dead.
func TestRefreshResult(t *testing.T) {
	op := startOP(t)
	var mu sync.Mutex
	now := time.Now()
	c, res := signIn(t, op, &now, &mu)
	r1, err := c.Refresh(context.Background(), res)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Token.RefreshToken == res.Token.RefreshToken || r1.User.Subject != res.User.Subject || r1.IDToken == "" || r1.Issuer != res.Issuer {
		t.Fatalf("refreshed: rotated %v, subject %q, ID token %v, issuer %q", r1.Token.RefreshToken != res.Token.RefreshToken,
			r1.User.Subject, r1.IDToken != "", r1.Issuer)
	}
	r2, err := c.Refresh(context.Background(), r1)
	if err != nil {
		t.Fatalf("refreshing the refreshed result: %v", err)
	}
	forged := *r2
	forged.User.Subject = "another-user"
	if _, err := c.Refresh(context.Background(), &forged); !errors.Is(err, fail.IdentityChanged) {
		t.Errorf("another subject: %v, want ErrIdentityChanged", err)
	}
	if _, err := c.Refresh(context.Background(), &client.Result{}); !errors.Is(err, fail.NoRefreshToken) {
		t.Errorf("no refresh token: %v", err)
	}
}

func TestRefreshChecksIdentity(t *testing.T) {
	op := startOP(t)
	var mu sync.Mutex
	now := time.Now()
	c, res := signIn(t, op, &now, &mu)
	_, err := client.RefreshWith(c, context.Background(), res.Token.RefreshToken, client.Previous{Issuer: res.Issuer, Subject: "another-user"})
	if !errors.Is(err, fail.IdentityChanged) {
		t.Fatalf("err %v, want ErrIdentityChanged", err)
	}
	if _, err := client.RefreshWith(c, context.Background(), "", client.Previous{}); !errors.Is(err, fail.NoRefreshToken) {
		t.Errorf("no refresh token: %v", err)
	}
}

// TestTokenSourceLeewayCap pins a bug: the token source's leeway promised
// a cap at half the token's lifetime that never applied (the issue time
// was always unknown), so a leeway longer than the token's lifetime (here
// the minute's, with 40-second tokens) refreshed on every call. The
// starting token's ExpiresIn and each refresh's time now give the
// lifetime.
func TestTokenSourceLeewayCap(t *testing.T) {
	op, err := devprovider.Start(devprovider.Config{AccessTokenLifetime: 40 * time.Second,
		Clients: []devprovider.Client{{ID: clientID, Secret: secret, Redirects: []string{redirect}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	var mu sync.Mutex
	now := time.Now()
	c, res := signIn(t, op, &now, &mu)
	if res.Token.ExpiresIn <= 0 {
		t.Fatalf("the token response's expires_in is not kept: ExpiresIn %d", res.Token.ExpiresIn)
	}
	life := time.Duration(res.Token.ExpiresIn) * time.Second
	if life >= 2*time.Minute {
		t.Fatalf("tokens of %v: the minute's leeway is not capped", life)
	}
	ts := c.TokenSource(context.Background(), res)
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
		{0, 0},                      // fresh: not due, although the leeway exceeds the lifetime
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
