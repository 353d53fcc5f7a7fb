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
	"time"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/jwtpeek"
	"github.com/confidant-go/confidant/session"
)

// StepHeader marks the app's own answers that a page follows to let the
// user act (their login_url: a step-up, more scope, connecting an API),
// with the answer's error code. Proxy drops it from an API's responses,
// so that an API cannot send the page anywhere.
const StepHeader = "Confidant-Step"

// scopeError is an API's insufficient_scope challenge (RFC 6750 3.1).
// fixed: the API's own token is asked with the Scopes of its
// configuration, which a sign-in does not change.
type scopeError struct {
	scopes  []string
	fixed   bool
	granted []string // the refused token's scope, when it says (a JWT's scope or scp)
}

func (e *scopeError) Error() string {
	return fmt.Sprintf("middleware: the API asks for more scope (%s)", strings.Join(e.scopes, " "))
}

func (e *scopeError) Is(target error) bool { return fail.Forbidden.Within(target) }

// scopeChallenge reads an insufficient_scope challenge with its scope from
// api's 401 or 403, or nil.
func scopeChallenge(resp *http.Response, api *apiTarget, token string) *scopeError {
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
		if scopes := challengeTokens(params["scope"]); len(scopes) > 0 {
			return &scopeError{scopes: scopes, fixed: api.op.api != "" && len(api.op.scopes) > 0, granted: tokenScope(token)}
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
		ask := a.scopeAsk(sess, sc)
		body["scope"] = strings.Join(sc.scopes, " ")
		challenge = `Bearer error="insufficient_scope", scope="` + strings.Join(sc.scopes, " ") + `"`
		if ask == "" {
			q = nil // asked for at every sign-in already (not granted), or not what the API's token is asked with
			if sc.fixed {
				desc = "the API asks for a scope its token is not asked for (the app's configuration)"
			}
		} else {
			q.Set("scope", ask)
		}
	}
	var key string
	if q != nil {
		key = markKey(q) // before provider: the login route checks a scope against it
		if sess != nil && len(a.clients) > 1 {
			q.Set("provider", sess.Provider)
		}
	}
	switch {
	case sess == nil || q == nil:
	case a.steppedUpBy(creds.mark, sess, key):
		desc = "the API still refuses right after signing in again"
	default:
		a.setStepUpMark(w, key)
		body["login_url"] = a.LoginPath() + "?" + q.Encode()
	}
	body["error"], body["error_description"] = code, desc
	a.emitRejected(r, status, cmpErr(se, sc))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("WWW-Authenticate", challenge)
	if body["login_url"] != nil {
		h.Set(StepHeader, code)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func cmpErr(se *StepUpError, sc *scopeError) error {
	if se != nil {
		return se
	}
	return sc
}

// scopeAsk is the scope a new sign-in asks for besides the client's own,
// for an API that refused s's token for want of sc: what s was granted
// beyond them (a step-up for one API does not undo another's) and what
// sc names that neither covers. "" when sc names nothing new (a sign-in
// would not change the token), or the API's token is asked with its
// fixed Scopes.
func (a *Auth) scopeAsk(s *session.Session, sc *scopeError) string {
	if s == nil || sc.fixed {
		return ""
	}
	c := a.clientFor(s)
	if c == nil {
		return ""
	}
	have := plumbingOf(c).Scopes()
	granted := challengeTokens(s.Scope)
	for _, x := range sc.granted {
		if !slices.Contains(granted, x) {
			granted = append(granted, x)
		}
	}
	var ask []string
	for _, x := range granted {
		if !slices.Contains(have, x) {
			ask = append(ask, x)
		}
	}
	missing := false
	for _, x := range sc.scopes {
		if !slices.Contains(have, x) && !slices.Contains(granted, x) {
			ask, missing = append(ask, x), true
		}
	}
	if !missing {
		return ""
	}
	return strings.Join(ask, " ")
}

// tokenScope is the scope a JWT access token says it has (scope, or
// scp as Entra ID and Okta write it), nil for another token: what the
// token was granted, so that a sign-in for more keeps it. Read, not
// trusted: it only decides what to ask for.
func tokenScope(token string) []string {
	_, payload, ok := jwtpeek.Split(token)
	if !ok {
		return nil
	}
	var c struct {
		Scope string `json:"scope"`
		Scp   any    `json:"scp"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return nil
	}
	if c.Scope != "" {
		return challengeTokens(c.Scope)
	}
	switch v := c.Scp.(type) {
	case string:
		return challengeTokens(v)
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return challengeTokens(strings.Join(out, " "))
	}
	return nil
}

// scopeMarked reports whether the step-up mark of r names a sign-in for
// scope (the login route takes a scope only then: a link of another site
// cannot widen the next session's token).
func (a *Auth) scopeMarked(r *http.Request, scope string) bool {
	c, err := r.Cookie(a.stepUpName())
	if err != nil {
		return false
	}
	stamp, k, _ := strings.Cut(c.Value, ".")
	ms, err := strconv.ParseInt(stamp, 10, 64)
	return err == nil && k == markKey(url.Values{"scope": {scope}}) && a.cfg.Now().Sub(time.UnixMilli(ms)) < stepUpGuard
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
	ask := a.scopeAsk(s, sc)
	q := url.Values{"scope": {ask}}
	if ask == "" || a.steppedUp(r, s, markKey(q)) {
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
	h.Set(StepHeader, "insufficient_scope")
	w.WriteHeader(http.StatusForbidden)
	json.NewEncoder(w).Encode(map[string]string{"error": "insufficient_scope", "error_description": "the API asks for more scope",
		"scope": strings.Join(sc.scopes, " "), "login_url": a.LoginPath() + "?" + q.Encode()})
}
