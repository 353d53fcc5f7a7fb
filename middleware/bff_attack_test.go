package middleware_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestProxyResponsesPrivate (attack review, finding 5): the browser's call
// to the proxy carries a cookie, not the Authorization header that keeps
// shared caches away (RFC 9111 3.5), so an API's Cache-Control: public or
// max-age let a CDN in front of the app serve one user's data to another.
// Proxied responses are private to the session unless the API said
// no-store, and vary on the cookie.
func TestProxyResponsesPrivate(t *testing.T) {
	var cc string
	env := newBFF(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		io.WriteString(w, "the user's orders")
	}))
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	for _, tc := range []struct{ api, want string }{
		{"public, max-age=60, s-maxage=600", "private, max-age=60"},
		{"max-age=60", "private, max-age=60"},
		{"", "private"},
		{"no-cache, proxy-revalidate", "private, no-cache"},
		{"no-store", "no-store"},
		{"private, no-store, max-age=0", "private, no-store, max-age=0"},
	} {
		cc = tc.api
		resp, body := spaCall(t, hc, "GET", env.App.URL+"/bff/echo/orders", nil)
		if resp.StatusCode != http.StatusOK || body != "the user's orders" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		if got := resp.Header.Get("Cache-Control"); got != tc.want {
			t.Errorf("API's %q: Cache-Control %q, want %q", tc.api, got, tc.want)
		}
		if !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") && !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Cookie") {
			t.Errorf("API's %q: Vary %q, want Cookie", tc.api, resp.Header.Values("Vary"))
		}
	}
}

// TestProxyEarlyHintsKeepRefresh (attack review, finding 5): a 103 Early
// Hints from the API committed the session inside the 1xx; the reverse
// proxy then cleared those headers and the final response had no
// Set-Cookie, so the refresh made for the call was lost and the browser
// later presented a rotated-away refresh token. No 1xx commits the session.
func TestProxyEarlyHintsKeepRefresh(t *testing.T) {
	srvAPI := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "ok")
	})
	clock := &testenv.Clock{}
	env := newBFFOpts(t, srvAPI, testenv.Options{Clock: clock, OP: func(c *devprovider.Config) { c.AccessTokenLifetime = 10 * time.Minute }})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	before := env.Session(t, hc)
	clock.Set(before.Expiry.Add(-30 * time.Second)) // due: the call refreshes first
	resp, body := spaCall(t, hc, "GET", env.App.URL+"/bff/echo/page", nil)
	if resp.StatusCode != http.StatusOK || body != "ok" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	after := env.Session(t, hc)
	if after.RefreshToken == before.RefreshToken || after.AccessToken == before.AccessToken {
		t.Fatalf("the refreshed session did not reach the browser (no Set-Cookie on the final response: %v)", resp.Header.Values("Set-Cookie"))
	}
	if n := env.OP.ReusedRefreshTokens(); n != 0 {
		t.Errorf("%d refresh tokens reused", n)
	}
}

// TestProxyInternalHeadersNeverCross (attack review, finding 5): the page
// made the proxy send any DPoP header to the API through the header that
// carried the proof internally. No header of the browser's stands in for
// what the proxy adds: every header the proxy used internally, and the
// browser's own Authorization, DPoP and cookies, are sent and none arrives.
func TestProxyInternalHeadersNeverCross(t *testing.T) {
	api := &echoAPI{}
	env := newBFF(t, api)
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	sess := env.Session(t, hc)
	hostile := http.Header{
		"X-Confidant-Proxy-Authorization": {"Bearer attacker"}, "X-Confidant-Proxy-Dpop": {"attacker.controlled.proof"},
		"Dpop": {"attacker.controlled.proof"}, "Authorization": {"Bearer attacker"},
		"X-Forwarded-For": {"10.0.0.1"}, "Forwarded": {"for=10.0.0.1"}, "X-Forwarded-Host": {"evil.example"},
		"Proxy-Authorization": {"Basic eDp5"}, "Te": {"trailers"}, "Connection": {"X-Keep"}, "X-Keep": {"1"},
	}
	if resp, body := spaCall(t, hc, "GET", env.App.URL+"/bff/echo/orders", hostile); resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	got := api.received()[0].Header
	if a := got.Get("Authorization"); a != "Bearer "+sess.AccessToken {
		t.Errorf("Authorization %q, want the session's token", a)
	}
	for k := range hostile {
		if k == "Authorization" || k == "Te" { // the proxy's own (Te: trailers is hop-by-hop, re-added by Go for HTTP/2 only)
			continue
		}
		if v := got.Values(k); len(v) > 0 {
			t.Errorf("%s reached the API: %q", k, v)
		}
	}
	for k := range got {
		if strings.HasPrefix(strings.ToLower(k), "x-confidant") || strings.EqualFold(k, "Cookie") {
			t.Errorf("%s reached the API", k)
		}
	}
}

