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
)

// scopeError is an API's insufficient_scope challenge (RFC 6750 3.1).
type scopeError struct{ scopes []string }

func (e *scopeError) Error() string {
	return fmt.Sprintf("middleware: the API asks for more scope (%s)", strings.Join(e.scopes, " "))
}

func (e *scopeError) Is(target error) bool { return fail.Forbidden.Within(target) }

// scopeChallenge reads an insufficient_scope challenge with its scope from
// an API's 401 or 403, or nil.
func scopeChallenge(resp *http.Response) *scopeError {
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
			return &scopeError{scopes: scopes}
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
		var missing []string
		if sess != nil {
			if c := a.clientFor(sess); c != nil {
				have := plumbingOf(c).Scopes()
				for _, s := range sc.scopes {
					if !slices.Contains(have, s) {
						missing = append(missing, s)
					}
				}
			}
		}
		body["scope"] = strings.Join(sc.scopes, " ")
		challenge = `Bearer error="insufficient_scope", scope="` + strings.Join(sc.scopes, " ") + `"`
		if len(missing) == 0 {
			q = nil // asked for at every sign-in already: not granted
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
