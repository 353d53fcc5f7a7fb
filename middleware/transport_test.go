package middleware_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// TestDefaultTransportReusesConnections: with no APITransport, the
// bearer client and the BFF proxy keep their connections to an API at the
// concurrency they carry: 32 calls at once, ten rounds, open about 32
// connections, not one per call (http.DefaultTransport keeps 2 idle per
// host, so most calls would dial anew).
func TestDefaultTransportReusesConnections(t *testing.T) {
	var dialed atomic.Int64
	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true}`)
	}))
	api.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialed.Add(1)
		}
	}
	api.Start()
	defer api.Close()
	env := testenv.New(t, testenv.Options{Middleware: func(cfg *middleware.Config) {
		cfg.APIs = []middleware.API{{Name: "api", BaseURL: api.URL + "/"}}
	}})
	env.Mux.Handle("/call", env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := env.Auth.HTTPClient(r).Get(api.URL + "/x")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		io.Copy(w, resp.Body)
		resp.Body.Close()
	})))
	env.Mux.Handle("/bff/", env.Auth.Require(http.StripPrefix("/bff", env.Auth.Proxy("api"))))
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	cookies := hc.Jar.Cookies(mustURL(env.App.URL))
	// The app's own clients to it keep their connections too, so that
	// only the app's connections to the API are counted.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, path := range []string{"/call", "/bff/x"} {
		before := dialed.Load()
		var wg sync.WaitGroup
		var failed atomic.Int64
		for range 32 {
			wg.Go(func() {
				for range 10 {
					req, _ := http.NewRequest(http.MethodGet, env.App.URL+path, nil)
					req.Header.Set(middleware.AntiForgeryHeader, "1")
					req.Header.Set("Accept", "application/json")
					testenv.AddCookies(req, cookies)
					resp, err := client.Do(req)
					if err != nil || resp.StatusCode != http.StatusOK {
						failed.Add(1)
						if err == nil {
							resp.Body.Close()
						}
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		n := dialed.Load() - before
		t.Logf("%s: 320 calls, 32 at a time: %d connections to the API (%.3f per call)", path, n, float64(n)/320)
		if failed.Load() != 0 {
			t.Fatalf("%s: %d calls failed", path, failed.Load())
		}
		if n > 48 {
			t.Errorf("%s: 320 calls, 32 at a time, opened %d connections to the API: want them kept (at most 48)", path, n)
		}
	}
}
