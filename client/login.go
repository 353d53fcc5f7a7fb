package client

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
)

// Login is one sign-in attempt: the URL to send the browser to and the
// secrets the callback needs to finish it. Keep State, Nonce and Verifier
// on the server side or encrypted; never show them to the user.
type Login struct {
	URL      string // the provider's authorization URL with all parameters
	State    string // 43 characters: 32 random bytes, base64url
	Nonce    string // 32 random bytes, base64url; empty for plain OAuth 2.0
	Verifier string // PKCE code_verifier (S256 challenge sent)

	// ACRValues and MaxAge are the authentication the request asked for
	// (acr_values, max_age): Callback verifies that the ID token's acr is
	// one of them and that its auth_time is at most MaxAge old. Empty and
	// zero check nothing.
	ACRValues []string
	MaxAge    time.Duration
}

// protocolParams may not be set through AuthParams or extra.
var protocolParams = map[string]bool{
	"state": true, "nonce": true, "code_challenge": true, "code_challenge_method": true,
	"client_id": true, "redirect_uri": true, "response_type": true, "scope": true, "response_mode": true,
}

// NewLogin starts a sign-in attempt: it draws a fresh state, nonce and PKCE
// verifier and builds the authorization URL with the configured scopes,
// the provider's and the app's AuthParams, and extra, this attempt's own
// parameters.
//
// extra never replaces or weakens a parameter the app configured (see
// mergeParams): a configured acr_values is narrowed at most (the values in
// both, else the configured ones), a configured max_age only shortened, a
// configured prompt, organization or any other parameter kept as it is,
// and resource indicators and scopes (extra's "scope", space-separated)
// added to; the other protocol parameters (state, redirect_uri, …) cannot
// be set. What the ID token is verified against
// (Login.ACRValues, Login.MaxAge, and Callback's own check of the
// configured requirement) is the merged, never the weaker, requirement.
//
// With the offline_access scope it asks in the way the provider needs for
// a refresh token: prompt=consent for OpenID Connect providers (OIDC Core
// 11) unless a prompt was set; Google's access_type=offline; nothing for
// Auth0.
func (c *Client) NewLogin(ctx context.Context, extra url.Values) (*Login, error) {
	ep, err := c.endpoints(ctx)
	if err != nil {
		return nil, err
	}
	l := &Login{State: randomString(32), Verifier: oauth2.GenerateVerifier()}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(l.Verifier)}
	if ep.Issuer != "" && !c.forAPI {
		l.Nonce = randomString(32)
		opts = append(opts, oauth2.SetAuthURLParam("nonce", l.Nonce))
	}
	params := mergeParams(c.configured, extra)
	if slices.Contains(c.cfg.Scopes, "offline_access") {
		switch {
		case c.cfg.Provider.q.OfflineAccessType:
			if !params.Has("access_type") {
				params.Set("access_type", "offline")
			}
			if !params.Has("prompt") {
				params.Set("prompt", "consent")
			}
		case ep.Issuer != "" && !c.cfg.Provider.q.NoOfflineConsent && !params.Has("prompt"):
			// OpenID Connect Core 11: a provider grants offline_access
			// only with prompt=consent, and strict ones drop it
			// otherwise. A prompt the app or this attempt chose wins.
			params.Set("prompt", "consent")
		}
	}
	for k, vs := range params {
		if protocolParams[k] || len(vs) == 0 {
			continue
		}
		opts = append(opts, oauth2.SetAuthURLParam(k, vs[0]))
	}
	if ep.Issuer != "" && !c.forAPI {
		l.ACRValues = strings.Fields(params.Get("acr_values"))
		if v := params.Get("max_age"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%w: max_age %q is not a number of seconds", fail.ClientConfig, netx.ProviderText(v))
			}
			// max_age=0 asks for a login now: auth_time at most the clock skew old.
			l.MaxAge = max(time.Duration(n)*time.Second, time.Nanosecond)
		}
	}
	oc := c.oauth2Config(ep, AuthStyleAuto)
	for _, sc := range strings.Fields(strings.Join(extra["scope"], " ")) {
		// Scopes are only added to (the APIs' whose tokens come from
		// the refresh grant, RFC 8707 2.1), never taken away.
		if !slices.Contains(oc.Scopes, sc) && !(sc == "offline_access" && (c.cfg.Provider.q.OfflineAccessType || c.cfg.Provider.q.RefreshAlways)) {
			oc.Scopes = append(oc.Scopes, sc)
		}
	}
	if c.cfg.ResponseMode != "" {
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", c.cfg.ResponseMode))
	}
	l.URL = oc.AuthCodeURL(l.State, opts...)
	if multi := multiValued(params); len(multi) > 0 {
		// x/oauth2 sets one value per parameter; resource (RFC 8707) may
		// be given several times.
		u, _ := url.Parse(l.URL)
		q := u.Query()
		for k, vs := range multi {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
		l.URL = u.String()
	}
	if c.cfg.RequestObject {
		// The whole request signed (JAR); outside it only what OpenID
		// Connect wants to see there, equal to the signed values.
		u, _ := url.Parse(l.URL)
		q := u.Query()
		jwt, err := c.signer.requestObject(c.cfg.ClientID, ep, q, c.cfg.Now())
		if err != nil {
			return nil, err
		}
		outside := url.Values{"client_id": {c.cfg.ClientID}, "request": {jwt}}
		for _, k := range []string{"response_type", "scope"} {
			if v := q.Get(k); v != "" {
				outside.Set(k, v)
			}
		}
		u.RawQuery = outside.Encode()
		l.URL = u.String()
	}
	if c.cfg.FAPI != "" && ep.PARURL == "" {
		return nil, fmt.Errorf("%w: FAPI %s: the provider has no pushed authorization request endpoint (PAR)", fail.ClientConfig, c.cfg.FAPI)
	}
	if ep.PARURL != "" && (c.cfg.PAR || ep.requirePAR || c.cfg.RequestObject) {
		if l.URL, err = c.push(ctx, ep, l.URL); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// multiValued are the parameters of params with several values (protocol
// parameters excepted).
func multiValued(params url.Values) url.Values {
	var m url.Values
	for k, vs := range params {
		if len(vs) > 1 && !protocolParams[k] {
			if m == nil {
				m = url.Values{}
			}
			m[k] = vs
		}
	}
	return m
}

// push sends the authorization request in authURL to the provider's PAR
// endpoint (RFC 9126) and returns the URL that carries only client_id and
// the request_uri it was given.
func (c *Client) push(ctx context.Context, ep Endpoints, authURL string) (string, error) {
	if c.pushes != nil && !c.pushes.take(c.cfg.Now()) {
		return "", fmt.Errorf("%w: more pushed authorization requests than PARLimit (%d a second); not sent", ErrProviderUnavailable, c.pushes.rate)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		return "", fmt.Errorf("%w: authorization URL: %v", fail.ClientConfig, err)
	}
	status, body, err := c.postForm(ctx, "pushed authorization request", ep.PARURL, u.Query(), c.authStyle(ep))
	if err != nil {
		return "", err
	}
	var par struct {
		RequestURI string `json:"request_uri"`
		ExpiresIn  int    `json:"expires_in"`
	}
	if status != http.StatusCreated && status != http.StatusOK {
		te := tokenErrorOf(status, body)
		te.endpoint = "pushed authorization request endpoint"
		return "", fmt.Errorf("%w: %w", fail.PushedRequest, te)
	}
	if json.Unmarshal(body, &par) != nil || par.RequestURI == "" {
		return "", fmt.Errorf("%w: no request_uri in the answer", fail.PushedRequest)
	}
	u.RawQuery = url.Values{"client_id": {c.cfg.ClientID}, "request_uri": {par.RequestURI}}.Encode()
	return u.String(), nil
}

// checkResponseIssuer checks the iss parameter of an authorization response
// (the callback's query q), for success and error responses alike (RFC
// 9207): when present it must be the provider's issuer, and it must be
// present when discovery says the provider sends it, and under a FAPI
// profile whatever discovery says (FAPI 2.0 servers send it). A plain
// OAuth 2.0 provider has an issuer to compare with only when it was
// discovered (RFC 8414 metadata). It runs after the state check and before
// the code exchange.
func (c *Client) checkResponseIssuer(ctx context.Context, q url.Values) error {
	ep, err := c.endpoints(ctx)
	if err != nil {
		return err
	}
	iss, present := q["iss"]
	if ep.Issuer == "" && ep.asIssuer != "" {
		ep.Issuer = ep.asIssuer // RFC 8414 metadata's: one issuer, matched exactly
	}
	switch {
	case ep.Issuer == "":
		return nil
	case !present:
		switch {
		case ep.responseIss:
			return fmt.Errorf("%w: no iss, and the provider always sends it", fail.ResponseIssuer)
		case c.cfg.FAPI != "":
			// The profile is the promise, not the metadata: a FAPI 2.0
			// server sends iss, advertised or not.
			return fmt.Errorf("%w: no iss, which FAPI %s requires", fail.ResponseIssuer, c.cfg.FAPI)
		}
		return nil
	case len(iss) == 1 && strings.Contains(ep.Issuer, tenantPlaceholder):
		// A multi-tenant template: an accepted tenant's issuer.
		r, err := c.resolve(ctx)
		if err != nil {
			return err
		}
		if r.tenants != nil && r.tenants.issuerOf(iss[0]) {
			return nil
		}
		return fmt.Errorf("%w: iss %q is not an accepted tenant's issuer", fail.ResponseIssuer, netx.ProviderText(iss[0]))
	case len(iss) != 1 || iss[0] != ep.Issuer:
		return fmt.Errorf("%w: iss %q, want %q", fail.ResponseIssuer, netx.ProviderText(strings.Join(iss, ",")), ep.Issuer)
	}
	return nil
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails; see crypto/rand
	return base64.RawURLEncoding.EncodeToString(b)
}

// mergeParams is the authorization request's parameters: the configured
// ones (the provider's and Config.AuthParams), with this attempt's own
// (extra: the login route's query, Auth.SignIn, a step-up) merged in so
// that none of them replaces or weakens a configured one:
//
//   - acr_values: the configured values that extra names too (a narrower
//     one-of list), or the configured ones when extra names none of them;
//   - max_age: the shorter of both;
//   - resource: both lists (RFC 8707 allows several);
//   - any other configured parameter (prompt, organization, audience, …):
//     the configured value; extra's is dropped.
//
// A parameter only extra sets is taken as it is.
func mergeParams(configured, extra url.Values) url.Values {
	params := netx.CloneValues(configured)
	for k, vs := range extra {
		if len(vs) == 0 || protocolParams[k] {
			continue
		}
		have, ok := configured[k]
		if !ok || len(have) == 0 {
			params[k] = slices.Clone(vs)
			continue
		}
		switch k {
		case "acr_values":
			want := strings.Fields(strings.Join(vs, " "))
			var both []string
			for _, v := range strings.Fields(strings.Join(have, " ")) {
				if slices.Contains(want, v) {
					both = append(both, v)
				}
			}
			if len(both) > 0 {
				params.Set(k, strings.Join(both, " "))
			}
		case "max_age":
			a, errA := strconv.Atoi(have[0])
			b, errB := strconv.Atoi(vs[0])
			if errA == nil && errB == nil && b >= 0 && b < a {
				params.Set(k, vs[0])
			}
		case "resource":
			for _, v := range vs {
				if !slices.Contains(params[k], v) {
					params[k] = append(params[k], v)
				}
			}
		}
	}
	return params
}
