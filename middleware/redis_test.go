package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/seam"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// cluster is n app instances sharing one Redis and one OP.
type cluster struct {
	rec   recordingErrors
	op    *devprovider.Provider
	redis *testenv.Redis        // the single server, when no topology was given
	topo  testenv.RedisTopology // what the instances' stores use
	apps  []*testenv.App
	keys  [][]byte
}

type clusterOptions struct {
	instances int
	op        func(*devprovider.Config)
	store     func(*redisstore.Config)
	mw        func(*middleware.Config)
	noRedis   bool                                   // cookie store instead
	topology  func(testing.TB) testenv.RedisTopology // default: a single redis-server
	resource  string                                 // the API gets tokens of its own for this resource
	denyList  bool                                   // cookie sessions with a redisstore.DenyList, not redisstore.Store
	client    func(*client.Config)
}

func newCluster(t *testing.T, o clusterOptions) *cluster {
	t.Helper()
	opCfg := devprovider.Config{Users: []devprovider.User{devprovider.DemoUser, otherUser}, Clients: []devprovider.Client{{ID: "app", Secret: "app-secret"}}}
	if o.op != nil {
		o.op(&opCfg)
	}
	op, err := devprovider.Start(opCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	api := httptestServer(t, op.NewAPI())
	c := &cluster{op: op, keys: [][]byte{testenv.NewKey()}}
	switch {
	case o.noRedis:
	case o.topology != nil:
		c.topo = o.topology(t)
	default:
		c.redis = testenv.StartRedis(t)
		c.topo = testenv.Universal{Redis: c.redis}
	}
	for range max(o.instances, 1) {
		app := testenv.NewApp(t, map[string]string{"op": api.URL}, func(appURL string) middleware.Config {
			if len(c.apps) > 0 {
				// Instances of one app share its public address, the
				// RedirectURL: sessions are bound to it.
				appURL = c.apps[0].URL
			}
			op.AddRedirect("app", appURL+"/auth/callback")
			prov, err := client.Discover(context.Background(), op.Issuer, client.WithName("op"))
			if err != nil {
				t.Fatal(err)
			}
			ccfg := client.Config{Provider: prov, ClientID: "app", ClientSecret: "app-secret",
				RedirectURL: appURL + "/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}}
			if o.client != nil {
				o.client(&ccfg)
			}
			cl, err := client.New(ccfg)
			if err != nil {
				t.Fatal(err)
			}
			cfg := middleware.Config{Clients: []*client.Client{cl}}
			if c.topo != nil {
				rc := c.topo.Client()
				t.Cleanup(func() { rc.Close() })
				rcfg := redisstore.Config{Client: rc, Keys: c.keys}
				if o.store != nil {
					o.store(&rcfg)
				}
				st, err := redisstore.New(rcfg)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Store = st
				if o.denyList {
					cs, err := session.NewCookieStore(session.CookieConfig{Keys: c.keys})
					if err != nil {
						t.Fatal(err)
					}
					cfg.Store, cfg.DenyList = cs, &redisstore.DenyList{Client: rc}
				}
			}
			c.rec.install(&cfg)
			if o.resource != "" {
				cfg.APIs = []middleware.API{{Name: "op-api", BaseURL: api.URL, Provider: "op", Resource: o.resource}}
			}
			if o.mw != nil {
				o.mw(&cfg)
			}
			return cfg
		})
		c.apps = append(c.apps, app)
	}
	return c
}

var otherUser = devprovider.User{ID: "u-2002", Username: "other", Password: "other", Name: "Other", Email: "other@example.com"}

// signIn signs user in through instance 0 and returns the browser.
func (c *cluster) signIn(t *testing.T, user devprovider.User) *http.Client {
	t.Helper()
	hc := testenv.Browser()
	resp, _ := get(t, hc, c.apps[0].URL+"/profile")
	cb, err := c.op.Login(hc, resp.Header.Get("Location"), user)
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ = get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d", resp.StatusCode)
	}
	return hc
}

// burst sends per requests for each browser, concurrently, each to a random
// instance, and counts statuses (and sign-outs as -1).
func (c *cluster) burst(t *testing.T, browsers []*http.Client, per int) map[int]int {
	t.Helper()
	apps := make([]string, len(c.apps))
	for i, app := range c.apps {
		apps[i] = app.URL
	}
	var sessions [][]*http.Cookie
	for _, hc := range browsers {
		sessions = append(sessions, hc.Jar.Cookies(mustURL(c.apps[0].URL)))
	}
	return testenv.Burst(t, apps, sessions, per)
}

// TestRedisClusterRefresh: three instances, one Redis, one OP with
// rotation and reuse detection; 30 sessions with 10-second access tokens;
// 600 concurrent API requests spread over the instances at each of three
// expiries → no invalid_grant, no sign-out, exactly one refresh per session
// per expiry.
func TestRedisClusterRefresh(t *testing.T) {
	// 10-second tokens are due at half their lifetime, 5 s: long enough
	// that a burst never outlasts it, even under the race detector on a
	// loaded machine (a burst taking longer would meet a second expiry).
	c := newCluster(t, clusterOptions{instances: 3, op: shortLived(10 * time.Second)})
	var browsers []*http.Client
	for range 30 {
		browsers = append(browsers, c.signIn(t, devprovider.DemoUser))
	}
	time.Sleep(5100 * time.Millisecond) // every session is due (or expired: due too)
	for round := 1; round <= 3; round++ {
		before := c.op.Count(devprovider.PathToken)
		st := c.burst(t, browsers, 20)
		refreshes := c.op.Count(devprovider.PathToken) - before
		t.Logf("round %d: statuses %v, %d refreshes", round, st, refreshes)
		if st[http.StatusOK] != 600 || st[-1] != 0 {
			t.Errorf("round %d: statuses %v, want 600×200 and no sign-out; reasons: %v", round, st, c.rec.last())
		}
		if refreshes != 30 {
			t.Errorf("round %d: %d refreshes, want 30 (one per session)", round, refreshes)
		}
		if n := c.op.ReusedRefreshTokens(); n != 0 {
			t.Fatalf("round %d: %d rotated-away refresh tokens presented (invalid_grant)", round, n)
		}
		time.Sleep(5100 * time.Millisecond) // the new tokens are due again
	}
}

// TestRedisSlowRefreshOutlivesLease: a refresh slower than the lock lease
// (the provider takes 1 s, the lease is 300 ms) still ends with one refresh
// and no lost update.
func TestRedisSlowRefreshOutlivesLease(t *testing.T) {
	c := newCluster(t, clusterOptions{instances: 2, op: shortLived(4 * time.Second),
		store: func(rc *redisstore.Config) { rc.LockLease = 300 * time.Millisecond }})
	hc := c.signIn(t, devprovider.DemoUser)
	time.Sleep(2100 * time.Millisecond)
	c.op.SetFault(devprovider.PathToken, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Second) // three leases
		c.op.Inner().ServeHTTP(w, r)
	})
	before := c.op.Count(devprovider.PathToken)
	st := c.burst(t, []*http.Client{hc}, 20)
	if st[http.StatusOK] != 20 {
		t.Errorf("statuses %v", st)
	}
	if n := c.op.Count(devprovider.PathToken) - before; n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	if c.op.ReusedRefreshTokens() != 0 {
		t.Error("a rotated-away refresh token was presented")
	}
	// The stored session holds the newest refresh token.
	rc := c.redis.Client()
	defer rc.Close()
	st2, _ := redisstore.New(redisstore.Config{Client: rc, Keys: c.keys})
	u := mustURL(c.apps[0].URL)
	seam.Of(st2).(middleware.OriginBinder).BindOrigin(u, u.Scheme+"://"+u.Host+" app") // the app the sessions are bound to: its origin and client ID
	req, _ := http.NewRequest("GET", c.apps[0].URL, nil)
	testenv.AddCookies(req, hc.Jar.Cookies(mustURL(c.apps[0].URL)))
	s, err := st2.Load(req)
	if err != nil || !c.op.RefreshTokenValid(s.RefreshToken) {
		t.Errorf("stored session %v: refresh token valid=%v", err, err == nil && c.op.RefreshTokenValid(s.RefreshToken))
	}
}

