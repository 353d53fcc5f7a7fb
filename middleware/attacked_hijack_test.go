package middleware_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestHijackKeepsRotation: a WebSocket endpoint behind
// Require, upgraded the way gorilla/websocket does it: Hijack (through
// http.ResponseController, which finds the SDK's Hijack), then the 101
// written on the raw connection with the upgrader's own headers only. The
// session was refreshed before the handler (the refresh token rotated);
// sessionWriter.Hijack calls final(), which puts the Set-Cookie lines into
// a header map nobody will ever send, and marks the response started, so
// settle() returns early and lost() is never called: the rotated session is
// not kept as "unwritten". The browser keeps the old cookie; after the
// 2-minute outcome memory, its next request presents the rotated-away
// refresh token and the provider revokes the family.
// Issue 34, attack review: it failed as described above on the code before
// the fix; it passes since.
func TestHijackKeepsRotation(t *testing.T) {
	clock := testenv.NewClock(time.Now().Truncate(time.Second))
	env := testenv.New(t, testenv.Options{Clock: clock})
	env.Mux.Handle("/ws", env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		// gorilla/websocket's Upgrade: its own response, from responseHeader only.
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n")
		brw.Flush()
	})))
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	before := env.OP.Count(devprovider.PathToken)
	clock.Add(4*time.Minute + time.Second) // the access token is due
	req, _ := http.NewRequest("GET", env.App.URL+"/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Logf("/ws: %d, Set-Cookie lines %d, token requests %d", resp.StatusCode, len(resp.Header.Values("Set-Cookie")), env.OP.Count(devprovider.PathToken)-before)
	clock.Add(3 * time.Minute)
	resp, _ = env.Get(t, hc, "/profile")
	t.Logf("/profile afterwards: %d; reused refresh tokens: %d", resp.StatusCode, env.OP.ReusedRefreshTokens())
	if n := env.OP.ReusedRefreshTokens(); n != 0 {
		t.Errorf("the rotated-away refresh token was presented again (%d reuse(s)): the provider revoked the family", n)
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/profile after a WebSocket upgrade: %d, want 200", resp.StatusCode)
	}
}
