// Package netx holds the URL and origin checks shared by the SDK's
// packages: what counts as loopback, and when plain http is acceptable.
package netx

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// SmallBody bounds bodies that are never large: a provider's error
// response, a back-channel logout request, the rest of a response drained
// before a retry.
const SmallBody = 64 << 10

// IsLoopbackHost reports whether host (a URL's Hostname(), without port
// or brackets) names this machine: "localhost", a name under
// ".localhost", or a loopback IP address.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") || (len(host) > 10 && strings.EqualFold(host[len(host)-10:], ".localhost")) {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// SecureOrLoopback reports whether u is https, or plain http to a loopback
// host (development on one machine).
func SecureOrLoopback(u *url.URL) bool {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return true
	case "http":
		return IsLoopbackHost(u.Hostname())
	}
	return false
}

// Origin is u's scheme and host (with port), lower-cased: what browsers
// and this SDK compare to decide whether two URLs are the same origin.
// The default port is dropped, so https://a and https://a:443 are one.
func Origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Host)
	switch {
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	}
	return scheme + "://" + host
}

// NoStore marks a response that sets or clears a cookie, or belongs to a
// sign-in: no cache may store it (Cache-Control: no-store, in place of
// any other directive), and a cache that does anyway must key it by the
// Cookie header (Vary: Cookie). The fields by which a CDN is told to cache
// over Cache-Control go: CDN-Cache-Control (RFC 9213) and any other
// "…-Cache-Control" (Cloudflare-CDN-Cache-Control), Surrogate-Control
// (Fastly, Varnish), Edge-Control (Akamai) and X-Accel-Expires (nginx).
func NoStore(h http.Header) {
	for k := range h {
		switch {
		case strings.EqualFold(k, "Cache-Control"), // any spelling of it: Set writes the canonical one
			len(k) > len("-Cache-Control") && strings.EqualFold(k[len(k)-len("-Cache-Control"):], "-Cache-Control"),
			strings.EqualFold(k, "Surrogate-Control"), strings.EqualFold(k, "Edge-Control"), strings.EqualFold(k, "X-Accel-Expires"):
			delete(h, k)
		}
	}
	h["Cache-Control"] = []string{"no-store"}
	VaryCookie(h)
}

// VaryCookie adds Cookie to h's Vary unless it is there (or Vary is "*"):
// the response depends on the session cookie, so a cache that stores it
// must key it by the Cookie header.
func VaryCookie(h http.Header) {
	for _, v := range h["Vary"] {
		for v != "" {
			var f string
			f, v, _ = strings.Cut(v, ",")
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, "Cookie") {
				return
			}
		}
	}
	h.Add("Vary", "Cookie")
}

// MaxProviderText is how much of a text a provider or a callback supplies
// (error, error_description) the SDK keeps: enough to read, too little to
// flood a log.
const MaxProviderText = 256

// ProviderText bounds text that came from outside (a provider's
// error_description, a callback's query) before it goes into an error or a
// log line: at most MaxProviderText bytes on a rune boundary, control
// characters replaced, and "…" when cut.
func ProviderText(s string) string {
	cut := len(s) > MaxProviderText
	if cut {
		s = s[:MaxProviderText]
		for len(s) > 0 && !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	clean := true
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if !clean {
		b := []rune(s)
		for i, r := range b {
			if unicode.IsControl(r) || r == utf8.RuneError {
				b[i] = ' '
			}
		}
		s = string(b)
	}
	if cut {
		s += "…"
	}
	return s
}

// Transport is rt, or DefaultTransport when rt is nil (the meaning of a
// nil transport in the SDK's configurations and its default clients).
func Transport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		return DefaultTransport()
	}
	return rt
}

// Idle connections the default transport keeps: per host, what an app
// under load runs at once to one API or provider (http.DefaultTransport
// keeps 2, so that of 32 concurrent calls most dial anew, and leave a
// socket in TIME_WAIT), and in all.
const (
	IdlePerHost = 256
	idleTotal   = 1024
)

// stdTransport is http.DefaultTransport as net/http made it, taken when
// this package initialises (before the app's own init and main run).
var stdTransport = http.DefaultTransport

var (
	pooledOnce sync.Once
	pooledRT   *http.Transport
)

// DefaultTransport is the transport of the SDK's calls when the app gives
// none, one for the process. Each request goes through Current: the
// app's http.DefaultTransport when the app has replaced it (a tracing
// wrapper, its own *http.Transport, a test's mock), whenever it did;
// else net/http's with a larger idle pool.
func DefaultTransport() http.RoundTripper { return theDefault }

var theDefault = &defaultTransport{}

type defaultTransport struct{}

func (*defaultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return Current().RoundTrip(r)
}

// CloseIdleConnections closes Current's idle connections (what
// http.Client.CloseIdleConnections calls).
func (*defaultTransport) CloseIdleConnections() {
	if c, ok := Current().(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Current is what DefaultTransport sends a request through now:
// http.DefaultTransport when the app has replaced it, else the pooled
// transport.
func Current() http.RoundTripper {
	if rt := http.DefaultTransport; rt != stdTransport {
		return rt
	}
	if p := pooled(); p != nil {
		return p
	}
	return stdTransport
}

// pooled is net/http's default transport with an idle pool of IdlePerHost
// connections per host (it keeps 2), copied at its first use with the
// settings it has then (proxy from the environment, timeouts, HTTP/2
// over TLS); nil when net/http's is not an *http.Transport.
func pooled() *http.Transport {
	pooledOnce.Do(func() {
		t, ok := stdTransport.(*http.Transport)
		if !ok {
			return
		}
		t = t.Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = idleTotal, IdlePerHost
		pooledRT = t
	})
	return pooledRT
}

// CloneValues is a deep copy of v (nil gives an empty, usable map).
func CloneValues(v url.Values) url.Values {
	cp := make(url.Values, len(v)+1)
	for k, vs := range v {
		cp[k] = append([]string(nil), vs...)
	}
	return cp
}

// AuthParams parses the auth-params of a challenge: k=v or k="v", comma
// separated (RFC 9110 11.2).
func AuthParams(s string) map[string]string {
	m := map[string]string{}
	for s != "" {
		s = strings.TrimLeft(s, " ,")
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		rest = strings.TrimLeft(rest, " ")
		var v string
		if strings.HasPrefix(rest, `"`) {
			// A quoted-string: a backslash makes the next byte literal
			// (RFC 9110 5.6.4), so \\ is one backslash and \" a quote.
			var b strings.Builder
			end := 1
			for end < len(rest) && rest[end] != '"' {
				if rest[end] == '\\' && end+1 < len(rest) {
					end++
				}
				b.WriteByte(rest[end])
				end++
			}
			v = b.String()
			rest = rest[min(end+1, len(rest)):]
		} else {
			v, rest, _ = strings.Cut(rest, ",")
			v = strings.TrimSpace(v)
		}
		m[k] = v
		s = rest
	}
	return m
}
