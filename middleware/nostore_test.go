package middleware_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/session"
)

// checkNoStore fails when resp carries a Set-Cookie line and is not
// Cache-Control: no-store (and nothing else) with Vary: Cookie, or keeps a
// CDN's own caching field, which a CDN obeys over Cache-Control.
func checkNoStore(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	if len(resp.Header.Values("Set-Cookie")) == 0 {
		return
	}
	if cc := resp.Header.Values("Cache-Control"); len(cc) != 1 || cc[0] != "no-store" {
		t.Errorf("%s: a response with %d Set-Cookie lines has Cache-Control %q, want exactly no-store", what, len(resp.Header.Values("Set-Cookie")), cc)
	}
	vary := false
	for _, v := range resp.Header.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			vary = vary || strings.EqualFold(strings.TrimSpace(f), "Cookie")
		}
	}
	if !vary {
		t.Errorf("%s: a response with Set-Cookie has Vary %q, want Cookie among them", what, resp.Header.Values("Vary"))
	}
	for _, k := range []string{"CDN-Cache-Control", "Surrogate-Control", "Cloudflare-CDN-Cache-Control"} {
		if v := resp.Header.Get(k); v != "" {
			t.Errorf("%s: a response with Set-Cookie keeps %s: %q", what, k, v)
		}
	}
}

// publicCaching is what a page behind a CDN sets: cache me, for everyone.
func publicCaching(h http.Header) {
	h.Set("Cache-Control", "public, max-age=600")
	h.Set("CDN-Cache-Control", "max-age=600")
	h.Set("Surrogate-Control", "max-age=600")
}

