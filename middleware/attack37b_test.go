package middleware_test

// Attack review of Config.BackgroundAccess (the kept sign-in grant and
// Auth.ClientFor for the sign-in provider's APIs). Each test fails on the
// code it was written against.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/certop"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// bgEnv is an app signed in through the in-process provider (rotating
// refresh tokens with reuse detection, 60-second access tokens) with
// BackgroundAccess, and its worker's client for the user.
type bgEnv struct {
	*testenv.Env
	clock *testenv.Clock
	rdb   *goredis.Client
}

type bgOptions struct {
	redisSessions bool // redisstore.Store (Idle 2 minutes); else cookies with a redisstore.DenyList
	alone         bool // cookies and nothing shared (the grants in this process's memory)
	mw            func(*middleware.Config)
}

func newBgEnv(t *testing.T, o bgOptions) *bgEnv {
	t.Helper()
	rdb := testenv.StartRedis(t).Client()
	clock := testenv.NewClock(time.Now())
	e := testenv.New(t, testenv.Options{Clock: clock,
		OP: func(c *devprovider.Config) { c.AccessTokenLifetime = time.Minute },
		Middleware: func(c *middleware.Config) {
			c.BackgroundAccess = true
			if o.redisSessions {
				store, err := redisstore.New(redisstore.Config{Client: rdb, Keys: [][]byte{testenv.NewKey()}, Now: clock.Now,
					Timeouts: session.Timeouts{Idle: 2 * time.Minute}})
				if err != nil {
					t.Fatal(err)
				}
				c.Store = store
			} else if !o.alone {
				c.DenyList = &redisstore.DenyList{Client: rdb}
			}
			if o.mw != nil {
				o.mw(c)
			}
		}})
	return &bgEnv{Env: e, clock: clock, rdb: rdb}
}

// work is a background job's call of the sign-in provider's API for the
// demo user.
func (e *bgEnv) work() error {
	resp, err := e.Auth.ClientFor(e.Client.Provider().Name(), devprovider.DemoUser.ID).Get(e.APISrv.URL + "/")
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return errors.New("api: " + resp.Status + " " + string(body))
	}
	return nil
}

func (e *bgEnv) whoami(t *testing.T, hc *http.Client) string {
	t.Helper()
	_, who := e.Get(t, hc, "/whoami")
	return who
}

// TestAttack37bWorkerKeepsIdleSessionAlive: a background job's refresh of
// the kept grant writes the browser's Redis session (Store.Update), which
// sets its LastSeen and its TTL again: a browser left alone past the
// store's idle timeout stays signed in for as long as a job runs (up to
// the absolute timeout). The kept grant is meant to outlive the browser
// session, not to keep it alive.
func TestAttack37bWorkerKeepsIdleSessionAlive(t *testing.T) {
	e := newBgEnv(t, bgOptions{redisSessions: true})
	hc := testenv.Browser()
	e.SignIn(t, hc, "/profile")
	if who := e.whoami(t, hc); who != devprovider.DemoUser.ID {
		t.Fatalf("whoami after sign-in: %q", who)
	}
	// The browser goes away; a job calls the API every 31 s (each time
	// due) for 3 minutes, past the store's 2-minute idle timeout.
	for range 6 {
		e.clock.Add(31 * time.Second)
		if err := e.work(); err != nil {
			t.Fatal(err)
		}
	}
	if who := e.whoami(t, hc); who != "anonymous" {
		t.Errorf("the browser, unused for 186 s with a 2-minute idle timeout, is still signed in as %q: the background job's refreshes kept its session alive", who)
	}
}

// failHGET makes the Redis client's HGET commands (the grant store's
// reads) fail while armed, as a Redis shard or connection that fails
// while the rest answers.
type failHGET struct{ armed *atomic.Bool }

func (failHGET) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (h failHGET) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return failCmd{h.armed, "hget"}.ProcessHook(next)
}
func (failHGET) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

// failCmd fails one Redis command (by name) while armed.
type failCmd struct {
	armed *atomic.Bool
	name  string
}

func (failCmd) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (h failCmd) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if h.armed.Load() && cmd.Name() == h.name {
			err := errors.New("injected: connection reset by peer")
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}
func (failCmd) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

