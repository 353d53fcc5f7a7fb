package providers

import (
	"net/url"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/preset"
)

// Google returns Google's OpenID Provider, discovered at
// https://accounts.google.com on first use and named "google". Asking for
// the offline_access scope sends access_type=offline and prompt=consent
// instead (Google's way to issue a refresh token). ID tokens with several
// audiences and no azp are accepted when one audience is the client. Google
// has no end_session endpoint: signing out revokes the token at Google's
// revocation endpoint. WithHostedDomain restricts sign-in to one Workspace
// domain.
func Google(opts ...client.ProviderOption) (*client.Provider, error) {
	o := applyOptions(opts)
	if o.Name == "" {
		o.Name = "google"
	}
	q := preset.Quirks{
		MultiAudNoAZP:     true,
		OfflineAccessType: true,
		LoginParams:       []string{"login_hint"},
	}
	if o.HostedDomain != "" {
		q.HostedDomain = o.HostedDomain
		q.AuthParams = url.Values{"hd": {o.HostedDomain}}
	}
	return presets.Preset(preset.Discovery{Issuer: "https://accounts.google.com", Name: o.Name, HTTPClient: o.HTTPClient}, q)
}
