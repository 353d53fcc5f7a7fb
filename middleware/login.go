package middleware

import (
	"net/http"
	"net/url"
)

// login starts a sign-in. ?return_to= names a local path to land on
// afterwards; anything that is not a same-origin relative path is ignored.
// ?provider= picks one of several providers (default: the first). The
// provider's own login parameters (Auth0's organization and invitation, …)
// are passed on.
func (a *Auth) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		a.fail(w, r, ErrMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	c := a.clients[0]
	if name := q.Get("provider"); name != "" {
		if c = a.byName[name]; c == nil {
			a.fail(w, r, ErrUnknownProvider)
			return
		}
	}
	returnTo := a.returnTo(q.Get("return_to"))
	extra := url.Values{}
	for _, k := range c.LoginParams() {
		if v := q.Get(k); v != "" && len(v) <= 512 {
			extra.Set(k, v)
		}
	}
	a.startFlow(w, r, c, returnTo, extra)
}
