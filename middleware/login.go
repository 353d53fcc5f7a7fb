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
	if v := strings.Join(strings.Fields(q.Get("scope")), " "); v != "" && len(v) <= 512 && a.scopeMarked(r, v) {
		// More scope, for an API that asked for it moments ago
		// (Proxy's or StepUp's answer, whose mark names it): added to the
		// client's Scopes, never in place of them. A link of another
		// site carries no mark: its scope is not asked for.
		extra.Set("scope", v)
	}
	// prompt=none (a single-page app's silent sign-in): a provider that
	// answers login_required or the like sends the browser back to
	// return_to, not signed in, instead of to the error page.
	a.startFlowSilent(w, r, c, returnTo, extra, extra.Get("prompt") == "none")
}