// TestSessionCookieNeverCacheable (issue 34, finding 1): a response that
// carries a cookie of the SDK (a touched, refreshed or deleted session, a
// sign-in's flow cookie, a sign-out) leaves Cache-Control: no-store and
// Vary: Cookie, whatever caching the handler asked for, whichever way the
// response is written (the SDK's writer, a Flush first, nothing at all,
// httputil.ReverseProxy with and without 103 Early Hints), whenever the
// cookie was placed (before the handler, or by a refresh while it runs),
// under Require and Optional. Before the fix the handler's
// "public, max-age=600" went out with the sealed session.
func TestSessionCookieNeverCacheable(t *testing.T) {
	clock := &testenv.Clock{}
	env := testenv.New(t, testenv.Options{Clock: clock,
		// An idle timeout of an hour: a session is touched (saved again)
		// when it was last seen 150 s ago.
		Cookie: func(c *session.CookieConfig) { c.Timeouts.Idle = time.Hour }})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("hints") {
			w.Header().Set("Link", "</app.css>; rel=preload; as=style")
			w.WriteHeader(http.StatusEarlyHints)
		}
		publicCaching(w.Header())
		io.WriteString(w, "upstream")
	}))
	t.Cleanup(upstream.Close)
	u, _ := url.Parse(upstream.URL)
	rp := httputil.NewSingleHostReverseProxy(u)

	var (
		mu     sync.Mutex
		during bool      // the case refreshes while the handler runs
		expiry time.Time // the access token's
	)
	callAPI := func(r *http.Request) {
		mu.Lock()
		d := during
		if d {
			clock.Set(expiry.Add(-5 * time.Second)) // due for a call, not before the handler
		}
		mu.Unlock()
		if !d {
			return
		}
		resp, err := env.Auth.HTTPClient(r).Get(env.APISrv.URL)
		if err != nil {
			t.Errorf("API call: %v", err)
			return
		}
		resp.Body.Close()
	}
	writers := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"the SDK's writer", func(w http.ResponseWriter, r *http.Request) {
			publicCaching(w.Header())
			callAPI(r)
			io.WriteString(w, "page")
		}},
		{"a refresh after the handler set its headers, from another goroutine", func(w http.ResponseWriter, r *http.Request) {
			publicCaching(w.Header())
			var wg sync.WaitGroup
			wg.Go(func() { callAPI(r) })
			wg.Wait()
			io.WriteString(w, "page")
		}},
		{"a Flush first", func(w http.ResponseWriter, r *http.Request) {
			callAPI(r)
			publicCaching(w.Header())
			http.NewResponseController(w).Flush()
			io.WriteString(w, "page")
		}},
		{"a status only", func(w http.ResponseWriter, r *http.Request) {
			callAPI(r)
			publicCaching(w.Header())
			w.WriteHeader(http.StatusNoContent)
		}},
		{"nothing written", func(w http.ResponseWriter, r *http.Request) {
			callAPI(r)
			publicCaching(w.Header())
		}},
		{"httputil.ReverseProxy", func(w http.ResponseWriter, r *http.Request) {
			callAPI(r)
			rp.ServeHTTP(w, r)
		}},
		{"httputil.ReverseProxy after 103 Early Hints", func(w http.ResponseWriter, r *http.Request) {
			callAPI(r)
			r.URL.RawQuery = "hints"
			rp.ServeHTTP(w, r)
		}},
	}
	mux := http.NewServeMux()
	for i, wr := range writers {
		mux.Handle(fmt.Sprintf("/req/%d", i), env.Auth.Require(wr.h))
		mux.Handle(fmt.Sprintf("/opt/%d", i), env.Auth.Optional(wr.h))
	}
	outer := func(next http.Handler) http.Handler { // an app's wrapper that marks everything cacheable first
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			publicCaching(w.Header())
			next.ServeHTTP(w, r)
		})
	}
	mux.Handle("/wrapped/", http.StripPrefix("/wrapped", outer(env.Mux)))
	mux.Handle("/", env.Mux)
	env.App.Config.Handler = mux

	placements := []struct {
		name   string
		before func(t *testing.T, hc *http.Client, s *session.Session) // sets the stage after sign-in
		during bool
		check  func(t *testing.T, before, after *session.Session) // what the browser holds afterwards
	}{
		{"a touch", func(t *testing.T, hc *http.Client, s *session.Session) {
			clock.Set(s.LastSeen.Add(3 * time.Minute))
		}, false, func(t *testing.T, before, after *session.Session) {
			if after == nil || !after.LastSeen.After(before.LastSeen) {
				t.Errorf("the touched session did not reach the browser")
			}
		}},
		{"a refresh before the handler", func(t *testing.T, hc *http.Client, s *session.Session) {
			clock.Set(s.Expiry.Add(-30 * time.Second))
		}, false, func(t *testing.T, before, after *session.Session) {
			if after == nil || after.RefreshToken == before.RefreshToken {
				t.Errorf("the refreshed session did not reach the browser")
			}
		}},
		{"a refresh while the handler runs", func(t *testing.T, hc *http.Client, s *session.Session) {}, true,
			func(t *testing.T, before, after *session.Session) {
				if after == nil || after.RefreshToken == before.RefreshToken {
					t.Errorf("the refreshed session did not reach the browser")
				}
			}},
		{"a deletion (the cookie was tampered with)", func(t *testing.T, hc *http.Client, s *session.Session) {
			app, _ := url.Parse(env.App.URL)
			var bad []*http.Cookie
			for _, c := range hc.Jar.Cookies(app) {
				bad = append(bad, &http.Cookie{Name: c.Name, Value: strings.Repeat("A", len(c.Value)), Path: "/"})
			}
			hc.Jar.SetCookies(app, bad)
		}, false, func(t *testing.T, before, after *session.Session) {
			if after != nil {
				t.Errorf("the browser still holds a session")
			}
		}},
	}
	for _, p := range placements {
		for i, wr := range writers {
			for _, mw := range []string{"req", "opt"} {
				if mw == "req" && strings.HasPrefix(p.name, "a deletion") {
					continue // Require answers that itself (401 or the redirect)
				}
				t.Run(fmt.Sprintf("%s, %s, %s", p.name, mw, wr.name), func(t *testing.T) {
					clock.Set(time.Time{})
					hc := testenv.Browser()
					env.SignIn(t, hc, "/profile")
					before := env.Session(t, hc)
					mu.Lock()
					during, expiry = p.during, before.Expiry
					mu.Unlock()
					p.before(t, hc, before)
					resp, body := env.Get(t, hc, fmt.Sprintf("/%s/%d", mw, i))
					if resp.StatusCode >= 300 {
						t.Fatalf("status %d: %s", resp.StatusCode, body)
					}
					if len(resp.Header.Values("Set-Cookie")) == 0 {
						t.Errorf("no Set-Cookie: the %s never reached the browser", p.name)
					}
					checkNoStore(t, p.name, resp)
					p.check(t, before, env.Session(t, hc))
				})
			}
		}
	}

	// The SDK's own responses behind a wrapper that marked them cacheable
	// first: the redirect to sign in (flow cookie) and the sign-out.
	t.Run("sign-in redirect", func(t *testing.T) {
		clock.Set(time.Time{})
		resp, _ := env.Get(t, testenv.Browser(), "/wrapped/profile")
		if resp.StatusCode != http.StatusFound || len(resp.Header.Values("Set-Cookie")) == 0 {
			t.Fatalf("status %d, %d Set-Cookie lines: want the redirect with a flow cookie", resp.StatusCode, len(resp.Header.Values("Set-Cookie")))
		}
		checkNoStore(t, "sign-in redirect", resp)
	})
	t.Run("sign-out", func(t *testing.T) {
		clock.Set(time.Time{})
		hc := testenv.Browser()
		env.SignIn(t, hc, "/profile")
		req, _ := http.NewRequest("POST", env.App.URL+"/wrapped/auth/logout", nil)
		req.Header.Set("Origin", env.App.URL)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if len(resp.Header.Values("Set-Cookie")) == 0 {
			t.Fatalf("status %d, no Set-Cookie: want the session cleared", resp.StatusCode)
		}
		checkNoStore(t, "sign-out", resp)
	})
}

