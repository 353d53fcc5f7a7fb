package middleware_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// TestProviderTextTruncated pins a review finding: error_description from
// the callback's query went whole into errors and logs (a 600 KB line from
// one request).
func TestProviderTextTruncated(t *testing.T) {
	env, rec, logs := recordedEnv(t, testenv.Options{})
	hc := testenv.Browser()
	authURL := env.StartLogin(t, hc, "/profile")
	huge := strings.Repeat("A\x1b[31m", 100_000) // 600 KB with terminal escapes
	q := url.Values{"state": {authURL.Query().Get("state")}, "error": {"access_denied"}, "error_description": {huge}}
	resp, _ := env.Get(t, hc, "/auth/callback?"+q.Encode())
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var pe *middleware.ProviderError
	if !errors.As(rec.last(), &pe) {
		t.Fatalf("reason %v", rec.last())
	}
	if len(pe.Description) > 300 || strings.ContainsRune(pe.Description, '\x1b') {
		t.Errorf("description kept %d bytes (escape characters: %v)", len(pe.Description), strings.ContainsRune(pe.Description, '\x1b'))
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if len(line) > 4096 {
			t.Errorf("a log line of %d bytes", len(line))
		}
	}
}

// TestFlowCookiesSmall pins a review finding: a long return-to made each
// flow cookie about 3 KB, so a few sign-ins in progress could exceed a
// server's header limit. A flow cookie stays under 1 KB, and a long query
// is dropped from the return-to rather than stored.
func TestFlowCookiesSmall(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	hc := testenv.Browser()
	long := "/profile?q=" + strings.Repeat("x", 1500)
	authURL := env.StartLogin(t, hc, long)
	var size int
	for _, c := range hc.Jar.Cookies(mustURL(env.App.URL)) {
		if strings.Contains(c.Name, "confidant_flow.") {
			size = len(c.Name) + 1 + len(c.Value)
		}
	}
	if size == 0 || size > 1024 {
		t.Errorf("flow cookie of %d bytes, want under 1 KB", size)
	}
	cb := env.ProviderLogin(t, hc, authURL)
	resp := callback(t, env, hc, cb.String())
	if loc := resp.Header.Get("Location"); loc != "/profile" {
		t.Errorf("landed on %.40q, want /profile", loc)
	}
}
