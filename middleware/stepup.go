package middleware

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/session"
)

// A Requirement is what a route asks of a signed-in session beyond being
// signed in (Auth.Require). ACR and MaxAge ask for a stronger or more
// recent sign-in, which the user is sent to get; Claim, Scope and Value
// decide who may use the route, and a user who may not gets 403.
type Requirement struct {
	acr    []string
	maxAge time.Duration
	allow  []func(*session.Session) error
}

// Claim lets in users whose claim name (of the ID token or userinfo: a
// string, or a list of strings such as groups or roles) holds one of
// values.
func Claim(name string, values ...string) Requirement {
	return Requirement{allow: []func(*session.Session) error{func(s *session.Session) error {
		var claims map[string]any
		s.DecodeClaims(&claims)
		var have []string
		switch v := claims[name].(type) {
		case string:
			have = strings.Fields(v)
		case []any:
			for _, x := range v {
				if str, ok := x.(string); ok {
					have = append(have, str)
				}
			}
		}
		for _, v := range values {
			if slices.Contains(have, v) {
				return nil
			}
		}
		return fmt.Errorf("%w: claim %s has none of %q", ErrForbidden, name, values)
	}}}
}

// Scope lets in sessions whose granted scope includes all of scopes.
func Scope(scopes ...string) Requirement {
	return Requirement{allow: []func(*session.Session) error{func(s *session.Session) error {
		granted := strings.Fields(s.Scope)
		for _, sc := range scopes {
			if !slices.Contains(granted, sc) {
				return fmt.Errorf("%w: scope %s not granted", ErrForbidden, sc)
			}
		}
		return nil
	}}}
}

// Value lets in sessions whose value key (set by Config.OnSignIn; a
// space-separated list, such as roles) holds one of values.
func Value(key string, values ...string) Requirement {
	return Requirement{allow: []func(*session.Session) error{func(s *session.Session) error {
		have := strings.Fields(s.Values[key])
		for _, v := range values {
			if slices.Contains(have, v) {
				return nil
			}
		}
		return fmt.Errorf("%w: value %s has none of %q", ErrForbidden, key, values)
	}}}
}

// SignIn is a completed sign-in as Config.OnSignIn sees it, before the
// session is made.
type SignIn struct {
	User    confidant.User // verified
	Token   *oauth2.Token  // the access and refresh tokens; do not keep them elsewhere
	IDToken string         // raw, verified; "" for plain OAuth 2.0
	// Values are kept in the session: set a few of the app's own (roles,
	// an account ID). They travel in the cookie with a cookie store.
	Values map[string]string
}

// ACR requires that the user authenticated with one of values, the ID
// token's acr (e.g. a provider's multi-factor context). A session that did
// not is sent to sign in again with acr_values (and max_age=0, so that the
// provider authenticates the user again rather than reuse its session).
func ACR(values ...string) Requirement { return Requirement{acr: slices.Clone(values)} }

// MaxAge requires that the user authenticated at most d ago, the ID token's
// auth_time. An older session is sent to sign in again with max_age, which
// makes the provider ask for the user's credentials again.
func MaxAge(d time.Duration) Requirement { return Requirement{maxAge: max(d, time.Second)} }

// merge combines requirements: the last ACR given, the shortest MaxAge, and
// every Claim, Scope and Value.
func merge(reqs []Requirement) Requirement {
	var m Requirement
	for _, r := range reqs {
		m.allow = append(m.allow, r.allow...)
		if len(r.acr) > 0 {
			m.acr = r.acr
		}
		if r.maxAge > 0 && (m.maxAge == 0 || r.maxAge < m.maxAge) {
			m.maxAge = r.maxAge
		}
	}
	return m
}

func (q Requirement) zero() bool { return len(q.acr) == 0 && q.maxAge == 0 && len(q.allow) == 0 }

// allowed reports whether s may use the route (Claim, Scope, Value).
func (q Requirement) allowed(s *session.Session) error {
	for _, f := range q.allow {
		if err := f(s); err != nil {
			return err
		}
	}
	return nil
}

