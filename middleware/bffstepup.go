package middleware

// Step-up through the BFF proxy: an API that asks for a stronger or more
// recent authentication (RFC 9470) or for more scope (RFC 6750
// insufficient_scope) gets the page a typed answer it can act on: where
// to sign in again with those requirements (login_url; the page's helper
// adds return_to), instead of the API's own refusal.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/session"
)

// scopeError is an API's insufficient_scope challenge (RFC 6750 3.1).
// fixed: the API's own token is asked with the Scopes of its
// configuration, which a sign-in does not change.
type scopeError struct {
	scopes []string
	fixed  bool
}

func (e *scopeError) Error() string {
	return fmt.Sprintf("middleware: the API asks for more scope (%s)", strings.Join(e.scopes, " "))
}

func (e *scopeError) Is(target error) bool { return fail.Forbidden.Within(target) }

// scopeChallenge reads an insufficient_scope challenge with its scope from
// api's 401 or 403, or nil.
func scopeChallenge(resp *http.Response, api *apiTarget) *scopeError {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
		return nil
	}
	for _, h := range resp.Header.Values("WWW-Authenticate") {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
		if !strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "DPoP") {
			continue
		}
		params := authParams(rest)
		if params["error"] != "insufficient_scope" {
			continue
		}
		var scopes []string
		for _, s := range strings.Fields(params["scope"]) {
			if len(s) <= 128 && !slices.Contains(scopes, s) && len(scopes) < 32 {
				scopes = append(scopes, s)
			}
		}
		if len(scopes) > 0 {
			return &scopeError{scopes: scopes, fixed: api.op.api != "" && len(api.op.scopes) > 0}
		}
	}
	return nil
}

// proxyStepUp answers a proxied call that the API refused for want of a
// stronger or more recent authentication (se) or of more scope (sc): 401
// (403 for scope) JSON with the requirements and login_url, the sign-in
// that meets them (without return_to: the page adds its own). r is the
// request to the API (ReverseProxy's), with the inbound one's context, in
// whose proxyCreds the page's step-up mark is. Right after
// such a sign-in (the step-up mark), or when the sign-in already asks for
// every scope named, there is no login_url: another round would loop.
func (a *Auth) proxyStepUp(w http.ResponseWriter, r *http.Request, se *StepUpError, sc *scopeError) {
	creds, _ := r.Context().Value(proxyCredsKey{}).(proxyCreds)
	var sess = creds.st.current()
	status, code, desc := http.StatusUnauthorized, "insufficient_user_authentication", "a stronger or more recent authentication is required"
	q := url.Values{}
	body := map[string]any{}
	challenge := `Bearer error="insufficient_user_authentication"`
	if se != nil {
		q = Requirement{acr: se.ACRValues, maxAge: se.MaxAge}.params()
		if len(se.ACRValues) > 0 {
			body["acr_values"] = strings.Join(se.ACRValues, " ")
			challenge += `, acr_values="` + strings.Join(se.ACRValues, " ") + `"`
		}
		if se.MaxAge > 0 {
			body["max_age"] = int(se.MaxAge.Seconds())
			challenge += `, max_age=` + strconv.Itoa(int(se.MaxAge.Seconds()))
		}
	} else {
		status, code, desc = http.StatusForbidden, "insufficient_scope", "the API asks for more scope"
		missing := a.missingScopes(sess, sc)
		body["scope"] = strings.Join(sc.scopes, " ")
		challenge = `Bearer error="insufficient_scope", scope="` + strings.Join(sc.scopes, " ") + `"`
		if len(missing) == 0 {
			q = nil // asked for at every sign-in already (not granted), or not what the API's token is asked with
			if sc.fixed {
				desc = "the API asks for a scope its token is not asked for (the app's configuration)"
			}
		} else {
			q.Set("scope", strings.Join(missing, " "))
		}
	}
	if sess != nil && len(a.clients) > 1 {
		if q != nil {
			q.Set("provider", sess.Provider)
		}
	}
	switch {
	case sess == nil || q == nil:
	case a.steppedUpBy(creds.mark, sess, markKey(q)):
		desc = "the API still refuses right after signing in again"
	default:
		a.setStepUpMark(w, markKey(q))
		body["login_url"] = a.LoginPath() + "?" + q.Encode()
	}
	body["error"], body["error_description"] = code, desc
	a.emitRejected(r, status, cmpErr(se, sc))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("WWW-Authenticate", challenge)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func cmpErr(se *StepUpError, sc *scopeError) error {
	if se != nil {
		return se
	}
	return sc
}

// missingScopes are the scopes of sc that s's client does not ask for.
func (a *Auth) missingScopes(s *session.Session, sc *scopeError) []string {
	var missing []string
	if s == nil || sc.fixed {
		return nil // a sign-in would not change what the token is asked for
	}
	if c := a.clientFor(s); c != nil {
		have := plumbingOf(c).Scopes()
		for _, x := range sc.scopes {
			if !slices.Contains(have, x) {
				missing = append(missing, x)
			}
		}
	}
	return missing
}

// scopeStepUp is Auth.StepUp for an API's insufficient_scope (an
// HTTPClient call): a navigation signs in again asking for the missing
// scopes too and comes back; another request gets 403 JSON with the
// scope and login_url. Right after such a sign-in, or with nothing left
// to ask for, it goes to the ErrorHandler (403) instead.
func (a *Auth) scopeStepUp(w http.ResponseWriter, r *http.Request, sc *scopeError) {
	var s *session.Session
	if st, ok := r.Context().Value(ctxKey{}).(*reqSession); ok {
		s = st.current()
	}
	missing := a.missingScopes(s, sc)
	q := url.Values{"scope": {strings.Join(missing, " ")}}
	if s == nil || len(missing) == 0 || a.steppedUp(r, s, markKey(q)) {
		why := "which a new sign-in would not add"
		if sc.fixed {
			why = "which the API's token is not asked for: add it to the API's Scopes"
		}
		a.fail(w, r, fmt.Errorf("%w: the API asks for scope %q, %s", sc, strings.Join(sc.scopes, " "), why))
		return
	}
	a.setStepUpMark(w, markKey(q))
	c := a.clientFor(s)
	if c != nil && isNavigation(r) {
		a.startFlow(w, r, c, a.returnTo(r.URL.RequestURI()), q)
		return
	}
	if len(a.clients) > 1 {
		q.Set("provider", s.Provider)
	}
	q.Set("return_to", a.returnTo(r.URL.RequestURI()))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+strings.Join(sc.scopes, " ")+`"`)
	w.WriteHeader(http.StatusForbidden)
	json.NewEncoder(w).Encode(map[string]string{"error": "insufficient_scope", "error_description": "the API asks for more scope",
		"scope": strings.Join(sc.scopes, " "), "login_url": a.LoginPath() + "?" + q.Encode()})
}
