package middleware_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// TestDenyListAcrossSkewedClocks (attack review, finding 7): the deny
// list compared the time one instance recorded a sign-out at with the time
// another instance made the session, by their own clocks: a session made
// on an instance whose clock runs a minute ahead survived its sign-out on
// another instance (its CreatedAt was "after" the sign-out), as did every
// copy of its cookie. A sign-out of one session, and a back-channel logout
// of one provider session (sid), now deny every session they name,
// whatever the clocks.
func TestDenyListAcrossSkewedClocks(t *testing.T) {
	for _, how := range []string{"sign-out", "back-channel logout with sid"} {
		t.Run(how, func(t *testing.T) {
			op, err := devprovider.Start(devprovider.Config{Clients: []devprovider.Client{{ID: "app", Secret: "app-secret"}}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(op.Close)
			// The provider session's sid in the ID token, as providers
			// with back-channel logout put it.
			op.SetTokenHook(func(m map[string]any) {
				raw, _ := m["id_token"].(string)
				parts := strings.Split(raw, ".")
				var claims map[string]any
				if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil && json.Unmarshal(b, &claims) == nil {
					claims["sid"] = "provider-session-1"
					m["id_token"] = op.Sign(claims)
				}
			})
			keys := [][]byte{testenv.NewKey()}
			deny := &session.MemoryDenyList{} // shared, as redisstore.DenyList is
			var public string
			instance := func(skew time.Duration) *testenv.App {
				return testenv.NewApp(t, nil, func(appURL string) middleware.Config {
					if public == "" {
						public = appURL
						op.AddRedirect("app", public+"/auth/callback")
					}
					prov, err := client.Discover(t.Context(), op.Issuer, client.WithName("op"))
					if err != nil {
						t.Fatal(err)
					}
					c, err := client.New(client.Config{Provider: prov, ClientID: "app", ClientSecret: "app-secret",
						RedirectURL: public + "/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}})
					if err != nil {
						t.Fatal(err)
					}
					now := func() time.Time { return time.Now().Add(skew) }
					store, err := session.NewCookieStore(session.CookieConfig{Keys: keys, Now: now})
					if err != nil {
						t.Fatal(err)
					}
					return middleware.Config{Clients: []*client.Client{c}, Store: store, DenyList: deny, Now: now}
				})
			}
			behind := instance(0)          // signs the user out
			ahead := instance(time.Minute) // makes the session

			hc := testenv.Browser()
			resp, _ := get(t, hc, ahead.URL+"/profile")
			cb, err := op.Login(hc, resp.Header.Get("Location"), devprovider.DemoUser)
			if err != nil {
				t.Fatal(err)
			}
			// The callback at the app's public address is instance
			// "behind"; the session is made by instance "ahead": send the
			// callback there.
			cbAhead := ahead.URL + cb.RequestURI()
			if resp, body := get(t, hc, cbAhead); resp.StatusCode != http.StatusFound {
				t.Fatalf("callback: %d %s", resp.StatusCode, body)
			}
			stolen := hc.Jar.Cookies(mustURL(ahead.URL))
			sess, err := testenv.LoadCookies(ahead.Store, stolen)
			if err != nil {
				t.Fatal(err)
			}
			switch how {
			case "sign-out":
				resp, err := hc.Post(behind.URL+"/auth/logout", "", nil)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			default:
				if sess.SID == "" {
					t.Fatal("the session has no sid")
				}
				cl := logoutClaims(op, "", sess.SID)
				cl["aud"] = []string{"app"}
				if status := postLogout(t, behind.URL, op.Sign(cl)); status != http.StatusOK {
					t.Fatalf("logout token: %d", status)
				}
			}
			copyOf := testenv.Browser()
			copyOf.Jar.SetCookies(mustURL(ahead.URL), stolen)
			for name, app := range map[string]*testenv.App{"ahead": ahead, "behind": behind} {
				if who := whoami(t, copyOf, app.URL); who != "anonymous" {
					t.Errorf("a copy of the cookie at the instance %s: %q, want anonymous", name, who)
				}
			}
		})
	}
}
