package client

import (
	"net/url"
)

// WithHostedDomain (Google) restricts sign-in to accounts of one Google
// Workspace domain. It is sent as hd and enforced on the ID token's hd
// claim: a token from another domain is refused with ErrInvalidIDToken.
func WithHostedDomain(domain string) ProviderOption {
	return func(o *providerOptions) { o.hostedDomain = domain }
}

// Google returns Google's OpenID Provider, discovered at
// https://accounts.google.com on first use. Asking for the offline_access
// scope sends access_type=offline and prompt=consent instead (Google's way
// to issue a refresh token). ID tokens with several audiences and no azp are
// accepted when one audience is the client. Google has no end_session
// endpoint: signing out revokes the token at Google's revocation endpoint.
// WithHostedDomain restricts sign-in to one Workspace domain.
func Google(opts ...ProviderOption) (*Provider, error) {
	o := applyOptions(opts)
	if o.name == "" {
		o.name = "google"
	}
	p, err := lazyProvider(discoveryConfig{Issuer: "https://accounts.google.com", Name: o.name, HTTPClient: o.hc})
	if err != nil {
		return nil, err
	}
	p.q.multiAudNoAZP = true
	p.q.offlineAccessType = true
	p.q.loginParams = []string{"login_hint"}
	if o.hostedDomain != "" {
		p.q.hostedDomain = o.hostedDomain
		p.q.authParams = url.Values{"hd": {o.hostedDomain}}
	}
	return p, nil
}