// TestHandlerResponsesVaryByCookie: a response of a handler behind Require
// or Optional depends on who is signed in, so it carries Vary: Cookie even
// when no cookie rides it (a signed-in page that the handler marked
// public, an anonymous one): a cache keys it by the cookie instead of
// handing one user's page to the next. Its Cache-Control stays the
// handler's.
func TestHandlerResponsesVaryByCookie(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Header().Set("Vary", "Accept-Encoding")
		io.WriteString(w, "page")
	})
	env.Mux.Handle("/opt", env.Auth.Optional(page))
	env.Mux.Handle("/req", env.Auth.Require(page))
	env.Mux.Handle("/empty", env.Auth.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	check := func(what string, resp *http.Response) {
		t.Helper()
		vary := strings.Join(resp.Header.Values("Vary"), ",")
		if !strings.Contains(vary, "Cookie") || !strings.Contains(vary, "Accept-Encoding") && !strings.HasPrefix(what, "empty") {
			t.Errorf("%s: Vary %q, want Cookie added to the handler's", what, vary)
		}
		if len(resp.Header.Values("Set-Cookie")) == 0 && !strings.HasPrefix(what, "empty") && resp.Header.Get("Cache-Control") != "public, max-age=600" {
			t.Errorf("%s: Cache-Control %q, want the handler's", what, resp.Header.Get("Cache-Control"))
		}
	}
	resp, _ := env.Get(t, testenv.Browser(), "/opt")
	check("anonymous", resp)
	resp, _ = env.Get(t, testenv.Browser(), "/empty")
	check("empty, anonymous", resp)
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	for _, p := range []string{"/opt", "/req", "/empty"} {
		resp, _ := env.Get(t, hc, p)
		if len(resp.Header.Values("Set-Cookie")) != 0 {
			t.Fatalf("%s: a cookie rode it; this test is about responses without one", p)
		}
		check(strings.TrimPrefix(p, "/")+", signed in", resp)
	}
}
