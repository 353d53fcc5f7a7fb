// Package testenv wires a real OpenID Provider (devprovider), a protected API and
// an app using confidant into httptest servers, for tests.
package testenv

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// Options adjust the environment before it starts.
type Options struct {
	// Clock, when set, is the provider's, the client's, the store's and
	// the middleware's clock.
	Clock      *Clock
	OP         func(*devprovider.Config)
	Client     func(*client.Config)
	Cookie     func(*session.CookieConfig)
	Middleware func(*middleware.Config)
}

// Env is a running provider, API and app.
type Env struct {
	OP     *devprovider.Provider
	API    *devprovider.API
	APISrv *httptest.Server
	App    *httptest.Server
	Auth   *middleware.Auth
	Client *client.Client
	Store  *session.CookieStore
	Keys   [][]byte
	// Mux serves the app's routes (Routes); a test may add its own.
	Mux *http.ServeMux
}

const (
	ClientID     = "app"
	ClientSecret = "app-secret-value-never-logged"
)

// NewKey returns a random 32-byte key.
func NewKey() []byte { return session.NewKey() }

// New starts an environment; everything stops at the end of the test.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	opCfg := devprovider.Config{Clients: []devprovider.Client{{
		ID: ClientID, Secret: ClientSecret,
		Redirects:           []string{appURL + "/auth/callback"},
		PostLogoutRedirects: []string{appURL + "/"},
	}}}
	if o.Clock != nil {
		opCfg.Now = o.Clock.Now
	}
	if o.OP != nil {
		o.OP(&opCfg)
	}
	op, err := devprovider.Start(opCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	api := op.NewAPI()
	apiSrv := httptest.NewServer(api)
	t.Cleanup(apiSrv.Close)

	prov, err := client.Discover(context.Background(), op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	ccfg := client.Config{Provider: prov, ClientID: ClientID, ClientSecret: ClientSecret,
		RedirectURL: appURL + "/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}}
	if o.Clock != nil {
		ccfg.Now = o.Clock.Now
	}
	if o.Client != nil {
		o.Client(&ccfg)
	}
	c, err := client.New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	keys := [][]byte{NewKey()}
	scfg := session.CookieConfig{Keys: keys}
	if o.Clock != nil {
		scfg.Now = o.Clock.Now
	}
	if o.Cookie != nil {
		o.Cookie(&scfg)
	}
	store, err := session.NewCookieStore(scfg)
	if err != nil {
		t.Fatal(err)
	}
	mcfg := middleware.Config{Clients: []*client.Client{c}, Store: store, APIs: []middleware.API{{Name: "api", BaseURL: apiSrv.URL}}}
	if o.Clock != nil {
		mcfg.Now = o.Clock.Now
	}
	if o.Middleware != nil {
		o.Middleware(&mcfg)
	}
	// Everything the SDK says is collected and, at the end of the test
	// process, scanned for the secrets the providers issued.
	if mcfg.Logger == nil {
		mcfg.Logger = CollectLogger()
	}
	if mcfg.OnEvent == nil {
		mcfg.OnEvent = CollectEvent
	}
	noteApp()
	auth, err := middleware.New(mcfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{OP: op, API: api, APISrv: apiSrv, Auth: auth, Client: c, Store: store, Keys: keys}
	e.Mux = e.routes()
	app.Config.Handler = e.Mux
	app.Start()
	t.Cleanup(app.Close)
	e.App = app
	return e
}

func (e *Env) routes() *http.ServeMux {
	return Routes(e.Auth, func(*confidant.User) string { return e.APISrv.URL }, func(u *confidant.User) string { return u.Subject })
}

// Routes are the test apps' routes: /auth/; / (public); /whoami (Optional:
// who(user), or "anonymous"); /profile (Require: the user as JSON); /api
// (Require: calls apiURL(user) with the bearer client and relays the
// status and body; 503 with Retry-After when the call fails because the
// session store or provider is unavailable, 502 for another failure; a step-up when the API asks
// for one).
func Routes(auth *middleware.Auth, apiURL, who func(*confidant.User) string) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "public") })
	mux.Handle("/profile", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(middleware.UserFrom(r.Context()))
	})))
	mux.Handle("/whoami", auth.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := middleware.UserFrom(r.Context()); u != nil {
			io.WriteString(w, who(u))
			return
		}
		io.WriteString(w, "anonymous")
	})))
	mux.Handle("/api", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := auth.HTTPClient(r).Get(apiURL(middleware.UserFrom(r.Context())))
		if auth.StepUp(w, r, err) { // the API asked for a stronger sign-in
			return
		}
		if err != nil {
			if middleware.StatusCode(err) == http.StatusServiceUnavailable { // the session store or provider is away
				w.Header().Set("Retry-After", "1")
				http.Error(w, "api call failed: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
			http.Error(w, "api call failed: "+err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})))
	return mux
}

// Browser returns an HTTP client with its own cookie jar that sends the
// headers of a browser navigation and does not follow redirects.
func Browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: navTransport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type navTransport struct{ base http.RoundTripper }

func (n navTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if r.Header.Get("Accept") == "" {
		r.Header.Set("Accept", "text/html,application/xhtml+xml")
	}
	if n.base != nil {
		return n.base.RoundTrip(r)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// Get fetches path on the app with hc and returns the response with its
// body read.
func (e *Env) Get(t testing.TB, hc *http.Client, path string) (*http.Response, string) {
	t.Helper()
	resp, err := hc.Get(e.App.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// StartLogin requests path, expects the redirect to the provider and
// returns the authorization URL.
func (e *Env) StartLogin(t testing.TB, hc *http.Client, path string) *url.URL {
	t.Helper()
	resp, _ := e.Get(t, hc, path)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET %s: status %d, want 302", path, resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), e.OP.Issuer+"/") {
		t.Fatalf("GET %s: redirected to %q, want the provider", path, resp.Header.Get("Location"))
	}
	return loc
}

// ProviderLogin signs in at the provider and returns the callback URL the
// provider redirects to (not yet followed).
func (e *Env) ProviderLogin(t testing.TB, hc *http.Client, authURL *url.URL) *url.URL {
	t.Helper()
	cb, err := e.OP.Login(hc, authURL.String(), devprovider.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	return cb
}

// SignIn runs the whole sign-in for path and returns the final response
// after the callback (a redirect back to path).
func (e *Env) SignIn(t testing.TB, hc *http.Client, path string) *http.Response {
	t.Helper()
	cb := e.ProviderLogin(t, hc, e.StartLogin(t, hc, path))
	resp, err := hc.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// Session decodes the session that hc's cookie jar holds for the app, or
// returns nil when there is none.
func (e *Env) Session(t testing.TB, hc *http.Client) *session.Session {
	t.Helper()
	u, _ := url.Parse(e.App.URL)
	req, _ := http.NewRequest("GET", e.App.URL, nil)
	AddCookies(req, hc.Jar.Cookies(u))
	s, err := e.Store.Load(req)
	if err != nil {
		return nil
	}
	return s
}

// APIRequest asks the app's /api route (which calls the API with the
// bearer client) as a fetch would, and returns the status and body.
func (e *Env) APIRequest(t testing.TB, hc *http.Client) (int, string) {
	t.Helper()
	return APIRequest(t, hc, e.App.URL)
}

// APIRequest asks the /api route of the app at appURL as a fetch would.
func APIRequest(t testing.TB, hc *http.Client, appURL string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", appURL+"/api", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
