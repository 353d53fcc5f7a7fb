package middleware

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// Require runs next only for signed-in requests, with the user in the
// context. Otherwise a browser navigation (GET or HEAD that accepts HTML
// and is not a fetch/XHR) is redirected to the provider and returns to the
// same path and query after signing in; any other request gets 401 with a
// JSON body {"error":"unauthorized",…} and a WWW-Authenticate header.
// A request that does not ask for HTML is an API call: curl's default
// "Accept: */*" gets the 401 JSON, not a redirect (use
// curl -H 'Accept: text/html' to see the redirect).
// With SameSite=Strict session cookies, a navigation that another site
// started first gets a same-site page that reloads it, so that the cookie
// comes along.
//
// Require has the shape of every router's middleware: chi's
// r.Use(auth.Require), a chain of func(http.Handler) http.Handler, or
// mux.Handle("/account", auth.Require(account)); a handler function is
// auth.Require(http.HandlerFunc(f)). RequireWith adds requirements.
func (a *Auth) Require(next http.Handler) http.Handler {
	return a.require(next, Requirement{})
}

// RequireWith returns Require with requirements, as middleware:
// r.With(auth.RequireWith(middleware.Scope("orders:write"))) with chi.
// ACR and MaxAge ask more of the sign-in: a session that does not meet them
// is sent through sign-in again, asking the provider for them, and back to
// the same page (an API call gets 401 with
// error="insufficient_user_authentication", RFC 9470). Claim, Value and
// Scope ask for what the user is or was granted: a session without it gets
// 403.
func (a *Auth) RequireWith(reqs ...Requirement) func(http.Handler) http.Handler {
	need := merge(reqs)
	return func(next http.Handler) http.Handler { return a.require(next, need) }
}

func (a *Auth) require(next http.Handler, need Requirement) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, ok := a.prepare(w, r, false)
		if !ok {
			return
		}
		sw, signedIn := &st.sw, st.signedIn()
		if signedIn && !need.zero() {
			if err := need.check(st.sess, a.cfg.Now()); err != nil {
				a.stepUp(w, r, a.clientFor(st.sess), need, err)
				return
			}
			if err := need.allowed(st.sess); err != nil {
				a.forbid(w, r, err)
				return
			}
		}
		if signedIn {
			sw.serve(next, withSession(r, st))
			return
		}
		if st.reauth != nil && isNavigation(r) {
			// A security event asked for a new authentication at the
			// level the app asks for (its acr_values, with every sign-in).
			a.startFlow(w, r, st.reauth, a.returnTo(r.URL.RequestURI()), url.Values{"prompt": {"login"}})
			return
		}
		if isNavigation(r) {
			if target, ok := sanitizeReturnTo(r.URL.RequestURI()); ok && a.strict() && crossSiteNavigation(r) {
				hopTo(w, target) // the Strict cookie comes with the next request
				return
			}
			returnTo := a.returnTo(r.URL.RequestURI())
			if a.cfg.LoginPage != "" {
				http.Redirect(w, r, a.cfg.LoginPage+"?return_to="+url.QueryEscape(returnTo), http.StatusFound)
				return
			}
			a.startFlow(w, r, a.clients[0], returnTo, nil)
			return
		}
		a.unauthorized(w)
	})
}

// Optional runs next for every request, with the user in the context when
// signed in. With SameSite=Strict session cookies, a navigation that another
// site started first gets a same-site page that reloads it, as in Require.
func (a *Auth) Optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, ok := a.prepare(w, r, false)
		if !ok {
			return
		}
		sw := &st.sw
		if st.signedIn() {
			r = withSession(r, st)
		} else if a.strict() && crossSiteNavigation(r) {
			if target, ok := sanitizeReturnTo(r.URL.RequestURI()); ok {
				hopTo(w, target) // the Strict cookie comes with the next request
				return
			}
		} else if a.trySilently(r) {
			if target, ok := sanitizeReturnTo(r.URL.RequestURI()); ok {
				a.setSilentMark(w)
				a.startFlowSilent(w, r, a.clients[0], target, url.Values{"prompt": {"none"}}, true)
				return
			}
		}
		if !st.signedIn() {
			r = anonymous(r, st)
		}
		sw.serve(next, r)
	})
}

func (a *Auth) unauthorized(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("WWW-Authenticate", `Cookie realm="confidant", login="`+a.LoginPath()+`"`)
	w.WriteHeader(http.StatusUnauthorized)
	json.NewEncoder(w).Encode(map[string]string{
		"error":             "unauthorized",
		"error_description": "sign-in required",
		"login_url":         a.LoginPath(),
	})
}

// isNavigation tells a browser's top-level page load from API calls.
func isNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" && m != "navigate" {
		return false
	}
	if strings.EqualFold(r.Header.Get("X-Requested-With"), "XMLHttpRequest") {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}
