package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestWrappedWriterKeepsFeatures: inside Require, handlers can still use
// http.ResponseController (which needs Unwrap), Flush, Hijack and
// io.Copy's ReadFrom.
func TestWrappedWriterKeepsFeatures(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	mux := http.NewServeMux()
	mux.Handle("/deadline", env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline through the wrapper: %v", err)
		}
		if _, ok := w.(io.ReaderFrom); !ok {
			t.Error("wrapper hides io.ReaderFrom")
		}
		io.Copy(w, strings.NewReader("copied"))
	})))
	mux.Handle("/hijack", env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Error("wrapper hides http.Hijacker")
			return
		}
		conn, brw, err := hj.Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		brw.Flush()
	})))
	mux.Handle("/", env.App.Config.Handler)
	env.App.Config.Handler = mux
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	if _, body := env.Get(t, hc, "/deadline"); body != "copied" {
		t.Errorf("/deadline: %q", body)
	}
	if _, body := env.Get(t, hc, "/hijack"); body != "hijacked" {
		t.Errorf("/hijack: %q", body)
	}
}

// frameworkWriter is a router's own writer, as gin's is: its handlers write
// through it, so the SDK's writer never sees the response start.
type frameworkWriter struct {
	http.ResponseWriter
	wrote bool
}

func (f *frameworkWriter) WriteHeader(code int) { f.wrote = true; f.ResponseWriter.WriteHeader(code) }
func (f *frameworkWriter) Write(b []byte) (int, error) {
	f.wrote = true
	return f.ResponseWriter.Write(b)
}
func (f *frameworkWriter) Written() bool               { return f.wrote }
func (f *frameworkWriter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// TestRefreshInHandlerReachesBrowser: a refresh made while the handler runs
// (its API call found the access token about to expire) reaches the browser
// when the response goes through the SDK's writer: directly, after an
// Early Hints (which carries no cookie), after calls from several
// goroutines, or when nothing is written at all. A framework's own writer
// that the handler writes to directly, past the SDK's (as gin's handlers do
// unless the adapter routes them through it, see testdata/routers), gets no
// cookie, since the SDK cannot mark that response no-store: the rotated
// tokens then wait for the old cookie's next request instead of being
// lost.
func TestRefreshInHandlerReachesBrowser(t *testing.T) {
	clock := &testenv.Clock{}
	env := testenv.New(t, testenv.Options{Clock: clock})
	var (
		mu     sync.Mutex
		expiry time.Time
		hints  []http.Header // the 1xx responses' headers
	)
	callAPI := func(r *http.Request) {
		mu.Lock()
		clock.Set(expiry.Add(-5 * time.Second)) // due for a call, not before the handler
		mu.Unlock()
		resp, err := env.Auth.HTTPClient(r).Get(env.APISrv.URL)
		if err != nil {
			t.Errorf("API call: %v", err)
			return
		}
		resp.Body.Close()
	}
	cases := []struct {
		name    string
		handler func(fw, w http.ResponseWriter, r *http.Request)
		sent    bool // the new cookie reaches the browser with this response
	}{
		{"the SDK's writer", func(fw, w http.ResponseWriter, r *http.Request) { callAPI(r); io.WriteString(w, "ok") }, true},
		{"the framework's writer", func(fw, w http.ResponseWriter, r *http.Request) { callAPI(r); io.WriteString(fw, "ok") }, false},
		{"the framework's writer, status first", func(fw, w http.ResponseWriter, r *http.Request) {
			callAPI(r)
			fw.WriteHeader(http.StatusAccepted)
		}, false},
		{"after Early Hints", func(fw, w http.ResponseWriter, r *http.Request) {
			callAPI(r)
			w.Header().Set("Link", "</app.css>; rel=preload; as=style")
			w.WriteHeader(http.StatusEarlyHints)
			clear(w.Header()) // as httputil.ReverseProxy does after a 1xx
			io.WriteString(w, "ok")
		}, true},
		{"nothing written", func(fw, w http.ResponseWriter, r *http.Request) { callAPI(r) }, true},
		{"calls from several goroutines, then the answer", func(fw, w http.ResponseWriter, r *http.Request) {
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() { callAPI(r) }) // one refresh among them; the others wait for it
			}
			wg.Wait()
			io.WriteString(w, "ok")
		}, true},
		{"the framework's writer started first", func(fw, w http.ResponseWriter, r *http.Request) {
			io.WriteString(fw, "streaming…")
			http.NewResponseController(fw).Flush()
			callAPI(r)
		}, false},
	}
	mux := http.NewServeMux()
	for i, tc := range cases {
		mux.Handle(fmt.Sprintf("/case/%d", i), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fw := &frameworkWriter{ResponseWriter: w}
			env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tc.handler(fw, w, r)
			})).ServeHTTP(fw, r)
		}))
	}
	mux.Handle("/", env.App.Config.Handler)
	env.App.Config.Handler = mux
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock.Set(time.Time{})
			hc := testenv.Browser()
			env.SignIn(t, hc, "/profile")
			before := env.Session(t, hc)
			mu.Lock()
			expiry, hints = before.Expiry, nil
			mu.Unlock()
			trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				mu.Lock()
				defer mu.Unlock()
				hints = append(hints, http.Header(h))
				return nil
			}}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", fmt.Sprintf("%s/case/%d", env.App.URL, i), nil)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.ReadAll(resp.Body) // the handler runs until the body ends
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			for _, h := range hints {
				if v := h.Values("Set-Cookie"); len(v) > 0 {
					t.Errorf("a 1xx carried %d Set-Cookie lines", len(v))
				}
			}
			after := env.Session(t, hc)
			if got := after.RefreshToken != before.RefreshToken; got != tc.sent {
				t.Fatalf("the refreshed session reached the browser: %v, want %v (Set-Cookie: %d lines)", got, tc.sent, len(resp.Header.Values("Set-Cookie")))
			}
			// Past the in-process memory of refreshes in flight: the
			// browser's cookie (or, when it could not be sent, the
			// rotated tokens kept for the old one) still signs in.
			clock.Set(expiry.Add(3 * time.Minute))
			if resp, _ := env.Get(t, hc, "/profile"); resp.StatusCode != http.StatusOK {
				t.Errorf("/profile afterwards: %d", resp.StatusCode)
			}
			if n := env.OP.ReusedRefreshTokens(); n != 0 {
				t.Errorf("%d rotated-away refresh tokens presented", n)
			}
		})
	}
}

