package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// auditedStore is the kind of store an app writes itself: the module's
// CookieStore, embedded, with something of the app's around Save (an
// audit log, a metric). Before issue 35 it kept BindOrigin and Timeouts,
// which were exported methods promoted through the embedding.
type auditedStore struct {
	*session.CookieStore
	saves int
}

func (s *auditedStore) Save(w http.ResponseWriter, r *http.Request, sess *session.Session) error {
	s.saves++
	return s.CookieStore.Save(w, r, sess)
}

// TestAttack35WrappedStoreBoundToApp: two https apps that share SESSION_KEYS
// (staging and production on one provider), each with a CookieStore that
// the app wraps. The sealed session must be bound to its app (DESIGN:
// "two apps sharing keys do not accept each other's sessions"), as it is
// when the app passes the *session.CookieStore itself
// (TestAppsSharingKeysRefuseEachOther).
func TestAttack35WrappedStoreBoundToApp(t *testing.T) {
	for _, wrapped := range []bool{false, true} {
		name := "CookieStore"
		if wrapped {
			name = "wrapped"
		}
		t.Run(name, func(t *testing.T) { wrappedStoreBound(t, wrapped) })
	}
}

func wrappedStoreBound(t *testing.T, wrapped bool) {
	op, err := devprovider.Start(devprovider.Config{Clients: []devprovider.Client{
		{ID: "app-a", Secret: "secret-a-never-logged"}, {ID: "app-b", Secret: "secret-b-never-logged"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	keys := [][]byte{testenv.NewKey()}
	start := func(id, secret string) (*httptest.Server, *auditedStore) {
		srv := httptest.NewUnstartedServer(nil)
		srv.StartTLS()
		t.Cleanup(srv.Close)
		op.AddRedirect(id, srv.URL+"/auth/callback")
		prov, err := client.Discover(t.Context(), op.Issuer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Config{Provider: prov, ClientID: id, ClientSecret: secret,
			RedirectURL: srv.URL + "/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := session.NewCookieStore(session.CookieConfig{Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		st := &auditedStore{CookieStore: cs}
		var store session.Store = st
		if !wrapped {
			store = cs
			st.saves = 1 // not counted
		}
		auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, Keys: keys,
			Logger: testenv.CollectLogger(), OnEvent: testenv.CollectEvent})
		if err != nil {
			t.Fatal(err)
		}
		srv.Config.Handler = testenv.Routes(auth, func(*confidant.User) string { return "" }, func(u *confidant.User) string { return u.Subject })
		return srv, st
	}
	a, storeA := start("app-a", "secret-a-never-logged")
	b, _ := start("app-b", "secret-b-never-logged")

	hc := testenv.BrowserVia(a.Client().Transport)
	resp, _ := get(t, hc, a.URL+"/profile")
	cb, err := op.Login(hc, resp.Header.Get("Location"), devprovider.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
		t.Fatalf("callback at app A: %d %s", resp.StatusCode, body)
	}
	if who := whoami(t, hc, a.URL); who != devprovider.DemoUser.ID || storeA.saves == 0 {
		t.Fatalf("app A: whoami %q, %d saves through the app's store", who, storeA.saves)
	}
	// Same host (127.0.0.1), another port: the browser sends app A's
	// __Host- cookie to app B, as a copied cookie would be.
	if who := whoami(t, hc, b.URL); who != "anonymous" {
		t.Errorf("app B (another client ID, another origin) accepted app A's session: whoami %q; "+
			"a store that wraps *session.CookieStore is never bound to its app (seam.Of finds no plumbing)", who)
	}
}

// countingRedisStore is redisstore.Store with the app's own counter around
// Save, embedded as an app would.
type countingRedisStore struct {
	*redisstore.Store
}

func (s countingRedisStore) Save(w http.ResponseWriter, r *http.Request, sess *session.Session) error {
	return s.Store.Save(w, r, sess)
}

// TestAttack35WrappedRedisStoreBackchannel: three instances share Redis
// through a store the app wraps (redisstore.Store embedded). Before issue
// 35 the wrapper kept the shared-store methods (promoted); now seam.Of
// finds no plumbing for it, so the middleware treats Redis as a store of
// the app's own: no index to end sessions by, an in-memory deny list per
// instance, no refresh lock or compare-and-swap. A back-channel logout
// posted to one instance leaves the user signed in on the others
// (DESIGN: "Logout ends the session everywhere ... shared when Redis is
// configured"). Control: the same with the *redisstore.Store itself
// (TestBackchannelLogout/redis) passes.
func TestAttack35WrappedRedisStoreBackchannel(t *testing.T) {
	t.Run("redisstore.Store", func(t *testing.T) { wrappedRedisBackchannel(t, false) })
	t.Run("wrapped", func(t *testing.T) { wrappedRedisBackchannel(t, true) })
}

func wrappedRedisBackchannel(t *testing.T, wrapped bool) {
	flowKeys := [][]byte{testenv.NewKey()}
	c := newCluster(t, clusterOptions{instances: 2, mw: func(cfg *middleware.Config) {
		if !wrapped {
			return
		}
		cfg.Store = countingRedisStore{cfg.Store.(*redisstore.Store)}
		cfg.Keys = flowKeys // the flow cookies' keys: the wrapper offers none
	}})
	alice := c.signIn(t, devprovider.DemoUser)
	for i, app := range c.apps {
		if who := whoami(t, alice, app.URL); who != "op:"+devprovider.DemoUser.ID {
			t.Fatalf("instance %d before: %q", i, who)
		}
	}
	if status := postLogout(t, c.apps[0].URL, c.op.Sign(logoutClaims(c.op, devprovider.DemoUser.ID, ""))); status != http.StatusOK {
		t.Fatalf("back-channel logout: %d", status)
	}
	// Instance 1 first: on instance 0 (which got the logout token) the
	// request deletes the record from Redis, which would hide it.
	if who := whoami(t, alice, c.apps[1].URL); who != "anonymous" {
		t.Errorf("instance 1: alice still signed in after a back-channel logout posted to instance 0 (%q)", who)
	}
}

// namedStore is a store of the app's own that holds the module's
// CookieStore in a named field: nothing promotes its plumbing, so it seals
// sessions unbound to any app.
type namedStore struct{ inner *session.CookieStore }

func (s *namedStore) Load(r *http.Request) (*session.Session, error) { return s.inner.Load(r) }
func (s *namedStore) Save(w http.ResponseWriter, r *http.Request, sess *session.Session) error {
	return s.inner.Save(w, r, sess)
}
func (s *namedStore) Delete(w http.ResponseWriter, r *http.Request) error {
	return s.inner.Delete(w, r)
}

// TestAttack35ForeignCookieNot500: DESIGN says a cookie the app cannot
// trust is "not signed in", never a 500. App A binds its CookieStore; app B,
// sharing the keys, holds its own in a named field and so seals sessions
// unbound. B's cookie sent to A makes A's
// CookieStore answer fail.SealedUnbound (a SessionConfig error, meant for
// confidanttest.SignedIn misuse), which the table turns into 500 "Sign-in
// is not set up" for every request of that browser at A, Optional pages
// included, with the "config" reason in A's metrics. Anyone who can get a
// cookie sealed unbound with A's keys (B's users) triggers it at will.
func TestAttack35ForeignCookieNot500(t *testing.T) {
	op, err := devprovider.Start(devprovider.Config{Clients: []devprovider.Client{
		{ID: "app-a", Secret: "secret-a-never-logged"}, {ID: "app-b", Secret: "secret-b-never-logged"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	keys := [][]byte{testenv.NewKey()}
	start := func(id, secret string, wrap bool) *httptest.Server {
		srv := httptest.NewUnstartedServer(nil)
		srv.StartTLS()
		t.Cleanup(srv.Close)
		op.AddRedirect(id, srv.URL+"/auth/callback")
		prov, err := client.Discover(t.Context(), op.Issuer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Config{Provider: prov, ClientID: id, ClientSecret: secret,
			RedirectURL: srv.URL + "/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := session.NewCookieStore(session.CookieConfig{Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		var store session.Store = cs
		if wrap {
			store = &namedStore{inner: cs}
		}
		auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, Keys: keys,
			Logger: testenv.CollectLogger(), OnEvent: testenv.CollectEvent})
		if err != nil {
			t.Fatal(err)
		}
		srv.Config.Handler = testenv.Routes(auth, func(*confidant.User) string { return "" }, func(u *confidant.User) string { return u.Subject })
		return srv
	}
	a := start("app-a", "secret-a-never-logged", false)
	b := start("app-b", "secret-b-never-logged", true)
	hc := testenv.BrowserVia(b.Client().Transport)
	resp, _ := get(t, hc, b.URL+"/profile")
	cb, err := op.Login(hc, resp.Header.Get("Location"), devprovider.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
		t.Fatalf("callback at app B: %d %s", resp.StatusCode, body)
	}
	resp, body := get(t, hc, a.URL+"/whoami")
	if resp.StatusCode != http.StatusOK || body != "anonymous" {
		t.Errorf("app A, Optional page, with app B's cookie: %d %.200s; want 200 anonymous", resp.StatusCode, body)
	}
	deleted := false
	for _, c := range resp.Cookies() {
		deleted = deleted || c.MaxAge < 0
	}
	if !deleted {
		t.Errorf("app A kept app B's cookie: %v", resp.Header.Values("Set-Cookie"))
	}
}
