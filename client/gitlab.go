package client

import (
	"fmt"
	"net/url"

	"github.com/confidant-go/confidant/internal/fail"
)

// GitLab returns GitLab's OpenID Provider, gitlab.com or a self-managed
// instance (WithBaseURL, e.g. https://gitlab.example.com), discovered on
// first use and named "gitlab" either way. Its quirks, as "GitLab as an
// OpenID Connect identity provider" (docs.gitlab.com/integration/openid_connect_provider)
// describes them:
//   - ID tokens live two minutes: nothing about the session depends on the
//     ID token's expiry (the access token's, two hours, rules refreshes);
//   - the user's groups (groups, groups_direct) are in userinfo only, so
//     FetchUserInfo is on: middleware.Claim("groups", "my-group") works;
//   - a refresh token comes with every code, and GitLab refuses the
//     offline_access scope: it is never sent (asking for it is harmless);
//   - no end_session endpoint: signing out revokes the token.
func GitLab(opts ...ProviderOption) (*Provider, error) {
	o := applyOptions(opts)
	if o.name == "" {
		o.name = "gitlab"
	}
	issuer := "https://gitlab.com"
	if o.baseURL != "" {
		if u, err := url.Parse(o.baseURL); err != nil || u.Host == "" || u.Path != "" {
			return nil, fmt.Errorf("%w: GitLab base URL %q: want https://host", fail.ClientConfig, o.baseURL)
		}
		issuer = o.baseURL
	}
	p, err := lazyProvider(discoveryConfig{Issuer: issuer, Name: o.name, HTTPClient: o.hc})
	if err != nil {
		return nil, err
	}
	p.q.defaultScopes = []string{"openid", "profile", "email"}
	p.q.refreshAlways = true
	p.q.noOfflineConsent = true
	p.q.fetchUserInfo = true
	return p, nil
}
