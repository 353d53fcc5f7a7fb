package middleware_test

import (
	"net/http"
	"testing"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// TestAppsSharingKeysRefuseEachOther (attack review, finding 7): two apps
// with the same SESSION_KEYS and cookie names (staging and production, say,
// on one provider with one client ID) accepted each other's sessions, and
// with them the values their OnSignIn hooks kept. Sealed sessions are bound
// to the app (its origin and client ID): the other app's cookie is "not
// signed in". With cookies and with a shared Redis.
func TestAppsSharingKeysRefuseEachOther(t *testing.T) {
	for _, store := range []string{"cookie", "redis"} {
		t.Run(store, func(t *testing.T) {
			keys := [][]byte{testenv.NewKey()}
			var redis *testenv.Redis
			if store == "redis" {
				redis = testenv.StartRedis(t)
			}
			var first *testenv.Env
			opts := testenv.Options{
				Cookie: func(c *session.CookieConfig) { c.Keys = keys },
				Client: func(c *client.Config) {
					if first == nil {
						return
					}
					// The second app signs in at the first one's provider,
					// with the same client ID.
					prov, err := client.Discover(t.Context(), first.OP.Issuer)
					if err != nil {
						t.Fatal(err)
					}
					c.Provider = prov
					first.OP.AddRedirect(testenv.ClientID, c.RedirectURL)
				},
				Middleware: func(c *middleware.Config) {
					if redis == nil {
						return
					}
					rc := redis.Client()
					t.Cleanup(func() { rc.Close() })
					st, err := redisstore.New(redisstore.Config{Client: rc, Keys: keys})
					if err != nil {
						t.Fatal(err)
					}
					c.Store = st
				},
			}
			first = testenv.New(t, opts)
			second := testenv.New(t, opts)
			hc := testenv.Browser()
			first.SignIn(t, hc, "/profile")
			if who := whoami(t, hc, first.App.URL); who == "anonymous" {
				t.Fatal("not signed in at the first app")
			}
			// The browser sends the first app's cookies to the second
			// (same host, another port), as a copied cookie would be.
			if who := whoami(t, hc, second.App.URL); who != "anonymous" {
				t.Errorf("the second app accepted the first one's session: %q", who)
			}
			// Control: the second app's own sign-in works.
			hc2 := testenv.Browser()
			resp, _ := get(t, hc2, second.App.URL+"/profile")
			cb, err := first.OP.Login(hc2, resp.Header.Get("Location"), devprovider.DemoUser)
			if err != nil {
				t.Fatal(err)
			}
			if resp, body := get(t, hc2, cb.String()); resp.StatusCode != http.StatusFound {
				t.Fatalf("the second app's callback: %d %s", resp.StatusCode, body)
			}
			if who := whoami(t, hc2, second.App.URL); who == "anonymous" {
				t.Error("the second app's own sign-in failed")
			}
		})
	}
}
