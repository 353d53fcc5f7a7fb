package middleware_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/testkit/certop"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// cookieInstances are app instances keeping sessions in cookies with the
// same keys, behind one address that sends each request to a random one
// (a load balancer), signed in through oidc-provider (refresh tokens
// rotated at every use, a reuse revokes the grant).
type cookieInstances struct {
	op  *certop.Provider
	url string
}

func newCookieInstances(t *testing.T, n int, clock *testenv.Clock, denyList func() session.DenyList) *cookieInstances {
	lb := httptest.NewUnstartedServer(nil)
	ci := &cookieInstances{url: "http://" + lb.Listener.Addr().String()}
	ci.op = certop.Start(t, certop.Config{AccessTokenTTL: 60, Clients: []certop.Client{{ID: "app", Secret: "app-secret-value-never-logged",
		RedirectURIs: []string{ci.url + "/auth/callback"}, PostLogoutRedirectURIs: []string{ci.url + "/"}}}})
	keys := [][]byte{testenv.NewKey()}
	var instances []http.Handler
	for range n {
		prov, err := client.Discover(t.Context(), ci.op.Issuer, client.WithName("certified"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Config{Provider: prov, ClientID: "app", ClientSecret: "app-secret-value-never-logged", Now: clock.Now,
			RedirectURL: ci.url + "/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}})
		if err != nil {
			t.Fatal(err)
		}
		store, err := session.NewCookieStore(session.CookieConfig{Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		// As the README says: the same keys everywhere, and the deny
		// list in Redis.
		auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, DenyList: denyList(), Now: clock.Now,
			APIs:   []middleware.API{{Name: "userinfo", BaseURL: ci.op.Issuer + "/me"}},
			Logger: testenv.CollectLogger(), OnEvent: testenv.CollectEvent})
		if err != nil {
			t.Fatal(err)
		}
		instances = append(instances, testenv.Routes(auth, func(*confidant.User) string { return ci.op.Issuer + "/me" },
			func(u *confidant.User) string { return u.Provider + ":" + u.Subject }))
	}
	lb.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		instances[rand.IntN(len(instances))].ServeHTTP(w, r)
	})
	lb.Start()
	t.Cleanup(lb.Close)
	return ci
}

// TestCookieInstancesRefreshOnce (attack review, finding 3): cookie sessions
// on three instances with the same keys, the deny list in Redis as the
// README says, a provider that rotates refresh tokens and revokes a grant
// whose refresh token is reused. Concurrent requests of each session land
// on random instances across two expiries of its access token: every one
// is answered 200, no session is signed out, the provider sees no reuse and
// exactly one refresh per session and expiry; and a request that carries
// the cookie from before a refresh, on any instance, gets the rotated
// tokens without a token request. Before, two instances refreshed the same
// cookie and the provider revoked the grant (seen: most requests 401).
func TestCookieInstancesRefreshOnce(t *testing.T) {
	rc := testenv.StartRedis(t).Client()
	t.Cleanup(func() { rc.Close() })
	clock := &testenv.Clock{} // the instances' clock; oidc-provider keeps the wall clock
	ci := newCookieInstances(t, 3, clock, func() session.DenyList { return &redisstore.DenyList{Client: rc} })
	const sessions, per = 10, 6
	var browsers []*http.Client
	for i := range sessions {
		hc := testenv.Browser()
		resp, _ := get(t, hc, ci.url+"/profile")
		cb, err := ci.op.Login(hc, resp.Header.Get("Location"), fmt.Sprint("user", i))
		if err != nil {
			t.Fatal(err)
		}
		if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
			t.Fatalf("callback: %d %s", resp.StatusCode, body)
		}
		browsers = append(browsers, hc)
	}
	appURL := mustURL(ci.url)
	before := ci.op.Counts(t)
	var stale [][]*http.Cookie
	for round := range 3 {
		if round > 0 {
			clock.Add(31 * time.Second) // past half the minute's lifetime: due, for the app
		}
		if round == 1 {
			for _, hc := range browsers {
				stale = append(stale, hc.Jar.Cookies(appURL))
			}
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := map[string]int{}
		for _, hc := range browsers {
			for range per {
				wg.Go(func() {
					req, _ := http.NewRequest("GET", ci.url+"/api", nil)
					req.Header.Set("Accept", "application/json")
					resp, err := hc.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					mu.Lock()
					defer mu.Unlock()
					got[fmt.Sprint(resp.StatusCode)]++
					for _, c := range resp.Cookies() {
						if c.MaxAge < 0 && strings.HasPrefix(c.Name, "confidant") && !strings.HasPrefix(c.Name, "confidant_flow") {
							got["signed out"]++
						}
					}
				})
			}
		}
		wg.Wait()
		if got["200"] != sessions*per {
			t.Errorf("round %d: %v, want %d × 200 and no sign-out", round, got, sessions*per)
		}
	}
	after := ci.op.Counts(t)
	if n := after["_invalid_grants"] - before["_invalid_grants"]; n != 0 {
		t.Errorf("the provider refused %d grants (refresh tokens reused)", n)
	}
	if n := after["/token"] - before["/token"]; n != 2*sessions {
		t.Errorf("%d token requests, want %d (one per session and expiry, across the instances)", n, 2*sessions)
	}
	// The cookies from before the first refresh, seconds later, on any
	// instance: the rotated tokens, no token request.
	tokenBefore := after["/token"]
	for i, cookies := range stale {
		req, _ := http.NewRequest("GET", ci.url+"/api", nil)
		req.Header.Set("Accept", "application/json")
		testenv.AddCookies(req, cookies)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("session %d's cookie from before the refreshes: %d", i, resp.StatusCode)
		}
	}
	final := ci.op.Counts(t)
	if n := final["/token"] - tokenBefore; n != 0 || final["_invalid_grants"] != after["_invalid_grants"] {
		t.Errorf("old cookies: %d token requests, %d refused grants; want none", n, final["_invalid_grants"]-after["_invalid_grants"])
	}
}
