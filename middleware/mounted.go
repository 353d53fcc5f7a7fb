package middleware

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
)

// mounted checks, before a sign-in leaves for the provider, that the
// callback it will come back to is routed: an app that forgot
// mux.Handle("/auth/", auth) would otherwise send every browser to the
// provider and back to a bare 404. It looks only where looking has no
// side effect: the *http.ServeMux that the serving *http.Server runs (the
// routing of another router cannot be read without calling it). A callback
// path the mux does not route at all is an error; one that a catch-all
// route ("/") answers, not the Auth itself, is logged once.
func (a *Auth) mounted(r *http.Request, c *client.Client) error {
	if a.mountOK.Load() {
		return nil
	}
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if srv == nil {
		return nil
	}
	var mux *http.ServeMux
	switch h := srv.Handler.(type) {
	case nil:
		mux = http.DefaultServeMux
	case *http.ServeMux:
		mux = h
	default:
		a.mountOK.Store(true) // another router: not checked
		return nil
	}
	cb, err := url.Parse(plumbingOf(c).RedirectURL())
	if err != nil {
		return nil
	}
	probe := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: cb.Path}, Host: r.Host, Header: http.Header{}}
	h, pattern := mux.Handler(probe)
	switch {
	case pattern == "":
		return fmt.Errorf("%w: the callback %s is not routed, so sign-ins would end on a 404: mount the Auth handler with mux.Handle(%q, auth)",
			fail.MiddlewareConfig, cb.Path, a.cfg.Prefix)
	case h == http.Handler(a):
		a.mountOK.Store(true)
	case catchAll(pattern) && a.cfg.Logger != nil && a.mountWarned.CompareAndSwap(false, true):
		a.cfg.Logger.Warn(fmt.Sprintf("confidant: the callback %s is answered by the route %q, not by the Auth handler: if sign-ins end on that route's page, mount it with mux.Handle(%q, auth)",
			cb.Path, pattern, a.cfg.Prefix))
	}
	return nil
}

// catchAll reports whether a ServeMux pattern ("[METHOD ][HOST]/PATH")
// matches every path: "/" or a path that is only a {...} wildcard.
func catchAll(pattern string) bool {
	if _, p, ok := strings.Cut(pattern, " "); ok {
		pattern = p
	}
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		pattern = pattern[i:]
	}
	return pattern == "/" || (strings.HasPrefix(pattern, "/{") && strings.HasSuffix(pattern, "...}") && strings.Count(pattern, "/") == 1)
}
