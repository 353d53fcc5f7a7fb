package middleware_test

// An attack review of #40 (the process's default transport, the Proxy's
// pooled buffers and flushing, the bodiless redirect, the entry cache).
// Each test fails on the code as it is and names the weakness it shows.

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// inOwnProcess runs the test again in a process of its own and reports
// whether this is that process: a test that replaces
// http.DefaultTransport must not race with other tests' requests, and the
// SDK's default transport is one per process.
func inOwnProcess(t *testing.T) bool {
	t.Helper()
	if os.Getenv("ATK40_CHILD") == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "ATK40_CHILD="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("in a process of its own: %v\n%s", err, out)
	}
	return false
}

// atk40Recorder is an app's own http.DefaultTransport (tracing, a
// corporate proxy, gock or httpmock in its tests): it counts the requests
// to host and sends every request on.
type atk40Recorder struct {
	base http.RoundTripper
	host string
	n    atomic.Int64
}

func (r *atk40Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == r.host {
		r.n.Add(1)
	}
	return r.base.RoundTrip(req)
}

// TestAttack40DefaultTransportSetLaterIgnored: the configuration says an
// app with no APITransport gets "http.DefaultTransport's settings"; before
// #40 its calls went through http.DefaultTransport itself. Now the SDK's
// transport is copied once per process, at the SDK's first use, so an
// http.DefaultTransport the app (or its test suite: gock, httpmock) sets
// afterwards is silently bypassed, even by an Auth made after it was set;
// and one set only for a while before that first use stays the SDK's
// transport for the rest of the process.
func TestAttack40DefaultTransportSetLaterIgnored(t *testing.T) {
	if !inOwnProcess(t) {
		return
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true}`)
	}))
	defer api.Close()
	apis := func(cfg *middleware.Config) {
		cfg.APIs = []middleware.API{{Name: "api", BaseURL: api.URL + "/"}}
	}
	// A first Auth of the process (another tenant, an earlier test).
	testenv.New(t, testenv.Options{Middleware: apis})

	orig := http.DefaultTransport
	rec := &atk40Recorder{base: orig, host: strings.TrimPrefix(api.URL, "http://")}
	http.DefaultTransport = rec
	t.Cleanup(func() { http.DefaultTransport = orig })

	// An Auth made after the app set http.DefaultTransport, no APITransport.
	env := testenv.New(t, testenv.Options{Middleware: apis})
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
	for _, path := range []string{"/call", "/bff/x"} {
		before := rec.n.Load()
		req, _ := http.NewRequest(http.MethodGet, env.App.URL+path, nil)
		req.Header.Set(middleware.AntiForgeryHeader, "1")
		req.Header.Set("Accept", "application/json")
		testenv.AddCookies(req, cookies)
		resp, err := orig.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		if rec.n.Load() == before {
			t.Errorf("%s: the call to the API did not go through http.DefaultTransport, which the app set before this Auth was made (the SDK kept the copy it made at its first use)", path)
		}
	}
}

// TestAttack40ProxyKnownLengthHeld: an API answers with a known
// Content-Length, sends its status, headers and first bytes at once and
// the rest later (a slow export, a progress document, a long poll that
// answers its headers first). Before #40 (FlushInterval -1) the page got
// the status and the first bytes as the API sent them; now nothing at
// all reaches the browser, not even the status line, until 2 KiB of body
// have gathered or the API finishes: fetch() stays pending for the whole
// response, although Proxy's documentation says responses are streamed.
func TestAttack40ProxyKnownLengthHeld(t *testing.T) {
	release := make(chan struct{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.Repeat("y", 984)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"progress":"0%"}`[:16])
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		io.WriteString(w, rest)
	}))
	defer api.Close()
	defer close(release)
	env := testenv.New(t, testenv.Options{Middleware: func(cfg *middleware.Config) {
		cfg.APIs = []middleware.API{{Name: "api", BaseURL: api.URL + "/"}}
	}})
	env.Mux.Handle("/bff/", env.Auth.Require(http.StripPrefix("/bff", env.Auth.Proxy("api"))))
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	cookies := hc.Jar.Cookies(mustURL(env.App.URL))

	req, _ := http.NewRequest(http.MethodGet, env.App.URL+"/bff/export", nil)
	req.Header.Set(middleware.AntiForgeryHeader, "1")
	req.Header.Set("Accept", "application/json")
	testenv.AddCookies(req, cookies)
	got := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Error(err)
			close(got)
			return
		}
		got <- resp
	}()
	select {
	case resp := <-got:
		if resp == nil {
			return
		}
		defer resp.Body.Close()
		buf := make([]byte, 16)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { _, err := io.ReadFull(resp.Body, buf); done <- err }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the first bytes: %v", err)
			}
		case <-ctx.Done():
			t.Errorf("status %d arrived, but not the 16 bytes the API had sent and flushed 2 s before", resp.StatusCode)
		}
	case <-time.After(2 * time.Second):
		t.Errorf("2 s after the API sent its 200, its headers and its first 16 bytes (Content-Length: 1000), the browser has received nothing through Proxy, not even the status")
	}
}

// TestAttack40DefaultTransportStuck: the other side of the copy made at
// the first use. A test suite (gock, httpmock) or an app that sets
// http.DefaultTransport for a while, and restores it, leaves its
// transport as the SDK's for the rest of the process when the SDK was
// first used meanwhile: every later Auth's API calls still go through the
// mock that was removed. Run in a process of its own (the copy is made
// once per process).
func TestAttack40DefaultTransportStuck(t *testing.T) {
	if !inOwnProcess(t) {
		return
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true}`)
	}))
	defer api.Close()
	apis := func(cfg *middleware.Config) {
		cfg.APIs = []middleware.API{{Name: "api", BaseURL: api.URL + "/"}}
	}
	orig := http.DefaultTransport
	mock := &atk40Recorder{base: orig, host: strings.TrimPrefix(api.URL, "http://")}
	http.DefaultTransport = mock // an earlier test's mock, networking allowed
	testenv.New(t, testenv.Options{Middleware: apis})
	http.DefaultTransport = orig // that test's cleanup: the mock is gone

	env := testenv.New(t, testenv.Options{Middleware: apis})
	env.Mux.Handle("/call", env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := env.Auth.HTTPClient(r).Get(api.URL + "/x")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		io.Copy(w, resp.Body)
		resp.Body.Close()
	})))
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	resp, body := env.Get(t, hc, "/call")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/call: %d %s", resp.StatusCode, body)
	}
	if n := mock.n.Load(); n != 0 {
		t.Errorf("%d call(s) of an Auth made after http.DefaultTransport was restored went through the transport it held before (a removed mock)", n)
	}
}