// TestAttack37bKeptCopyOlderThanCookie: the refresher takes the kept copy
// over the browser's tokens whenever their refresh tokens differ
// (family.newer), not when the kept copy is newer. A refresh whose write
// of the kept copy failed (Redis failing after the token request: the
// deny list's result written, the kept copy not) leaves the kept copy one
// rotation behind; the next refresh starts from it and presents the
// rotated-away refresh token: the provider revokes the family and the
// user is signed out.
func TestAttack37bKeptCopyOlderThanCookie(t *testing.T) {
	// Reading the copy (hget) or writing it (hset) fails.
	for _, name := range []string{"hget", "hset"} {
		t.Run(name, func(t *testing.T) { keptCopyOlderThanCookie(t, name) })
	}
}

func keptCopyOlderThanCookie(t *testing.T, failing string) {
	var armed atomic.Bool
	e := newBgEnv(t, bgOptions{mw: func(c *middleware.Config) { c.RefreshTimeout = time.Second }})
	e.rdb.AddHook(failCmd{&armed, failing})
	hc := testenv.Browser()
	e.SignIn(t, hc, "/profile")
	if err := e.work(); err != nil {
		t.Fatal(err)
	}
	// Due; Redis fails once the provider has answered the refresh.
	e.clock.Add(31 * time.Second)
	e.OP.SetTokenHook(func(map[string]any) { armed.Store(true) })
	status, body := e.APIRequest(t, hc)
	armed.Store(false)
	e.OP.SetTokenHook(nil)
	t.Logf("the request whose refresh could not write the kept copy: %d %s", status, strings.TrimSpace(body))

	// Redis is back. The browser carries on, due again later.
	for range 2 {
		e.clock.Add(31 * time.Second)
		if status, body := e.APIRequest(t, hc); status != 200 {
			t.Errorf("the browser after Redis came back: %d %s", status, body)
		}
	}
	if n := e.OP.ReusedRefreshTokens(); n != 0 {
		t.Errorf("%d rotated-away refresh tokens presented to the provider (family revoked), want 0", n)
	}
	if who := e.whoami(t, hc); who != devprovider.DemoUser.ID {
		t.Errorf("whoami %q: signed out", who)
	}
}

// TestAttack37bSignOutDuringWorkerRefresh: sign-out (and EndUserSessions)
// drops the kept copy and revokes its refresh token without the
// session's refresh lock. A job's refresh in flight then rotates the
// token the sign-out revokes: the provider's new refresh token is never
// written (the kept copy is gone), never revoked, and stays valid at the
// provider after the user signed out.
func TestAttack37bSignOutDuringWorkerRefresh(t *testing.T) {
	for _, everywhere := range []bool{false, true} {
		name := "sign-out"
		if everywhere {
			name = "EndUserSessions"
		}
		t.Run(name, func(t *testing.T) {
			e := newBgEnv(t, bgOptions{})
			hc := testenv.Browser()
			e.SignIn(t, hc, "/profile")
			e.clock.Add(31 * time.Second) // due

			var mu sync.Mutex
			var issued []string
			e.OP.SetTokenHook(func(m map[string]any) {
				mu.Lock()
				defer mu.Unlock()
				if rt, _ := m["refresh_token"].(string); rt != "" {
					issued = append(issued, rt)
				}
			})
			// The token endpoint answers the job's refresh (the rotation is
			// made) and its answer is slow to arrive.
			rotated, release := make(chan struct{}), make(chan struct{})
			e.OP.SetFault(devprovider.PathToken, func(w http.ResponseWriter, r *http.Request) {
				e.OP.SetFault(devprovider.PathToken, nil)
				rec := httptest.NewRecorder()
				e.OP.ServeHTTP(rec, r)
				close(rotated)
				<-release
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
			})
			done := make(chan error, 1)
			go func() { done <- e.work() }()
			<-rotated
			// The sign-out starts while the job's refresh is in flight (it
			// waits for the session's lock), and the answer then arrives.
			signedOut := make(chan error, 1)
			go func() {
				if everywhere {
					signedOut <- e.Auth.EndUserSessions(t.Context(), e.Client.Provider().Name(), devprovider.DemoUser.ID)
					return
				}
				req, _ := http.NewRequest("POST", e.App.URL+"/auth/logout", nil)
				resp, err := hc.Do(req)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode != http.StatusSeeOther {
						err = errors.New("sign-out: " + resp.Status)
					}
				}
				signedOut <- err
			}()
			close(release)
			if err := <-signedOut; err != nil {
				t.Fatal(err)
			}
			t.Logf("the job whose refresh was in flight: %v", <-done)
			if who := e.whoami(t, hc); who != "anonymous" {
				t.Fatalf("after sign-out: %q", who)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, rt := range issued {
				if e.OP.RefreshTokenValid(rt) {
					t.Errorf("a refresh token of the signed-out session is still valid at the provider (%d refresh tokens issued since sign-in)", len(issued))
				}
			}
		})
	}
}

