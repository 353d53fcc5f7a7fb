package middleware_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// connected is an app that signs users in with oidc-provider and calls a
// second API, on the in-process provider, that users connect: two real
// providers, both rotating refresh tokens with reuse detection.
type connected struct {
	*certified
	clock  *testenv.Clock
	op2    *devprovider.Provider
	api2   *devprovider.API
	api2At string
	cfg    middleware.Config // the app's, for more instances
	rdb    *goredis.Client
}

func newConnected(t *testing.T) *connected { return newConnectedWith(t, connectedOptions{}) }

// connectedOptions adjust newConnectedWith.
type connectedOptions struct {
	redisSessions bool // sessions in redisstore.Store (default: cookies, with a redisstore.DenyList)
	alone         bool // cookies and nothing shared: the grants in this process's memory
	background    bool // Config.BackgroundAccess
	accessTTL     int  // the sign-in provider's, in seconds (default 3600)

	// More accounts at the API's provider, a transport for the API
	// client's provider, an API of the test's own instead of the
	// in-process provider's (served over https asking for a client
	// certificate with tlsAPI, which APITransport trusts), the API
	// client's certificate, and adjustments of the middleware's
	// configuration before (mw) and after (last) the test's own.
	users  []devprovider.User
	tr     http.RoundTripper
	api    func(c *connected) http.Handler
	tlsAPI bool
	cert   *tls.Certificate
	mw     func(*middleware.Config)
	last   func(*middleware.Config)
}

