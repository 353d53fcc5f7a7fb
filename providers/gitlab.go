package providers

import (
	"fmt"
	"net/url"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/preset"
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
func GitLab(opts ...client.ProviderOption) (*client.Provider, error) {
	o := applyOptions(opts)
	if o.Name == "" {
		o.Name = "gitlab"
	}
	issuer := "https://gitlab.com"
	if o.BaseURL != "" {
		if u, err := url.Parse(o.BaseURL); err != nil || u.Host == "" || u.Path != "" {
			return nil, fmt.Errorf("%w: GitLab base URL %q: want https://host", fail.ClientConfig, o.BaseURL)
		}
		issuer = o.BaseURL
	}
	return presets.Preset(preset.Discovery{Issuer: issuer, Name: o.Name, HTTPClient: o.HTTPClient}, preset.Quirks{
		DefaultScopes:    []string{"openid", "profile", "email"},
		RefreshAlways:    true,
		NoOfflineConsent: true,
		FetchUserInfo:    true,
	})
}
