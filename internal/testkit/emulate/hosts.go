// Package emulate serves faithful in-process emulators of Auth0, Google and
// GitHub at their real URLs, for tests: Hosts sends the SDK's and the test
// browser's requests for a provider's hosts to local httptest servers. The
// OpenID Connect core of Auth0 and Google is the real zitadel OP
// (internal/devprovider); only their documented quirks are emulated here.
package emulate

import (
	"net/http"
	"net/url"
	"sync"
)

// Hosts routes requests for mapped hosts to local servers; every other
// request goes to Base. The Host header keeps the original host, so one
// emulator can serve several of a provider's hosts.
type Hosts struct {
	mu   sync.Mutex
	m    map[string]*url.URL
	Base http.RoundTripper // default http.DefaultTransport
}

// Map sends requests for host (e.g. "accounts.google.com") to base (e.g.
// an httptest server's URL).
func (h *Hosts) Map(host, base string) {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[string]*url.URL{}
	}
	h.m[host] = u
}

// RoundTrip implements http.RoundTripper.
func (h *Hosts) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	target := h.m[r.URL.Host]
	h.mu.Unlock()
	base := h.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if target == nil {
		return base.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host = target.Scheme, target.Host
	r2.Host = r.URL.Host
	r2.Header.Set("X-Forwarded-Proto", r.URL.Scheme)
	return base.RoundTrip(r2)
}

// Client returns an HTTP client that uses h (for the SDK's provider calls).
func (h *Hosts) Client() *http.Client { return &http.Client{Transport: h} }
