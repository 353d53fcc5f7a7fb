package middleware_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// TestRefusedSignInRevokesTokens (attack review, finding 7): a sign-in
// refused after the provider issued its tokens left them live at the
// provider, held by no session: OnSignIn refusing, a session that cannot
// be saved, an ID token that fails the app's requirement. Each now revokes
// what was issued (the refresh token, and with it its access token).
func TestRefusedSignInRevokesTokens(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(*client.Config)
		mw     func(*middleware.Config)
		want   error
	}{
		{"OnSignIn refuses", nil, func(c *middleware.Config) {
			c.OnSignIn = func(context.Context, *middleware.SignedIn) error { return errors.New("blocked account") }
		}, fail.SignInRefused},
		{"session cannot be saved", nil, func(c *middleware.Config) {
			c.OnSignIn = func(_ context.Context, in *middleware.SignedIn) error {
				in.Values["huge"] = strings.Repeat("x", 64<<10) // over any cookie budget
				return nil
			}
		}, session.ErrTooLarge},
		{"ID token without the required acr", func(c *client.Config) { c.AuthParams = url.Values{"acr_values": {"urn:mfa"}} }, nil,
			client.ErrInsufficientAuthentication},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec recordingErrors
			var mu sync.Mutex
			var issued []string
			env := testenv.New(t, testenv.Options{Client: tc.client, Middleware: func(c *middleware.Config) {
				rec.install(c)
				if tc.mw != nil {
					tc.mw(c)
				}
			}})
			env.OP.SetTokenHook(func(m map[string]any) {
				mu.Lock()
				defer mu.Unlock()
				if rt, _ := m["refresh_token"].(string); rt != "" {
					issued = append(issued, rt)
				}
			})
			hc := testenv.Browser()
			cb := env.ProviderLogin(t, hc, env.StartLogin(t, hc, "/profile"))
			resp, err := hc.Get(cb.String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode < 400 || !errors.Is(rec.last(), tc.want) {
				t.Fatalf("callback: %d (%v), want refused with %v", resp.StatusCode, rec.last(), tc.want)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(issued) != 1 {
				t.Fatalf("%d refresh tokens issued, want 1", len(issued))
			}
			if env.OP.RefreshTokenValid(issued[0]) {
				t.Error("the refused sign-in's refresh token is still live at the provider")
			}
		})
	}
}