// TestAPICallsFromGoroutinesWhileSettingHeaders (issue 34, finding 5): a
// handler that calls APIs from several goroutines (an errgroup) while it
// sets its own headers: the refresh one of them makes never writes the
// header map from its goroutine (a concurrent map write is fatal, and the
// race detector reports it), and the rotated cookie still reaches the
// browser with the response. Before the fix, -race reported the refresh's
// write of the header map against the handler's.
func TestAPICallsFromGoroutinesWhileSettingHeaders(t *testing.T) {
	clock := &testenv.Clock{}
	env := testenv.New(t, testenv.Options{Clock: clock})
	var (
		mu     sync.Mutex
		expiry time.Time
	)
	mux := http.NewServeMux()
	mux.Handle("/fanout", env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		clock.Set(expiry.Add(-5 * time.Second)) // due for a call, not before the handler
		mu.Unlock()
		done := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				resp, err := env.Auth.HTTPClient(r).Get(env.APISrv.URL)
				if err != nil {
					t.Errorf("API call: %v", err)
					return
				}
				resp.Body.Close()
			})
		}
		go func() { wg.Wait(); close(done) }()
		for i := 0; ; i++ {
			select {
			case <-done:
				io.WriteString(w, "ok")
				return
			default:
				w.Header().Set(fmt.Sprintf("X-Part-%d", i%8), "x") // the handler's own headers, meanwhile
				w.Header().Del("X-Part-0")
			}
		}
	})))
	mux.Handle("/", env.App.Config.Handler)
	env.App.Config.Handler = mux
	for i := range 5 {
		clock.Set(time.Time{})
		hc := testenv.Browser()
		env.SignIn(t, hc, "/profile")
		before := env.Session(t, hc)
		mu.Lock()
		expiry = before.Expiry
		mu.Unlock()
		resp, body := env.Get(t, hc, "/fanout")
		if resp.StatusCode != http.StatusOK || body != "ok" {
			t.Fatalf("round %d: %d %q", i, resp.StatusCode, body)
		}
		checkNoStore(t, "fanout", resp)
		if after := env.Session(t, hc); after == nil || after.RefreshToken == before.RefreshToken {
			t.Fatalf("round %d: the refreshed session did not reach the browser", i)
		}
	}
	if n := env.OP.ReusedRefreshTokens(); n != 0 {
		t.Errorf("%d rotated-away refresh tokens presented", n)
	}
}
