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
	"github.com/confidant-go/confidant/internal/testop"
)

// signIn returns a client with a settable clock and a fresh sign-in result.
func signIn(t *testing.T, op *testop.Provider, now *time.Time, mu *sync.Mutex) (*client.Client, *client.Result) {
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
	cb, err := op.Login(http.DefaultClient, l.URL, testop.DemoUser)
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
// persistence, and reports a revoked refresh token as ErrRefreshRevoked.
func TestStandaloneTokenSource(t *testing.T) {
	op := startOP(t)
	var mu sync.Mutex
	now := time.Now()
	c, res := signIn(t, op, &now, &mu)

	var persisted []*oauth2.Token
	var pmu sync.Mutex
	ts := c.TokenSource(context.Background(), client.TokenSourceConfig{
		Token:    res.Token,
		Previous: client.Previous{Issuer: res.Issuer, Subject: res.Identity.Subject},
		OnRefresh: func(tok *oauth2.Token) error {
			pmu.Lock()
			defer pmu.Unlock()
			persisted = append(persisted, tok)
			return nil
		},
	})
	before := op.Count(testop.PathToken)
	tok, err := ts.Token()
	if err != nil || tok.AccessToken != res.Token.AccessToken || op.Count(testop.PathToken) != before {
		t.Fatalf("fresh token: %v, refreshed=%v", err, op.Count(testop.PathToken) != before)
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
	if n := op.Count(testop.PathToken) - before; n != 1 {
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

	if err := c.Revoke(context.Background(), persisted[0].RefreshToken, "refresh_token"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(10 * time.Minute)
	mu.Unlock()
	if _, err := ts.Token(); !errors.Is(err, client.ErrRefreshRevoked) {
		t.Errorf("revoked: %v, want ErrRefreshRevoked", err)
	}
}

func TestRefreshChecksIdentity(t *testing.T) {
	op := startOP(t)
	var mu sync.Mutex
	now := time.Now()
	c, res := signIn(t, op, &now, &mu)
	_, err := c.Refresh(context.Background(), res.Token.RefreshToken, client.Previous{Issuer: res.Issuer, Subject: "another-user"})
	if !errors.Is(err, client.ErrIdentityChanged) {
		t.Fatalf("err %v, want ErrIdentityChanged", err)
	}
	if _, err := c.Refresh(context.Background(), "", client.Previous{}); !errors.Is(err, client.ErrNoRefreshToken) {
		t.Errorf("no refresh token: %v", err)
	}
}

func TestDue(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name           string
		now            time.Time
		issued, expiry time.Time
		want           bool
	}{
		{"fresh hour token", t0, t0, t0.Add(time.Hour), false},
		{"within leeway", t0.Add(59*time.Minute + 30*time.Second), t0, t0.Add(time.Hour), true},
		{"expired", t0.Add(2 * time.Hour), t0, t0.Add(time.Hour), true},
		{"short token, not yet half", t0.Add(20 * time.Second), t0, t0.Add(60 * time.Second), false},
		{"short token, past half", t0.Add(31 * time.Second), t0, t0.Add(60 * time.Second), true},
		{"unknown issue time", t0.Add(59*time.Minute + 30*time.Second), time.Time{}, t0.Add(time.Hour), true},
		{"no expiry", t0, t0, time.Time{}, false},
	}
	for _, tc := range cases {
		if got := client.Due(tc.now, tc.issued, tc.expiry, time.Minute); got != tc.want {
			t.Errorf("%s: Due = %v, want %v", tc.name, got, tc.want)
		}
	}
}
