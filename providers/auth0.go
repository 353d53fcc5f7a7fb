package providers

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/preset"
)

// Auth0 returns the Auth0 tenant at domain (e.g. "example.eu.auth0.com" or a
// custom domain), discovered at https://DOMAIN/ on first use and named
// "auth0". It passes on Auth0's organization and invitation parameters from
// the login route, supports WithAudience, and signs out through the
// discovered end_session_endpoint (/oidc/logout) or, for tenants without
// it, /v2/logout?client_id=…&returnTo=…. Ask for offline_access to get a
// (rotating) refresh token.
func Auth0(domain string, opts ...client.ProviderOption) (*client.Provider, error) {
	o := applyOptions(opts)
	domain = strings.TrimSuffix(strings.TrimPrefix(domain, "https://"), "/")
	if domain == "" || strings.ContainsAny(domain, "/?#@ ") {
		return nil, fmt.Errorf("%w: Auth0 domain %q", fail.ClientConfig, domain)
	}
	if o.Name == "" {
		o.Name = "auth0"
	}
	q := preset.Quirks{
		LoginParams:      []string{"organization", "invitation", "login_hint", "screen_hint"},
		AuthPost:         true, // client_secret_post: the default of an Auth0 application
		NoOfflineConsent: true, // Auth0 issues refresh tokens for offline_access without a consent prompt
		OrgClaims:        true, // an organization the app pins is verified in org_id / org_name
		LogoutFallback: func(_, clientID, postLogout string) string {
			q := url.Values{"client_id": {clientID}}
			if postLogout != "" {
				q.Set("returnTo", postLogout)
			}
			return "https://" + domain + "/v2/logout?" + q.Encode()
		},
	}
	if o.Audience != "" {
		q.AuthParams = url.Values{"audience": {o.Audience}}
	}
	return presets.Preset(preset.Discovery{Issuer: "https://" + domain + "/", Name: o.Name, HTTPClient: o.HTTPClient}, q)
}
