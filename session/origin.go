package session

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// CookiePolicy is what a store decided about its cookies for the app's
// origin.
type CookiePolicy struct {
	Secure   bool          // the Secure attribute (and a __Host- or __Secure- name)
	SameSite http.SameSite // the SameSite attribute
}

// OriginBinder is implemented by stores whose cookie attributes follow the
// app's origin. middleware.New calls BindOrigin with the origin of the
// client's RedirectURL before serving: https gives Secure cookies with the
// __Host- prefix whatever a request's Host or X-Forwarded-Proto say; plain
// http gives cookies without Secure (development on loopback) unless
// Options.Secure is set. A store that was never bound uses Secure cookies.
// Binding one store to origins that need different attributes is an error.
type OriginBinder interface {
	BindOrigin(origin *url.URL) (CookiePolicy, error)
}

// cookieSecurity holds a store's Secure decision: fixed by configuration,
// read on every request without locks.
type cookieSecurity struct {
	forced bool         // Options.Secure
	state  atomic.Int32 // 0 unbound (Secure), 1 bound Secure, 2 bound not Secure
}

func (c *cookieSecurity) secure() bool { return c.state.Load() != 2 }

func (c *cookieSecurity) bind(origin *url.URL, sameSite http.SameSite) (CookiePolicy, error) {
	var secure bool
	switch strings.ToLower(origin.Scheme) {
	case "https":
		secure = true
	case "http":
		secure = c.forced
	default:
		return CookiePolicy{}, fmt.Errorf("%w: origin %q is not http(s)", ErrConfig, origin.String())
	}
	want := int32(2)
	if secure {
		want = 1
	}
	if !c.state.CompareAndSwap(0, want) && c.state.Load() != want {
		return CookiePolicy{}, fmt.Errorf("%w: the store is already bound to an origin whose cookies are%s Secure; use one store per origin", ErrConfig, map[bool]string{true: " not", false: ""}[secure])
	}
	return CookiePolicy{Secure: secure, SameSite: sameSite}, nil
}
