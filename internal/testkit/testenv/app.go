package testenv

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// App is an app signed in through any providers (emulated ones included).
type App struct {
	Server *httptest.Server
	URL    string
	Auth   *middleware.Auth
	Store  *session.CookieStore
	// APIs maps a provider name to the API URL /api calls for its users.
	APIs map[string]string
	// Mux serves the app's routes; a test may add its own.
	Mux *http.ServeMux
}

// NewApp starts an app: configure returns the middleware config for the
// app's URL (Store is filled in when nil). Routes: /auth/, /whoami
// (Optional), /profile and /api (Require; /api calls APIs[provider] with
// the bearer client and relays status and body).
func NewApp(t testing.TB, apis map[string]string, configure func(appURL string) middleware.Config) *App {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	a := &App{Server: srv, URL: "http://" + srv.Listener.Addr().String(), APIs: apis}
	cfg := configure(a.URL)
	if cfg.APIs == nil {
		for provider, u := range apis {
			cfg.APIs = append(cfg.APIs, middleware.API{Name: provider + "-api", BaseURL: u, Provider: provider})
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = CollectLogger()
	}
	if cfg.OnEvent == nil {
		cfg.OnEvent = CollectEvent
	}
	noteApp()
	if cfg.Store == nil {
		store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{NewKey()}})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Store = store
	}
	a.Store, _ = cfg.Store.(*session.CookieStore)
	auth, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.Auth = auth
	a.Mux = Routes(auth, func(u *confidant.User) string { return a.APIs[u.Provider] }, func(u *confidant.User) string { return u.Provider + ":" + u.Subject })
	srv.Config.Handler = a.Mux
	srv.Start()
	t.Cleanup(srv.Close)
	return a
}

// BrowserVia is Browser with requests sent through rt (e.g. emulated
// provider hosts).
func BrowserVia(rt http.RoundTripper) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: navTransport{base: rt},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Do sends a request with hc, failing t when it cannot be sent; accept,
// when set, is its Accept header ("text/html" for a navigation).
func Do(t testing.TB, hc *http.Client, method, u, accept string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Body returns resp's body, closed.
func Body(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