// TestAttack37bWorkerExchangeTokenOutlivesSignOut: a job's call of a
// token-exchange API with the kept grant keeps the exchange's refresh
// token (a grant of its own) in the kept copy only, never in the browser's
// cookie. Sign-out revokes the cookie's API refresh tokens and the kept
// copy's sign-in refresh token, and EndUserSessions only the latter: the
// exchange's refresh token stays live at the provider after either.
// Against oidc-provider, as TestTokenExchangeKeepsSignInTokens.
func TestAttack37bWorkerExchangeTokenOutlivesSignOut(t *testing.T) {
	for _, everywhere := range []bool{false, true} {
		name := "sign-out"
		if everywhere {
			name = "EndUserSessions"
		}
		t.Run(name, func(t *testing.T) {
			ledger := newResourceServer(t, "https://ledger.example/", "ledger:read")
			s := newCertified(t, certifiedOptions{
				grantTypes: []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"},
				resources:  map[string]map[string]string{"https://ledger.example/": {"scope": "ledger:read"}},
				op:         func(c *certop.Config) { c.ExchangeRefreshToken = true },
				mw: func(c *middleware.Config) {
					c.BackgroundAccess = true // one instance, nothing shared: the grant in memory
					c.APIs = append(c.APIs, middleware.API{Name: "ledger", BaseURL: ledger.URL + "/", Resource: "https://ledger.example/", Scopes: []string{"ledger:read"}, TokenExchange: true})
				},
			})
			ledger.trust(s.op.Issuer)
			hc := s.signIn(t, "alice")
			resp, err := s.app.Auth.ClientFor("certified", "alice").Get(ledger.URL + "/entries")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "https://ledger.example/") {
				t.Fatalf("the job's ledger call: %d %s", resp.StatusCode, body)
			}
			if issued, live := s.op.ExchangeRefreshTokens(t); issued != 1 || live != 1 {
				t.Fatalf("after the job's call: %d exchange refresh tokens issued, %d live; want 1, 1", issued, live)
			}
			if everywhere {
				if err := s.app.Auth.EndUserSessions(t.Context(), "certified", "alice"); err != nil {
					t.Fatal(err)
				}
			} else {
				resp, err := hc.Post(s.app.URL+"/auth/logout", "", nil)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			if who := s.whoami(t, hc); who != "anonymous" {
				t.Fatalf("after sign-out: %q", who)
			}
			if issued, live := s.op.ExchangeRefreshTokens(t); live != 0 {
				t.Errorf("after %s: %d of the %d refresh tokens from the job's token exchange still live", name, live, issued)
			}
		})
	}
}

// forgetResults deletes the deny list's refresh results (plain values; its
// grants are hashes), as after their 10 minutes in Redis's own time.
func (e *bgEnv) forgetResults(t *testing.T) {
	t.Helper()
	keys, err := e.rdb.Keys(t.Context(), "confidant:deny:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if typ, _ := e.rdb.Type(t.Context(), k).Result(); typ == "string" {
			e.rdb.Del(t.Context(), k)
		}
	}
}

// TestAttack37bSecondSignInStrandsFirstBrowser: a job rotates the kept
// grant of browser A's session (the kept copy is then the one place that
// knows its newest refresh token, once the deny list's result or this
// process's memory of it is gone); the same user signs in on browser B,
// which replaces the kept copy. Browser A comes back with its cookie's
// refresh token, rotated away by the job: the provider revokes A's family
// and A is signed out. The docs say the earlier browser session keeps its
// own tokens.
func TestAttack37bSecondSignInStrandsFirstBrowser(t *testing.T) {
	for _, alone := range []bool{false, true} {
		name := "cookie"
		if alone {
			name = "one-instance"
		}
		t.Run(name, func(t *testing.T) {
			e := newBgEnv(t, bgOptions{alone: alone})
			a := testenv.Browser()
			e.SignIn(t, a, "/profile")
			e.clock.Add(31 * time.Second)
			if err := e.work(); err != nil { // rotates A's refresh token
				t.Fatal(err)
			}
			b := testenv.Browser()
			e.SignIn(t, b, "/profile")
			if who := e.whoami(t, b); who != devprovider.DemoUser.ID {
				t.Fatalf("browser B: %q", who)
			}
			// Past what this process remembers of recent refreshes, and
			// (with the deny list) as if its result's 10 minutes were over.
			e.clock.Add(3 * time.Minute)
			if !alone {
				e.forgetResults(t)
			}
			if status, body := e.APIRequest(t, a); status != 200 {
				t.Errorf("browser A after B's sign-in: %d %s", status, body)
			}
			if n := e.OP.ReusedRefreshTokens(); n != 0 {
				t.Errorf("%d rotated-away refresh tokens presented (A's family revoked), want 0", n)
			}
			if who := e.whoami(t, a); who != devprovider.DemoUser.ID {
				t.Errorf("browser A: %q, signed out", who)
			}
		})
	}
}

