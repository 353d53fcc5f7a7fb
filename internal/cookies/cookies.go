// Package cookies writes and reads the SDK's cookies (the session stores'
// and the sign-in attempts'): one writer, the names with their __Host- or
// __Secure- prefix, the default attributes, and the Secure decision that
// comes from the app's origin, never from a request.
package cookies

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/sessions"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
)

// Write sets the cookie name=value with opts' attributes, Secure as given,
// HttpOnly always, for maxAge seconds (0: a browser-session cookie; < 0:
// deleted), and marks the response as not to be cached (no-store, Vary:
// Cookie): every response that sets or clears a cookie goes through here.
func Write(w http.ResponseWriter, name, value string, opts *sessions.Options, secure bool, maxAge int, now time.Time) {
	c := sessions.NewCookie(name, value, opts)
	c.Secure, c.HttpOnly, c.MaxAge = secure, true, maxAge
	switch {
	case maxAge < 0:
		c.Expires = time.Unix(1, 0)
	case maxAge > 0:
		c.Expires = now.Add(time.Duration(maxAge) * time.Second)
	default:
		c.Expires = time.Time{}
	}
	netx.NoStore(w.Header())
	http.SetCookie(w, c)
}

// Name is base with the prefix the attributes allow: __Host- (Secure,
// Path=/, no Domain) or __Secure- (Secure otherwise).
func Name(base string, secure bool, opts *sessions.Options) string {
	switch {
	case !secure:
		return base
	case opts.Domain == "" && opts.Path == "/":
		return "__Host-" + base
	default:
		return "__Secure-" + base
	}
}

// CheckName refuses a base name that is not a cookie token or that already
// carries a prefix.
func CheckName(base string) error {
	if base == "" || strings.ContainsAny(base, "=;, \t\r\n\"") || strings.HasPrefix(base, "__") {
		return fmt.Errorf("cookie name %q (give it without __Host- or __Secure- prefix)", base)
	}
	return nil
}

// Options are opts (nil: none) with the SDK's defaults filled in: Path "/",
// HttpOnly always, SameSite=Lax when unset.
func Options(opts *sessions.Options) sessions.Options {
	o := sessions.Options{Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if opts != nil {
		o = *opts
		o.HttpOnly = true
		if o.Path == "" {
			o.Path = "/"
		}
		if o.SameSite == 0 {
			o.SameSite = http.SameSiteLaxMode
		}
	}
	return o
}

// Value finds the cookie name in r's Cookie headers without parsing the
// others (the hot path of every request).
func Value(r *http.Request, name string) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimLeft(part, " \t")
			k, v, ok := strings.Cut(part, "=")
			if ok && k == name {
				v = strings.TrimRight(v, " \t")
				if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				return v, true
			}
		}
	}
	return "", false
}

// Security is a store's Secure decision: fixed when the store is bound to
// the app's origin, read on every request without locks. A store that was
// never bound uses Secure cookies.
type Security struct {
	Forced bool         // Options.Secure: Secure even on plain http
	state  atomic.Int32 // 0 unbound (Secure), 1 bound Secure, 2 bound not Secure
}

// Secure reports whether cookies get the Secure attribute.
func (c *Security) Secure() bool { return c.state.Load() != 2 }

// ErrBound means a store was bound to two origins whose cookies differ.
var ErrBound error = fail.CookiesBound

// Bind fixes the decision for origin: https gives Secure, http gives
// Secure only when Forced.
func (c *Security) Bind(origin *url.URL) (secure bool, err error) {
	switch strings.ToLower(origin.Scheme) {
	case "https":
		secure = true
	case "http":
		secure = c.Forced
	default:
		return false, fmt.Errorf("origin %q is not http(s)", origin.String())
	}
	want := int32(2)
	if secure {
		want = 1
	}
	if !c.state.CompareAndSwap(0, want) && c.state.Load() != want {
		return false, ErrBound
	}
	return secure, nil
}