// TestProxyDotSegments (attack review, finding 5): "..;/" (Tomcat) and
// "..\\" (IIS) passed the proxy's path check; every form of dot-segment an
// API server might honour is refused with 400 JSON and reaches nothing.
func TestProxyDotSegments(t *testing.T) {
	api := &echoAPI{}
	env := newBFF(t, api)
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	for _, p := range []string{"..;/admin", "..%3b/admin", "..;jsessionid=x/admin", `..%5cadmin`, "%2e%2e%5cadmin", "a%2f..%2fadmin",
		"%252e%252e/admin", ".%2e/admin", "%2e/admin", "orders/..%00/admin", "...%20/admin", "..%09/admin", "orders/.;/x"} {
		before := len(api.received())
		resp, body := spaCall(t, hc, "GET", env.App.URL+"/bff/echo/"+p, nil)
		if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %s, want 400 JSON", p, resp.StatusCode, body)
		}
		if n := len(api.received()) - before; n != 0 {
			t.Errorf("%s reached the API", p)
		}
	}
	// Controls: dots inside names and matrix parameters pass.
	for _, p := range []string{"v1.2/items", "a..b/c", "orders;v=1/items", ".well-known-ish/x"} {
		if resp, body := spaCall(t, hc, "GET", env.App.URL+"/bff/echo/"+p, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d %s, want 200", p, resp.StatusCode, body)
		}
	}
}

// TestSessionInfoProviderDown: SessionInfo needs no fresh token. With the
// access token expired and the provider's token endpoint down, it answers 200
// from the session with "refresh_unavailable": true (a page would take a
// 503 for "signed out"), while a call through Proxy, which needs the
// token, gets 503; the session is kept, and refreshed once the provider is
// back.
func TestSessionInfoProviderDown(t *testing.T) {
	clock := &testenv.Clock{}
	env := newBFFOpts(t, &echoAPI{}, testenv.Options{Clock: clock, OP: func(c *devprovider.Config) { c.AccessTokenLifetime = 10 * time.Minute }})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	before := env.Session(t, hc)
	clock.Set(before.Expiry.Add(time.Second)) // expired: the refresh is needed now
	env.OP.SetFault(devprovider.PathToken, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	resp, body := spaCall(t, hc, "GET", env.App.URL+"/bff/session", nil)
	var info struct {
		SignedIn           bool `json:"signed_in"`
		RefreshUnavailable bool `json:"refresh_unavailable"`
	}
	if err := json.Unmarshal([]byte(body), &info); err != nil || resp.StatusCode != http.StatusOK || !info.SignedIn || !info.RefreshUnavailable {
		t.Errorf("session info with the provider down: %d %s, want 200, signed in, refresh_unavailable", resp.StatusCode, body)
	}
	if resp, body := spaCall(t, hc, "GET", env.App.URL+"/bff/echo/orders", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("proxy with the provider down: %d %s, want 503", resp.StatusCode, body)
	}
	env.OP.SetFault(devprovider.PathToken, nil)
	clock.Add(6 * time.Second) // past Config.RetryAfter (5 s by default): the refresh is tried again
	resp, body = spaCall(t, hc, "GET", env.App.URL+"/bff/session", nil)
	info.SignedIn, info.RefreshUnavailable = false, false
	if err := json.Unmarshal([]byte(body), &info); err != nil || resp.StatusCode != http.StatusOK || !info.SignedIn || info.RefreshUnavailable {
		t.Errorf("session info with the provider back: %d %s, want 200, signed in, refreshed", resp.StatusCode, body)
	}
	if after := env.Session(t, hc); after.AccessToken == before.AccessToken {
		t.Errorf("the session was not refreshed once the provider was back")
	}
}