func newConnectedWith(t *testing.T, o connectedOptions) *connected {
	t.Helper()
	rdb := testenv.StartRedis(t).Client()
	c := &connected{clock: &testenv.Clock{}, rdb: rdb}
	c.certified = newCertified(t, certifiedOptions{clock: c.clock, accessTTL: o.accessTTL, withURL: func(appURL string, cfg *middleware.Config) {
		op2, err := devprovider.Start(devprovider.Config{Now: c.clock.Now, AccessTokenLifetime: 5 * time.Minute, RefreshTokenLifetime: time.Hour, Users: o.users,
			Clients: []devprovider.Client{{ID: "api2", Secret: "api2-secret-value-never-logged", Redirects: []string{appURL + "/auth/callback"}}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(op2.Close)
		c.op2, c.api2 = op2, op2.NewAPI()
		var h http.Handler = c.api2
		if o.api != nil {
			h = o.api(c)
		}
		srv := httptest.NewUnstartedServer(h)
		if o.tlsAPI {
			srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
			srv.StartTLS()
			cfg.APITransport = srv.Client().Transport
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
		c.api2At = srv.URL + "/"
		var popts []client.ProviderOption
		if o.tr != nil {
			popts = append(popts, client.WithHTTPClient(&http.Client{Transport: o.tr}))
		}
		prov, err := client.Discover(t.Context(), op2.Issuer, popts...)
		if err != nil {
			t.Fatal(err)
		}
		// The sign-in callback serves the connect flow too.
		c2, err := client.New(client.Config{Provider: prov, ClientID: "api2", ClientSecret: "api2-secret-value-never-logged",
			RedirectURL: appURL + "/auth/callback", Now: c.clock.Now, ClientCertificate: o.cert})
		if err != nil {
			t.Fatal(err)
		}
		if o.mw != nil {
			o.mw(cfg)
		}
		cfg.APIs = append(cfg.APIs, middleware.API{Name: "api2", BaseURL: srv.URL, Client: c2, Scopes: []string{"openid"}})
		if o.redisSessions {
			store, err := redisstore.New(redisstore.Config{Client: rdb, Keys: [][]byte{testenv.NewKey()}, Now: c.clock.Now,
				Timeouts: session.Timeouts{Idle: 2 * time.Minute}}) // a session a test can see expire
			if err != nil {
				t.Fatal(err)
			}
			cfg.Store = store
		} else if !o.alone {
			cfg.DenyList = &redisstore.DenyList{Client: rdb} // the instances' grants are in Redis
		}
		cfg.BackgroundAccess = o.background
		if o.last != nil {
			o.last(cfg)
		}
		c.cfg = *cfg
	}})
	if c.cfg.Store == nil {
		c.cfg.Store = c.app.Store
	}
	auth := c.app.Auth
	c.app.Mux.Handle("/api2", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := auth.HTTPClient(r).Get(c.api2At)
		if auth.StepUp(w, r, err) {
			return
		}
		if err != nil {
			http.Error(w, err.Error(), middleware.StatusCode(err))
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})))
	return c
}

// forgetRefreshResults deletes what the shared deny list holds as plain
// values (the refresh results of cookie sessions; nobody is denied yet):
// its grants, hashes, stay.
func (c *connected) forgetRefreshResults(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	keys, err := c.rdb.Keys(ctx, "confidant:deny:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, k := range keys {
		if typ, _ := c.rdb.Type(ctx, k).Result(); typ == "string" {
			c.rdb.Del(ctx, k)
			n++
		}
	}
	if n == 0 {
		t.Fatal("no refresh result in the deny list to forget")
	}
}

// instance is another instance of the app (a worker), sharing its store,
// keys and Redis.
func (c *connected) instance(t *testing.T) *middleware.Auth {
	t.Helper()
	a, err := middleware.New(c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// connect runs the connect flow of api2 for the signed-in browser hc, from
// a navigation to /api2, and returns the page it comes back to.
func (c *connected) connect(t *testing.T, hc *http.Client) string {
	t.Helper()
	resp := testenv.Do(t, hc, "GET", c.app.URL+"/api2", "text/html")
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "/auth/connect?api=api2&return_to=%2Fapi2" {
		t.Fatalf("/api2 not connected: %d to %q", resp.StatusCode, loc)
	}
	authURL := c.startConnect(t, hc)
	cb, err := c.op2.Login(hc, authURL.String(), devprovider.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	resp = testenv.Do(t, hc, "GET", cb.String(), "text/html")
	body := testenv.Body(t, resp)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("connect callback: %d %s", resp.StatusCode, body)
	}
	return resp.Header.Get("Location")
}

// startConnect follows /auth/connect to the API's provider.
func (c *connected) startConnect(t *testing.T, hc *http.Client) *url.URL {
	t.Helper()
	resp := testenv.Do(t, hc, "GET", c.app.URL+"/auth/connect?api=api2&return_to=%2Fapi2", "text/html")
	resp.Body.Close()
	u, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(u.String(), c.op2.Issuer) {
		t.Fatalf("/auth/connect: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return u
}

func (c *connected) api2JSON(t *testing.T, hc *http.Client) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.app.URL+"/api2", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, testenv.Body(t, resp)
}

// TestConnectedAPI connects an API on a second provider for a user signed
// in with the first, calls it from the request path and from workers on
// other instances, and ends the grant by disconnect, by sign-out
// everywhere and by revocation at the provider.
func TestConnectedAPI(t *testing.T) {
	c := newConnected(t)
	hc := c.signIn(t, "alice")

	// Not connected: a JSON client learns where to connect.
	status, body := c.api2JSON(t, hc)
	var nc struct{ Error, API, LoginURL string }
	json.Unmarshal([]byte(strings.ReplaceAll(body, "login_url", "loginurl")), &nc)
	if status != http.StatusUnauthorized || nc.Error != "not_connected" || nc.API != "api2" || nc.LoginURL != "/auth/connect?api=api2&return_to=%2Fapi2" {
		t.Fatalf("/api2 as JSON before connecting: %d %s", status, body)
	}

	// The connect flow asks for exactly the API's scopes (and
	// offline_access, which the provider lists), with PKCE and a state.
	authURL := c.startConnect(t, hc)
	q := authURL.Query()
	if got := q.Get("scope"); got != "openid offline_access" || q.Get("code_challenge_method") != "S256" || len(q.Get("state")) < 43 || q.Get("nonce") != "" {
		t.Fatalf("connect request: scope %q, pkce %q, state %d chars, nonce %q", got, q.Get("code_challenge_method"), len(q.Get("state")), q.Get("nonce"))
	}
	// A tampered callback (its state changed) makes no token request.
	cb, err := c.op2.Login(hc, authURL.String(), devprovider.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	tokens := c.op2.Count("/oauth/token")
	bad := *cb
	bq := bad.Query()
	bq.Set("state", strings.ToUpper(bq.Get("state")))
	bad.RawQuery = bq.Encode()
	resp := testenv.Do(t, hc, "GET", bad.String(), "text/html")
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || c.op2.Count("/oauth/token") != tokens {
		t.Fatalf("tampered connect callback: %d, %d token requests", resp.StatusCode, c.op2.Count("/oauth/token")-tokens)
	}
	resp = testenv.Do(t, hc, "GET", cb.String(), "text/html")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/api2" {
		t.Fatalf("connect callback: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if status, body := c.api2JSON(t, hc); status != 200 || !strings.Contains(body, `"sub":"`+devprovider.DemoUser.ID+`"`) {
		t.Fatalf("/api2 connected: %d %s", status, body)
	}
	if names, err := c.app.Auth.Connections(t.Context(), "certified", "alice"); err != nil || !slices.Equal(names, []string{"api2"}) {
		t.Fatalf("Connections: %v %v", names, err)
	}

	// Due: a web request and three workers on three other instances at
	// once make one refresh between them, and no token is reused.
	workers := []*middleware.Auth{c.instance(t), c.instance(t), c.instance(t)}
	c.clock.Add(5 * time.Minute)
	before, reused := c.op2.Count("/oauth/token"), c.op2.ReusedRefreshTokens()
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	wg.Go(func() {
		if status, body := c.api2JSON(t, hc); status != 200 {
			errs <- "web: " + body
		}
	})
	for i, w := range workers {
		wg.Go(func() {
			resp, err := w.ClientFor("certified", "alice").Get(c.api2At)
			if err != nil {
				errs <- "worker: " + err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- "worker " + string(rune('0'+i)) + ": " + resp.Status
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := c.op2.Count("/oauth/token") - before; n != 1 {
		t.Errorf("%d token requests for one due grant on four instances, want 1", n)
	}
	if n := c.op2.ReusedRefreshTokens() - reused; n != 0 {
		t.Errorf("%d refresh tokens reused", n)
	}
	if who := c.whoami(t, hc); who != "certified:alice" {
		t.Errorf("after the grant's refresh, whoami %q", who)
	}

	// The grant is the user's, not the browser's: it outlives the
	// session's end in this browser.
	resp, err = hc.Post(c.app.URL+"/auth/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if who := c.whoami(t, hc); who != "anonymous" {
		t.Fatalf("after sign-out, whoami %q", who)
	}
	resp, err = workers[0].ClientFor("certified", "alice").Get(c.api2At)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("worker after the browser signed out: %v %v", resp, err)
	}
	resp.Body.Close()

	// Sign-out everywhere ends it, revoking at the API's provider.
	revoked := c.op2.RevokedRefreshTokens()
	if err := workers[1].EndUserSessions(t.Context(), "certified", "alice"); err != nil {
		t.Fatal(err)
	}
	if c.op2.RevokedRefreshTokens() != revoked+1 {
		t.Errorf("sign-out everywhere revoked %d refresh tokens at the API's provider, want 1", c.op2.RevokedRefreshTokens()-revoked)
	}
	_, err = workers[2].ClientFor("certified", "alice").Get(c.api2At)
	if !errors.Is(err, middleware.ErrNotConnected) {
		t.Fatalf("worker after sign-out everywhere: %v, want ErrNotConnected", err)
	}
}

// TestConnectedAPIDisconnectAndRevoked: Disconnect revokes at the API's
// provider and deletes the grant; a grant the provider refuses
// (invalid_grant) is reported as such, with the provider's error, deleted
// and not retried.
func TestConnectedAPIDisconnectAndRevoked(t *testing.T) {
	c := newConnected(t)
	hc := c.signIn(t, "alice")
	// Through the BFF proxy too: not connected is a 401 that says where
	// to connect; once connected, the call goes through.
	c.app.Mux.Handle("/bff/api2/", http.StripPrefix("/bff/api2", c.app.Auth.Proxy("api2")))
	bff := func() (int, string) {
		req, _ := http.NewRequest("GET", c.app.URL+"/bff/api2/", nil)
		req.Header.Set(middleware.AntiForgeryHeader, "1")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, testenv.Body(t, resp)
	}
	if status, body := bff(); status != http.StatusUnauthorized || !strings.Contains(body, `"error":"not_connected"`) ||
		!strings.Contains(body, `"login_url":"/auth/connect?api=api2\u0026return_to=%2F"`) {
		t.Fatalf("proxy before connecting: %d %s", status, body)
	}
	if back := c.connect(t, hc); back != "/api2" {
		t.Fatalf("connect came back to %q", back)
	}
	if status, body := bff(); status != 200 || !strings.Contains(body, `"sub":"`+devprovider.DemoUser.ID+`"`) {
		t.Fatalf("proxy connected: %d %s", status, body)
	}
	revoked := c.op2.RevokedRefreshTokens()
	if err := c.app.Auth.Disconnect(t.Context(), "certified", "alice", "api2"); err != nil {
		t.Fatal(err)
	}
	if c.op2.RevokedRefreshTokens() != revoked+1 {
		t.Errorf("Disconnect revoked %d refresh tokens, want 1", c.op2.RevokedRefreshTokens()-revoked)
	}
	if names, _ := c.app.Auth.Connections(t.Context(), "certified", "alice"); len(names) != 0 {
		t.Errorf("Connections after Disconnect: %v", names)
	}
	if status, body := c.api2JSON(t, hc); status != http.StatusUnauthorized || !strings.Contains(body, `"not_connected"`) {
		t.Errorf("/api2 after Disconnect: %d %s", status, body)
	}

	// Connected again; the refresh token then expires at the provider.
	if back := c.connect(t, hc); back != "/api2" {
		t.Fatalf("connect came back to %q", back)
	}
	worker := c.instance(t)
	c.clock.Add(2 * time.Hour)
	before := c.op2.Count("/oauth/token")
	_, err := worker.ClientFor("certified", "alice").Get(c.api2At)
	var te *client.TokenError
	if !errors.Is(err, middleware.ErrNotConnected) || !errors.As(err, &te) || te.Code != "invalid_grant" {
		t.Fatalf("refused grant: %v, want ErrNotConnected with the provider's invalid_grant", err)
	}
	if names, _ := worker.Connections(context.Background(), "certified", "alice"); len(names) != 0 {
		t.Errorf("a refused grant is still kept: %v", names)
	}
	_, err = worker.ClientFor("certified", "alice").Get(c.api2At)
	if !errors.Is(err, middleware.ErrNotConnected) || errors.As(err, &te) {
		t.Errorf("second call after the refusal: %v, want plain ErrNotConnected", err)
	}
	if n := c.op2.Count("/oauth/token") - before; n != 1 {
		t.Errorf("%d token requests for a refused grant called twice, want 1 (not retried)", n)
	}
}

// TestConnectCallbackOtherUser: a connect flow's callback is redeemed
// only for the user who started it: alice's flow cookie and callback,
// carried into bob's signed-in browser, make no token request.
func TestConnectCallbackOtherUser(t *testing.T) {
	c := newConnected(t)
	alice := c.signIn(t, "alice")
	bob := c.signIn(t, "bob")
	authURL := c.startConnect(t, alice)
	cb, err := c.op2.Login(alice, authURL.String(), devprovider.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	app := mustURL(c.app.URL)
	for _, ck := range alice.Jar.Cookies(app) {
		if strings.HasPrefix(ck.Name, "confidant_flow.") {
			bob.Jar.SetCookies(app, []*http.Cookie{ck})
		}
	}
	tokens := c.op2.Count("/oauth/token")
	resp := testenv.Do(t, bob, "GET", cb.String(), "text/html")
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || c.op2.Count("/oauth/token") != tokens {
		t.Fatalf("alice's connect callback in bob's browser: %d, %d token requests", resp.StatusCode, c.op2.Count("/oauth/token")-tokens)
	}
	for _, who := range []string{"alice", "bob"} {
		if names, _ := c.app.Auth.Connections(t.Context(), "certified", who); len(names) != 0 {
			t.Errorf("%s connected: %v", who, names)
		}
	}
}

// TestConnectMistakes: an unknown API to connect is a 400 that names it,
// and ClientFor for a provider name the app does not sign in with is a
// configuration error, not "not connected".
func TestConnectMistakes(t *testing.T) {
	c := newConnected(t)
	hc := c.signIn(t, "alice")
	resp := testenv.Do(t, hc, "GET", c.app.URL+"/auth/connect?api=nope", "text/html")
	body := testenv.Body(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "no API that this app connects") {
		t.Errorf("/auth/connect?api=nope: %d %s", resp.StatusCode, body)
	}
	_, err := c.app.Auth.ClientFor(c.op.Issuer, "alice").Get(c.api2At)
	if !errors.Is(err, confidant.ErrConfig) || errors.Is(err, middleware.ErrNotConnected) || !strings.Contains(err.Error(), `"certified"`) {
		t.Errorf("ClientFor with the issuer as provider: %v, want ErrConfig naming the provider", err)
	}
}

// TestBackgroundSignInGrant: with BackgroundAccess, workers call the API
// that takes the sign-in provider's token (oidc-provider's userinfo) for a
// user with no browser. The kept grant is one refresh-token family with
// the browser session: a web request and three workers on three other
// instances refresh it once between them; the browser, back after the
// workers rotated it twice, carries on without presenting a rotated-away
// refresh token (oidc-provider would revoke the grant: a sign-out); the
// grant outlives the browser session and ends at sign-out everywhere,
// revoked. With cookie sessions (the deny list shared) and with Redis
// sessions.
func TestBackgroundSignInGrant(t *testing.T) {
	for _, o := range []connectedOptions{{}, {redisSessions: true}, {alone: true}} {
		name, redisSessions := "cookie", o.redisSessions
		switch {
		case o.redisSessions:
			name = "redis"
		case o.alone:
			name = "one-instance"
		}
		t.Run(name, func(t *testing.T) {
			o.background, o.accessTTL = true, 60
			c := newConnectedWith(t, o)
			userinfo := c.app.APIs["certified"]
			hc := c.signIn(t, "alice")
			workers := []*middleware.Auth{c.app.Auth, c.app.Auth, c.app.Auth} // one instance: its own workers
			if !o.alone {
				workers = []*middleware.Auth{c.instance(t), c.instance(t), c.instance(t)}
			}
			call := func(w *middleware.Auth) error {
				resp, err := w.ClientFor("certified", "alice").Get(userinfo)
				if err != nil {
					return err
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(body), `"sub":"alice"`) {
					return errors.New("userinfo: " + resp.Status + " " + string(body))
				}
				return nil
			}
			if err := call(workers[0]); err != nil {
				t.Fatal(err)
			}

			// Due: the browser and three workers at once, one refresh.
			c.clock.Add(31 * time.Second)
			before := c.op.Counts(t)["/token"]
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			wg.Go(func() {
				if status, body := testenv.APIRequest(t, hc, c.app.URL); status != 200 {
					errs <- errors.New("web: " + body)
				}
			})
			for _, w := range workers {
				wg.Go(func() { errs <- call(w) })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			if n := c.op.Counts(t)["/token"] - before; n != 1 {
				t.Errorf("%d token requests for one due grant on four instances, want 1", n)
			}

			// The workers alone rotate it twice; the browser comes back
			// with its older cookie and is still signed in.
			for range 2 {
				c.clock.Add(31 * time.Second)
				if err := call(workers[1]); err != nil {
					t.Fatal(err)
				}
			}
			switch {
			case o.alone:
				// Past what this process remembers of recent refreshes.
				c.clock.Add(3 * time.Minute)
			case !redisSessions:
				// As if the browser came back after the deny list's
				// refresh results expired (10 minutes, in Redis's own
				// time): only the kept grant knows the newest tokens.
				c.forgetRefreshResults(t)
			}
			c.clock.Add(31 * time.Second)
			if status, body := testenv.APIRequest(t, hc, c.app.URL); status != 200 {
				t.Fatalf("the browser after the workers' refreshes: %d %s", status, body)
			}
			if who := c.whoami(t, hc); who != "certified:alice" {
				t.Fatalf("whoami %q: signed out", who)
			}
			if err := call(workers[2]); err != nil {
				t.Fatalf("a worker after the browser's refresh: %v", err)
			}

			// The browser goes away, and its session expires (past the
			// Redis store's idle timeout); the grant stays, and is
			// refreshed twice more with no session.
			c.clock.Add(3 * time.Minute)
			if who := c.whoami(t, hc); who != "anonymous" && redisSessions {
				t.Fatalf("the session did not expire: %q", who)
			}
			for range 2 {
				if err := call(workers[0]); err != nil {
					t.Fatalf("after the browser's session expired: %v", err)
				}
				c.clock.Add(31 * time.Second)
			}

			// Sign-out everywhere ends it, revoked at the provider.
			revocations := c.op.Counts(t)["/token/revocation"]
			if err := workers[1].EndUserSessions(t.Context(), "certified", "alice"); err != nil {
				t.Fatal(err)
			}
			// The kept grant's newest refresh token; with cookie sessions
			// also the one the session list recorded for the browser's
			// session (rotated since by the jobs: revoking it is
			// redundant, and harmless).
			want := 1
			if !redisSessions {
				want = 2
			}
			if n := c.op.Counts(t)["/token/revocation"] - revocations; n != want {
				t.Errorf("sign-out everywhere made %d revocation requests, want %d", n, want)
			}
			if err := call(workers[2]); !errors.Is(err, middleware.ErrNotConnected) {
				t.Errorf("after sign-out everywhere: %v, want ErrNotConnected", err)
			}
		})
	}
}

// TestBackgroundAfterLatestSignsOut: the user signed in on two browsers;
// the later one signs out: jobs go on with the other's kept grant (its
// session lives), and end when that one signs out too.
func TestBackgroundAfterLatestSignsOut(t *testing.T) {
	e := newBgEnv(t, bgOptions{})
	a, b := testenv.Browser(), testenv.Browser()
	e.SignIn(t, a, "/profile")
	e.clock.Add(time.Second)
	e.SignIn(t, b, "/profile")
	signOut := func(hc *http.Client) {
		t.Helper()
		resp, err := hc.Post(e.App.URL+"/auth/logout", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-out: %d", resp.StatusCode)
		}
	}
	signOut(b)
	e.clock.Add(31 * time.Second) // due: the job refreshes a's grant
	if err := e.work(); err != nil {
		t.Fatalf("a job after the latest sign-in signed out, the other still in: %v", err)
	}
	if status, body := e.APIRequest(t, a); status != 200 {
		t.Fatalf("browser a after the job's refresh: %d %s", status, body)
	}
	signOut(a)
	if err := e.work(); !errors.Is(err, middleware.ErrNotConnected) {
		t.Fatalf("a job after both signed out: %v, want ErrNotConnected", err)
	}
}
