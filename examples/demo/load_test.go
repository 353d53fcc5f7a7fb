package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// signInHTTP signs the demo user in with a plain HTTP client, the way a
// browser would: login → the provider's form → POST → back to the app.
func signInHTTP(t testing.TB, appURL string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.Get(appURL + "/auth/login?return_to=/profile")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	form := resp.Request.URL // the provider's login form
	id := form.Query().Get("id")
	if id == "" {
		t.Fatalf("expected the provider's login form, at %s", form)
	}
	resp, err = hc.PostForm(form.Scheme+"://"+form.Host+"/login", url.Values{"id": {id}, "username": {"demo"}, "password": {"demo"}, "action": {"login"}})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Request.URL.String() != appURL+"/profile" || resp.StatusCode != 200 {
		t.Fatalf("sign-in ended at %s with %d", resp.Request.URL, resp.StatusCode)
	}
	return hc
}

// TestLoad: 20,000 requests of signed-in clients over 50 connections to the
// demo's protected route, on loopback: no errors, and no goroutine or heap
// growth once they are done.
func TestLoad(t *testing.T) {
	if testing.Short() {
		testenv.Skip(t, "load test skipped with -short")
	}
	appURL := startDemo(t, 0)
	var cookies [][]*http.Cookie
	for range 5 { // five users
		hc := signInHTTP(t, appURL)
		u, _ := url.Parse(appURL)
		cookies = append(cookies, hc.Jar.Cookies(u))
	}
	tr := &http.Transport{MaxConnsPerHost: 50, MaxIdleConnsPerHost: 50}
	hc := &http.Client{Transport: tr}
	run := func(total int) (ok, failed int64) {
		var next atomic.Int64
		var okN, bad atomic.Int64
		var wg sync.WaitGroup
		for w := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(total) {
					req, _ := http.NewRequest("GET", appURL+"/profile", nil)
					req.Header.Set("Accept", "application/json")
					testenv.AddCookies(req, cookies[w%len(cookies)])
					resp, err := hc.Do(req)
					if err != nil {
						bad.Add(1)
						continue
					}
					var claims map[string]any
					derr := json.NewDecoder(resp.Body).Decode(&claims)
					resp.Body.Close()
					if resp.StatusCode != 200 || derr != nil || claims["sub"] == nil {
						bad.Add(1)
						continue
					}
					okN.Add(1)
				}
			}()
		}
		wg.Wait()
		return okN.Load(), bad.Load()
	}
	run(1000) // warm up: connections, caches
	tr.CloseIdleConnections()
	settle()
	g0, h0 := runtime.NumGoroutine(), heap()

	ok, failed := run(20000)
	tr.CloseIdleConnections()
	settle()
	g1, h1 := runtime.NumGoroutine(), heap()
	t.Logf("20000 requests: %d ok, %d failed; goroutines %d → %d; heap %d KiB → %d KiB", ok, failed, g0, g1, h0>>10, h1>>10)
	if ok != 20000 || failed != 0 {
		t.Errorf("%d ok, %d failed; want 20000 ok", ok, failed)
	}
	if g1 > g0+5 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if h1 > h0+8<<20 {
		t.Errorf("heap grew from %d KiB to %d KiB", h0>>10, h1>>10)
	}
}

// settle lets closed connections' goroutines end.
func settle() {
	for range 50 {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
}

func heap() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