// forbid answers a signed-in user whom the route does not let in: 403, a
// page for a browser, JSON otherwise; never a sign-in, which would loop.
func (a *Auth) forbid(w http.ResponseWriter, r *http.Request, why error) {
	if isNavigation(r) {
		a.fail(w, r, why)
		return
	}
	a.emitRejected(r, http.StatusForbidden, why)
	jsonError(w, http.StatusForbidden, "forbidden", "signed in, but not allowed here")
}

// check tells whether s meets q at now, from its ID token's claims.
func (q Requirement) check(s *session.Session, now time.Time) error {
	if len(q.acr) == 0 && q.maxAge == 0 {
		return nil
	}
	var c struct {
		ACR      string  `json:"acr"`
		AuthTime float64 `json:"auth_time"`
	}
	s.DecodeClaims(&c)
	if len(q.acr) > 0 && !slices.Contains(q.acr, c.ACR) {
		return fmt.Errorf("%w: acr %q, the route needs %q", client.ErrInsufficientAuthentication, c.ACR, strings.Join(q.acr, " "))
	}
	// auth_time is in whole seconds: a sign-in made just now can look up
	// to a second older, and must not be sent back again.
	if q.maxAge > 0 && (c.AuthTime == 0 || now.Sub(time.Unix(int64(c.AuthTime), 0)) > q.maxAge+time.Second) {
		return fmt.Errorf("%w: authenticated longer ago than %s", client.ErrInsufficientAuthentication, q.maxAge)
	}
	return nil
}

// params are the authorization parameters that ask the provider for q.
func (q Requirement) params() url.Values {
	v := url.Values{}
	if len(q.acr) > 0 {
		v.Set("acr_values", strings.Join(q.acr, " "))
	}
	switch {
	case q.maxAge > 0:
		v.Set("max_age", strconv.Itoa(int(q.maxAge/time.Second)))
	case len(q.acr) > 0:
		// A provider may take acr_values as a wish and keep the session
		// it has (OpenID Connect Core 5.5.1.1): max_age=0 makes it
		// authenticate the user now, with prompt and offline_access
		// left as they are.
		v.Set("max_age", "0")
	}
	return v
}