// TestRedisOutage: with redis-server killed, requests fail with a clear 503
// and nobody is signed out; after it restarts, every session is back.
func TestRedisOutage(t *testing.T) {
	var logs testenv.Buffer
	c := newCluster(t, clusterOptions{instances: 2, mw: func(cfg *middleware.Config) { cfg.Logger = logTo(&logs) }})
	var browsers []*http.Client
	for range 5 {
		browsers = append(browsers, c.signIn(t, devprovider.DemoUser))
	}
	if st := c.burst(t, browsers, 4); st[200] != 20 {
		t.Fatalf("before: %v", st)
	}
	c.redis.Stop()
	st := c.burst(t, browsers, 4)
	if st[http.StatusServiceUnavailable] != 20 || st[-1] != 0 {
		t.Errorf("while Redis is down: %v, want 20×503 and no sign-out", st)
	}
	// A browser navigation gets the 503 page too, not a sign-in redirect.
	resp, _ := get(t, browsers[0], c.apps[1].URL+"/profile")
	if resp.StatusCode != 503 || !errors.Is(c.rec.last(), fail.SessionStore) || !errors.Is(c.rec.last(), session.ErrUnavailable) {
		t.Errorf("navigation while down: %d, reason %v", resp.StatusCode, c.rec.last())
	}
	if !strings.Contains(logs.String(), "session store failure") {
		t.Error("the outage was not logged")
	}
	c.redis.Start()
	if st := c.burst(t, browsers, 4); st[200] != 20 {
		t.Errorf("after restart: %v, want every session back", st)
	}
}

