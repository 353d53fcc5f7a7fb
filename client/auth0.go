package client

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/confidant-go/confidant/internal/fail"
)

// WithAudience (Auth0) asks for access tokens for the API identified by
// audience: they are then JWTs that API can verify, not opaque tokens.
func WithAudience(audience string) ProviderOption {
	return func(o *providerOptions) { o.audience = audience }
}

// Auth0 returns the Auth0 tenant at domain (e.g. "example.eu.auth0.com" or a
// custom domain), discovered at https://DOMAIN/ on first use. It passes on
// Auth0's organization and invitation parameters from the login route,
// supports WithAudience, and signs out through the discovered
// end_session_endpoint (/oidc/logout) or, for tenants without it,
// /v2/logout?client_id=…&returnTo=…. Ask for offline_access to get a
// (rotating) refresh token.
func Auth0(domain string, opts ...ProviderOption) (*Provider, error) {
	o := applyOptions(opts)
	domain = strings.TrimSuffix(strings.TrimPrefix(domain, "https://"), "/")
	if domain == "" || strings.ContainsAny(domain, "/?#@ ") {
		return nil, fmt.Errorf("%w: Auth0 domain %q", fail.ClientConfig, domain)
	}
	if o.name == "" {
		o.name = "auth0"
	}
	p, err := lazyProvider(discoveryConfig{Issuer: "https://" + domain + "/", Name: o.name, HTTPClient: o.hc})
	if err != nil {
		return nil, err
	}
	p.q.loginParams = []string{"organization", "invitation", "login_hint", "screen_hint"}
	p.q.authStyle = AuthStylePost // the default of an Auth0 application
	p.q.noOfflineConsent = true   // Auth0 issues refresh tokens for offline_access without a consent prompt
	p.q.orgClaims = true          // an organization the app pins is verified in org_id / org_name
	if o.audience != "" {
		p.q.authParams = url.Values{"audience": {o.audience}}
	}
	p.q.logoutFallback = func(_ Endpoints, clientID, postLogout string) string {
		q := url.Values{"client_id": {clientID}}
		if postLogout != "" {
			q.Set("returnTo", postLogout)
		}
		return "https://" + domain + "/v2/logout?" + q.Encode()
	}
	return p, nil
}