// TestAttack37bFailedExchangeLosesRotation: a job's first call of a
// token-exchange API when the sign-in token is about to expire refreshes
// the sign-in tokens first (refresher.do, under the lock) and then
// exchanges; when the exchange fails (here invalid_target), do returns the
// error and drops the refresh it made: the rotated refresh token is
// written nowhere (not the kept copy, not the session). The next refresh,
// the browser's, presents the rotated-away one: oidc-provider revokes the
// grant and the user is signed out. (The same holds for the browser's own
// call of the API: do is older than BackgroundAccess.)
func TestAttack37bFailedExchangeLosesRotation(t *testing.T) {
	clock := &testenv.Clock{}
	s := newCertified(t, certifiedOptions{
		accessTTL:  60,
		clock:      clock,
		grantTypes: []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"},
		resources:  map[string]map[string]string{"https://ledger.example/": {"scope": "ledger:read"}},
		mw: func(c *middleware.Config) {
			c.BackgroundAccess = true
			// A resource the provider does not serve: every exchange fails.
			c.APIs = append(c.APIs, middleware.API{Name: "archive", BaseURL: "https://archive.example/", Resource: "https://archive.example/", Scopes: []string{"archive:read"}, TokenExchange: true})
		},
	})
	hc := s.signIn(t, "alice")
	clock.Add(55 * time.Second) // the sign-in token expires within 10 s
	before := s.op.Counts(t)
	_, err := s.app.Auth.ClientFor("certified", "alice").Get("https://archive.example/items")
	t.Logf("the job's call: %v", err)
	if who := s.whoami(t, hc); who != "certified:alice" {
		t.Errorf("the browser after the job's failed exchange: %q, signed out", who)
	}
	after := s.op.Counts(t)
	if n := after["_invalid_grants"] - before["_invalid_grants"]; n != 0 {
		t.Errorf("%d refresh grants refused (a rotated-away refresh token presented), want 0", n)
	}
}

// TestAttack37bSignOutDropFailureIgnored: sign-out ignores an error
// deleting the kept copy (logout: `err == nil && rec != nil`), says
// nothing of it, and revokes the cookie's refresh token, which a job had
// rotated away. Redis failing for that one read at sign-out leaves the
// signed-out session's grant kept and live: the job carries on with it.
func TestAttack37bSignOutDropFailureIgnored(t *testing.T) {
	var armed atomic.Bool
	e := newBgEnv(t, bgOptions{})
	e.rdb.AddHook(failHGET{&armed})
	hc := testenv.Browser()
	e.SignIn(t, hc, "/profile")
	e.clock.Add(31 * time.Second)
	if err := e.work(); err != nil { // rotates the grant; the cookie keeps the older token
		t.Fatal(err)
	}
	armed.Store(true)
	resp, err := hc.Post(e.App.URL+"/auth/logout", "", nil)
	armed.Store(false)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The kept grant could not be ended: the sign-out is refused (503, to
	// be tried again), and nothing of it happened.
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("sign-out with the kept grant unreachable: %d, want 503", resp.StatusCode)
	}
	if who := e.whoami(t, hc); who != devprovider.DemoUser.ID {
		t.Fatalf("after the refused sign-out: %q, want still signed in", who)
	}
	resp, err = hc.Post(e.App.URL+"/auth/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if who := e.whoami(t, hc); resp.StatusCode != http.StatusSeeOther || who != "anonymous" {
		t.Fatalf("sign-out tried again: %d, whoami %q", resp.StatusCode, who)
	}
	if err := e.work(); !errors.Is(err, middleware.ErrNotConnected) {
		t.Errorf("a job after the session signed out: %v, want ErrNotConnected (the grant ended with its session)", err)
	}
}

