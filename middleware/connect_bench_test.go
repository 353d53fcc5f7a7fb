package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
)

// BenchmarkConnectedCall: a call to a connected API from a handler
// (request: the session's cookie opened, the user's grant read from Redis
// and opened) against the same call from a background job (ClientFor: the
// grant only), to the same loopback backend, in the same run; and, as
// baselines, the backend called with a fixed token (no SDK) and one Redis
// round trip (a grant's read).
func BenchmarkConnectedCall(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	defer backend.Close()
	rdb := testenv.StartRedis(b).Client()
	var appURL string
	var op2 *devprovider.Provider
	env := testenv.New(b, testenv.Options{
		OP: func(c *devprovider.Config) { appURL = strings.TrimSuffix(c.Clients[0].Redirects[0], "/auth/callback") },
		Middleware: func(c *middleware.Config) {
			var err error
			op2, err = devprovider.Start(devprovider.Config{Clients: []devprovider.Client{{ID: "api2", Secret: "api2-secret-value-never-logged",
				Redirects: []string{appURL + "/auth/callback"}}}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(op2.Close)
			prov, err := client.Discover(b.Context(), op2.Issuer)
			if err != nil {
				b.Fatal(err)
			}
			c2, err := client.New(client.Config{Provider: prov, ClientID: "api2", ClientSecret: "api2-secret-value-never-logged",
				RedirectURL: appURL + "/auth/callback"})
			if err != nil {
				b.Fatal(err)
			}
			c.APIs = append(c.APIs, middleware.API{Name: "api2", BaseURL: backend.URL + "/", Client: c2, Scopes: []string{"openid"}})
			c.DenyList = &redisstore.DenyList{Client: rdb}
		},
	})
	hc := testenv.Browser()
	env.SignIn(b, hc, "/profile")
	resp, _ := env.Get(b, hc, "/auth/connect?api=api2&return_to=/profile")
	cb, err := op2.Login(hc, resp.Header.Get("Location"), devprovider.DemoUser)
	if err != nil {
		b.Fatal(err)
	}
	if resp, _ := env.Get(b, hc, strings.TrimPrefix(cb.String(), env.App.URL)); resp.StatusCode != http.StatusFound {
		b.Fatalf("connect callback: %d", resp.StatusCode)
	}
	cookies := hc.Jar.Cookies(mustURL(env.App.URL))
	a := env.Auth
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := a.HTTPClient(r).Get(backend.URL + "/items")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	}))
	b.Run("bare-call", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest("GET", backend.URL+"/items", nil)
			req.Header.Set("Authorization", "Bearer fixed")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("redis-round-trip", func(b *testing.B) {
		for b.Loop() {
			if err := rdb.HGet(b.Context(), "bench", "x").Err(); err != nil && err.Error() != "redis: nil" {
				b.Fatal(err)
			}
		}
	})
	b.Run("request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			req := requestWith(cookies)
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
	bg := a.ClientFor(env.Client.Provider().Name(), devprovider.DemoUser.ID)
	b.Run("background", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := bg.Get(backend.URL + "/items")
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("%d", resp.StatusCode)
			}
		}
	})
}