// stepUp answers a request whose session does not meet need: a browser
// signs in again with need's parameters and comes back to the page; an API
// call gets 401 with an RFC 9470 challenge.
func (a *Auth) stepUp(w http.ResponseWriter, r *http.Request, c *client.Client, need Requirement, why error) {
	a.emit(r.Context(), event.Event{Kind: event.Rejected, Status: http.StatusUnauthorized, Err: why,
		Attrs: []slog.Attr{slog.String("path", r.URL.Path), slog.String("step_up", need.params().Encode())}})
	if c != nil && isNavigation(r) {
		returnTo, ok := sanitizeReturnTo(r.URL.RequestURI())
		if !ok {
			returnTo = a.cfg.AfterLogin
		}
		a.startFlow(w, r, c, returnTo, need.params())
		return
	}
	challenge := `Bearer error="insufficient_user_authentication", error_description="a stronger or more recent authentication is required"`
	if len(need.acr) > 0 {
		challenge += `, acr_values="` + strings.Join(need.acr, " ") + `"`
	}
	if need.maxAge > 0 {
		challenge += `, max_age=` + strconv.Itoa(int(need.maxAge/time.Second))
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("WWW-Authenticate", challenge)
	w.WriteHeader(http.StatusUnauthorized)
	q := need.params()
	q.Set("return_to", "/")
	json.NewEncoder(w).Encode(map[string]string{
		"error":             "insufficient_user_authentication",
		"error_description": "a stronger or more recent authentication is required",
		"login_url":         a.LoginPath() + "?" + q.Encode(),
	})
}

// SignInOptions say how Auth.SignIn starts a sign-in.
type SignInOptions struct {
	// Provider is the name of the provider to sign in with. Default: the
	// first configured.
	Provider string
	// ReturnTo is the local path to land on afterwards. Default: the
	// request's own path and query for a GET, else Config.AfterLogin.
	ReturnTo string
	// Params are authorization parameters for this sign-in (prompt,
	// login_hint, acr_values, max_age, organization, …). They are the
	// app's, so Config.LoginParams does not limit them; protocol
	// parameters (state, redirect_uri, …) cannot be set. acr_values and
	// max_age are verified in the ID token that comes back.
	Params url.Values
}

// SignIn sends the browser to the provider to sign in, as /auth/login does,
// from a handler of the app: for a sign-in with a login hint, a forced
// login (prompt=login) or a stronger authentication. An unknown provider
// goes to the ErrorHandler with ErrUnknownProvider.
func (a *Auth) SignIn(w http.ResponseWriter, r *http.Request, o SignInOptions) {
	c := a.clients[0]
	if o.Provider != "" {
		if c = a.byName[o.Provider]; c == nil {
			a.fail(w, r, ErrUnknownProvider)
			return
		}
	}
	returnTo, ok := sanitizeReturnTo(o.ReturnTo)
	if o.ReturnTo == "" && r.Method == http.MethodGet {
		returnTo, ok = sanitizeReturnTo(r.URL.RequestURI())
	}
	if !ok {
		returnTo = a.cfg.AfterLogin
	}
	a.startFlow(w, r, c, returnTo, o.Params)
}

// StepUpError is the error of a bearer client call (Auth.HTTPClient) that
// the API refused for insufficient user authentication (RFC 9470: 401 with
// WWW-Authenticate: Bearer error="insufficient_user_authentication"). Pass
// it to Auth.StepUp.
type StepUpError struct {
	ACRValues []string      // the API's acr_values, if it named them
	MaxAge    time.Duration // the API's max_age, if it named one
}

func (e *StepUpError) Error() string {
	return fmt.Sprintf("middleware: the API asks for a stronger or more recent authentication (acr_values %q, max_age %s)", strings.Join(e.ACRValues, " "), e.MaxAge)
}

// Is makes errors.Is(err, client.ErrInsufficientAuthentication) true.
func (e *StepUpError) Is(target error) bool { return target == client.ErrInsufficientAuthentication }

// StepUp answers a request whose API call failed with a *StepUpError: the
// browser signs in again with what the API asked for and comes back to the
// page; an API call of the app's own gets 401 with the same challenge. It
// reports false, and does nothing, for any other error.
func (a *Auth) StepUp(w http.ResponseWriter, r *http.Request, err error) bool {
	var se *StepUpError
	if !errors.As(err, &se) {
		return false
	}
	var c *client.Client
	if st, ok := r.Context().Value(ctxKey{}).(*reqSession); ok && st.sess != nil {
		c = a.clientFor(st.sess)
	}
	a.stepUp(w, r, c, Requirement{acr: se.ACRValues, maxAge: se.MaxAge}, se)
	return true
}

// stepUpChallenge reads an RFC 9470 challenge from an API's 401, or nil.
func stepUpChallenge(resp *http.Response) *StepUpError {
	if resp.StatusCode != http.StatusUnauthorized {
		return nil
	}
	for _, h := range resp.Header.Values("WWW-Authenticate") {
		scheme, rest, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "DPoP") {
			continue
		}
		params := authParams(rest)
		if params["error"] != "insufficient_user_authentication" {
			continue
		}
		e := &StepUpError{ACRValues: strings.Fields(params["acr_values"])}
		if n, err := strconv.Atoi(params["max_age"]); err == nil && n >= 0 {
			e.MaxAge = time.Duration(n) * time.Second
		}
		return e
	}
	return nil
}

// authParams parses the auth-params of a challenge: k=v or k="v", comma
// separated (RFC 9110 11.2).
func authParams(s string) map[string]string {
	m := map[string]string{}
	for s != "" {
		s = strings.TrimLeft(s, " ,")
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		rest = strings.TrimLeft(rest, " ")
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for end < len(rest) && rest[end] != '"' {
				if rest[end] == '\\' {
					end++
				}
				end++
			}
			v = strings.ReplaceAll(rest[1:min(end, len(rest))], `\`, "")
			rest = rest[min(end+1, len(rest)):]
		} else {
			v, rest, _ = strings.Cut(rest, ",")
			v = strings.TrimSpace(v)
		}
		m[k] = v
		s = rest
	}
	return m
}