// TestAttack37bAppsSharingRedisOverwriteKeptGrant: two apps on one
// provider with one client ID, sharing session keys and a Redis
// (TestAppsSharingKeysRefuseEachOther's setup: staging and production).
// The kept sign-in grant is stored under the user's hash and the field ""
// in both; the other app's copy does not open (bound to its app), and is
// treated as none: the second app's sign-in of the same user overwrites
// the first app's kept grant (and the first app's sign-out would delete
// the second's). The first app's jobs lose the user.
func TestAttack37bAppsSharingRedisOverwriteKeptGrant(t *testing.T) {
	keys := [][]byte{testenv.NewKey()}
	redis := testenv.StartRedis(t)
	var first *testenv.Env
	opts := testenv.Options{
		Cookie: func(c *session.CookieConfig) { c.Keys = keys },
		Client: func(c *client.Config) {
			if first == nil {
				return
			}
			prov, err := client.Discover(t.Context(), first.OP.Issuer)
			if err != nil {
				t.Fatal(err)
			}
			c.Provider = prov
			first.OP.AddRedirect(testenv.ClientID, c.RedirectURL)
		},
		Middleware: func(c *middleware.Config) {
			rc := redis.Client()
			t.Cleanup(func() { rc.Close() })
			st, err := redisstore.New(redisstore.Config{Client: rc, Keys: keys})
			if err != nil {
				t.Fatal(err)
			}
			c.Store = st
			c.BackgroundAccess = true
		},
	}
	first = testenv.New(t, opts)
	second := testenv.New(t, opts)
	provider := first.Client.Provider().Name()
	work := func(e *testenv.Env) error {
		resp, err := e.Auth.ClientFor(provider, devprovider.DemoUser.ID).Get(first.APISrv.URL + "/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return errors.New(resp.Status)
		}
		return nil
	}
	first.SignIn(t, testenv.Browser(), "/profile")
	if err := work(first); err != nil {
		t.Fatalf("the first app's job: %v", err)
	}
	hc2 := testenv.Browser()
	resp, _ := get(t, hc2, second.App.URL+"/profile")
	cb, err := first.OP.Login(hc2, resp.Header.Get("Location"), devprovider.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, hc2, cb.String()); resp.StatusCode != http.StatusFound {
		t.Fatalf("the second app's callback: %d %s", resp.StatusCode, body)
	}
	if err := work(first); err != nil {
		t.Errorf("the first app's job after the user signed in at the second app: %v", err)
	}
}

// TestAttack37bKeptCopyStaleAfterRedisSessionExpires: with Redis
// sessions, a refresh whose write of the kept copy failed (the session
// written, then Redis failing for the grant's read) leaves the kept copy
// one rotation behind the session. Once the browser's session expires,
// the job's refresh starts from the kept copy (refresher.once's `gone`
// path) and presents the rotated-away refresh token: the provider revokes
// the family and the grant, which should outlive the session, is lost.
func TestAttack37bKeptCopyStaleAfterRedisSessionExpires(t *testing.T) {
	var armed atomic.Bool
	e := newBgEnv(t, bgOptions{redisSessions: true, mw: func(c *middleware.Config) { c.RefreshTimeout = time.Second }})
	e.rdb.AddHook(failHGET{&armed})
	hc := testenv.Browser()
	e.SignIn(t, hc, "/profile")
	e.clock.Add(31 * time.Second)
	e.OP.SetTokenHook(func(map[string]any) { armed.Store(true) })
	status, body := e.APIRequest(t, hc)
	armed.Store(false)
	e.OP.SetTokenHook(nil)
	t.Logf("the browser's request whose refresh could not write the kept copy: %d %s", status, strings.TrimSpace(body))
	// The browser goes away; its session expires (idle 2 minutes).
	e.clock.Add(3 * time.Minute)
	if who := e.whoami(t, hc); who != "anonymous" {
		t.Fatalf("the session did not expire: %q", who)
	}
	if err := e.work(); err != nil {
		t.Errorf("a job after the session expired: %v", err)
	}
	if n := e.OP.ReusedRefreshTokens(); n != 0 {
		t.Errorf("%d rotated-away refresh tokens presented (family revoked), want 0", n)
	}
}
