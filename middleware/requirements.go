package middleware

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
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

// Claim lets in users whose claim name (of the ID token or userinfo) is
// one of values: a string claim equal to one, or a list of strings (groups,
// roles) with one of them as an element. A string is compared whole, never
// split into words. A name that is no claim of its own is a path into objects,
// dot-separated: "realm_access.roles", or
// "resource_access.my-app.roles" (Keycloak's realm and client roles). A claim the provider left out and points to instead (a
// distributed claim, such as Entra's groups of a user in more than 200)
// refuses with ErrForbidden, which the app can tell from "not a
// member" and resolve itself (Microsoft Graph).
func Claim(name string, values ...string) Requirement {
	return Requirement{allow: []func(*session.Session) error{func(s *session.Session) error {
		var claims map[string]any
		s.DecodeClaims(&claims)
		var have []string
		switch v := claimAt(claims, name).(type) {
		case string:
			// Whole: a provider's string is one value, not a list of
			// words ("Not Finance" must not pass for "Finance").
			have = []string{v}
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
		if names, _ := claims["_claim_names"].(map[string]any); claimAt(claims, name) == nil && names[name] != nil {
			// A distributed claim (OpenID Connect Core 5.6.2): the
			// provider left it out and points to where it is (Entra's
			// groups of a user in more than 200). Not "not a member".
			return fmt.Errorf("%w: claim %s", fail.DistributedClaim, name)
		}
		return fmt.Errorf("%w: claim %s has none of %q", fail.Forbidden, name, values)
	}}}
}

// Scope lets in sessions whose granted scope includes all of scopes.
func Scope(scopes ...string) Requirement {
	return Requirement{allow: []func(*session.Session) error{func(s *session.Session) error {
		granted := strings.Fields(s.Scope)
		for _, sc := range scopes {
			if !slices.Contains(granted, sc) {
				return fmt.Errorf("%w: scope %s not granted", fail.Forbidden, sc)
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
		return fmt.Errorf("%w: value %s has none of %q", fail.Forbidden, key, values)
	}}}
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
	default:
		// A provider may take acr_values as a wish and keep the session
		// it has (OpenID Connect Core 5.5.1.1), and a requirement that
		// names nothing (an API's bare RFC 9470 challenge) would be met
		// by the same session again: max_age=0 makes it authenticate the
		// user now, with prompt and offline_access left as they are.
		v.Set("max_age", "0")
	}
	return v
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

// claimAt is the claim name, or, when there is none of that name, the
// value at the dot-separated path name into nested objects.
func claimAt(claims map[string]any, name string) any {
	if v, ok := claims[name]; ok {
		return v
	}
	var v any = claims
	for part := range strings.SplitSeq(name, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	return v
}