// TestSignOutEverywhere: EndUserSessions ends all of a user's sessions on
// every instance and no one else's.
func TestSignOutEverywhere(t *testing.T) {
	c := newCluster(t, clusterOptions{instances: 3})
	a1, a2, b := c.signIn(t, devprovider.DemoUser), c.signIn(t, devprovider.DemoUser), c.signIn(t, otherUser)
	if err := c.apps[2].Auth.EndUserSessions(context.Background(), "op", devprovider.DemoUser.ID); err != nil {
		t.Fatal(err)
	}
	for i, app := range c.apps {
		for name, hc := range map[string]*http.Client{"a1": a1, "a2": a2} {
			if _, who := get(t, hc, app.URL+"/whoami"); who != "anonymous" {
				t.Errorf("instance %d: %s still signed in as %q", i, name, who)
			}
		}
		if _, who := get(t, b, app.URL+"/whoami"); who != "op:"+otherUser.ID {
			t.Errorf("instance %d: the other user was signed out: %q", i, who)
		}
	}
}

// TestIdleTimeoutRolls: a user active every 50 minutes stays signed in past
// a 1-hour idle timeout (each request rolls it), and is signed out after 61
// idle minutes; with Redis and with cookies.
func TestIdleTimeoutRolls(t *testing.T) {
	for _, store := range []string{"redis", "cookie"} {
		t.Run(store, func(t *testing.T) {
			var clock testenv.Clock
			clock.Set(time.Now())
			timeouts := session.Timeouts{Idle: time.Hour, Absolute: 10 * time.Hour}
			o := clusterOptions{instances: 1,
				op:    func(c *devprovider.Config) { c.AccessTokenLifetime, c.IDTokenLifetime = 100*time.Hour, 100*time.Hour },
				store: func(rc *redisstore.Config) { rc.Timeouts, rc.Now = timeouts, clock.Now },
				mw: func(cfg *middleware.Config) {
					cfg.Now = clock.Now
					if cfg.Store == nil {
						cfg.Store, _ = session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}, Timeouts: timeouts, Now: clock.Now})
					}
				}}
			if store == "cookie" {
				o.noRedis = true
			}
			c := newCluster(t, o)
			hc := c.signIn(t, devprovider.DemoUser)
			for i := range 4 {
				clock.Set(clock.Now().Add(50 * time.Minute))
				if who := whoami(t, hc, c.apps[0].URL); who != "op:"+devprovider.DemoUser.ID {
					t.Fatalf("after %d×50 active minutes: %q", i+1, who)
				}
			}
			clock.Set(clock.Now().Add(61 * time.Minute))
			if who := whoami(t, hc, c.apps[0].URL); who != "anonymous" {
				t.Errorf("after 61 idle minutes: %q", who)
			}
		})
	}
}
