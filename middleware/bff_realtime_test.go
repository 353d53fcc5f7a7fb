package middleware_test

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// rejections records the errors of the Rejected events of an environment
// (and passes every event on to the test process's secret scan).
type rejections struct {
	mu   sync.Mutex
	errs []error
}

func (re *rejections) install(c *middleware.Config) {
	c.OnEvent = func(ctx context.Context, e event.Event) {
		testenv.CollectEvent(ctx, e)
		if e.Kind == event.Rejected {
			re.mu.Lock()
			re.errs = append(re.errs, e.Err)
			re.mu.Unlock()
		}
	}
}

// take returns the errors recorded since the last take.
func (re *rejections) take() []error {
	re.mu.Lock()
	defer re.mu.Unlock()
	errs := re.errs
	re.errs = nil
	return errs
}

// TestEventStreamNeedsFetchMetadata (mutation audit, issue 34): an
// EventSource cannot send X-CSRF, so Proxy takes a GET that asks only for
// text/event-stream on Sec-Fetch-Site: same-origin instead. Chromium
// always sends Fetch Metadata, and a cross-site stream of Chromium's is
// refused by the origin check too; the rule is what refuses a request
// without Fetch Metadata, which the origin check lets through: with no
// Sec-Fetch-Site, with the app's own Origin or none, a stream without
// X-CSRF gets 403 (fail.AntiForgery) and reaches nothing. With the header,
// or from the app's own page (same-origin), it goes through.
func TestEventStreamNeedsFetchMetadata(t *testing.T) {
	api := &echoAPI{}
	var rej rejections
	env := newBFFOpts(t, api, testenv.Options{Middleware: rej.install})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	for _, tc := range []struct {
		name   string
		header http.Header
		status int
	}{
		{"no Fetch Metadata, no Origin", http.Header{}, http.StatusForbidden},
		{"no Fetch Metadata, the app's own Origin", http.Header{"Origin": {env.App.URL}}, http.StatusForbidden},
		{"Sec-Fetch-Site: none", http.Header{"Sec-Fetch-Site": {"none"}}, http.StatusForbidden},
		{"Sec-Fetch-Site: same-site", http.Header{"Sec-Fetch-Site": {"same-site"}, "Origin": {"http://localhost:1"}}, http.StatusForbidden},
		{"Sec-Fetch-Site: same-origin", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {env.App.URL}}, http.StatusOK},
		{"no Fetch Metadata, with the anti-forgery header", http.Header{middleware.AntiForgeryHeader: {"1"}}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(api.received())
			rej.take()
			req, _ := http.NewRequest("GET", env.App.URL+"/bff/echo/events", nil)
			for k, v := range tc.header {
				req.Header[k] = v
			}
			req.Header.Set("Accept", "text/event-stream")
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			reached := len(api.received()) - before
			if resp.StatusCode != tc.status {
				t.Fatalf("%d, want %d (%d calls reached the API)", resp.StatusCode, tc.status, reached)
			}
			if tc.status == http.StatusOK {
				if reached != 1 {
					t.Errorf("%d calls reached the API, want 1", reached)
				}
				return
			}
			if reached != 0 {
				t.Errorf("%d calls reached the API", reached)
			}
			if errs := rej.take(); len(errs) != 1 || !errors.Is(errs[0], fail.AntiForgery) {
				t.Errorf("rejected with %v, want one fail.AntiForgery", errs)
			}
		})
	}
}

// TestWebSocketHandshakeForwardsNoCookieOrOrigin (mutation audit, issue
// 34): a WebSocket handshake through Proxy carries the browser's cookies
// and Origin, which the proxy checks and never passes on: the API gets the
// user's token and the handshake's own headers (key, version, protocol),
// not the Cookie, the Origin, Fetch Metadata or the app's headers. The
// API records the handshake it received and switches protocols (RFC 6455
// 4.2.2); the connection then carries bytes both ways. (The handshake is
// written out here rather than with a WebSocket package, which every app
// that imports middleware would then find in its go.sum; TestBFFRealTime
// runs a real one from Chromium.)
func TestWebSocketHandshakeForwardsNoCookieOrOrigin(t *testing.T) {
	var mu sync.Mutex
	var handshakes []http.Header
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		handshakes = append(handshakes, r.Header.Clone())
		mu.Unlock()
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + wsAccept(r.Header.Get("Sec-WebSocket-Key")) + "\r\nSec-WebSocket-Protocol: orders.v1\r\n\r\n")
		rw.Flush()
		msg := make([]byte, 4)
		if _, err := io.ReadFull(rw, msg); err == nil {
			rw.WriteString("echo: " + string(msg))
			rw.Flush()
		}
	})
	env := newBFF(t, api)
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	sess := env.Session(t, hc)

	// The browser's handshake: its cookies (from the jar), its Origin (the
	// app's), Fetch Metadata, and headers a page cannot set but a hostile
	// client might.
	key := base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))
	req, _ := http.NewRequest("GET", env.App.URL+"/bff/echo/live", nil)
	for k, v := range map[string]string{
		"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13",
		"Sec-WebSocket-Protocol": "orders.v1", "Origin": env.App.URL, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "websocket",
		"Authorization": "Bearer from-the-browser", "X-App-Internal": "secret",
	} {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != wsAccept(key) {
		t.Fatalf("the handshake through the proxy: %d, Sec-WebSocket-Accept %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	conn, ok := resp.Body.(io.ReadWriter)
	if !ok {
		t.Fatalf("the switched connection is a %T", resp.Body)
	}
	if _, err := io.WriteString(conn, "ping"); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, len("echo: ping"))
	if _, err := io.ReadFull(conn, reply); err != nil || string(reply) != "echo: ping" {
		t.Fatalf("over the connection: %q %v", reply, err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(handshakes) != 1 {
		t.Fatalf("the API got %d handshakes, want 1", len(handshakes))
	}
	got := handshakes[0]
	if a := got.Get("Authorization"); a != "Bearer "+sess.AccessToken {
		t.Errorf("Authorization %q, want the session's token", a)
	}
	if got.Get("Sec-Websocket-Key") != key || got.Get("Sec-Websocket-Version") != "13" || got.Get("Sec-Websocket-Protocol") != "orders.v1" ||
		!strings.EqualFold(got.Get("Upgrade"), "websocket") {
		t.Errorf("the handshake's own headers did not arrive: %v", slices.Sorted(maps.Keys(got)))
	}
	for _, k := range []string{"Cookie", "Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode", "X-App-Internal", middleware.AntiForgeryHeader} {
		if v := got.Values(k); len(v) > 0 {
			t.Errorf("%s reached the API (%d bytes)", k, len(strings.Join(v, ""))) // not the value: a cookie is a credential
		}
	}
}

// wsAccept is the Sec-WebSocket-Accept that answers key (RFC 6455 4.2.2).
func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}
