package middleware

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/confidant-go/confidant/internal/fail"
)

// login starts a sign-in. ?return_to= names a local path to land on
// afterwards; anything that is not a same-origin relative path is ignored.
// ?provider= picks one of several providers (default: the first). The
// provider's own login parameters (Auth0's organization and invitation, …)
// are passed on. With ?prompt=none the sign-in is silent: refused by the
// provider for want of a session or of consent, it returns to return_to
// not signed in.
func (a *Auth) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		a.fail(w, r, fail.MethodNotAllowed)
		return
	}
	q := r.URL.Query()
	c := a.clients[0]
	if name := q.Get("provider"); name != "" {
		if c = a.byName[name]; c == nil {
			a.fail(w, r, fail.UnknownProvider)
			return
		}
	}
	returnTo := a.returnTo(q.Get("return_to"))
	extra := url.Values{}
	for _, k := range plumbingOf(c).LoginParams() {
		if v := q.Get(k); v != "" && len(v) <= 512 {
			extra.Set(k, v)
		}
	}
	if v := q.Get("scope"); v != "" && len(v) <= 512 {
		// More scope (an API's insufficient_scope, through Proxy): added
		// to the client's Scopes, never in place of them.
		extra.Set("scope", strings.Join(strings.Fields(v), " "))
	}
	// prompt=none (a single-page app's silent sign-in): a provider that
	// answers login_required or the like sends the browser back to
	// return_to, not signed in, instead of to the error page.
	a.startFlowSilent(w, r, c, returnTo, extra, extra.Get("prompt") == "none")
}
