package providers

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/preset"
)

// Okta returns an Okta authorization server, discovered on first use and
// named "okta". domain is the org's (acme.okta.com, or a custom domain);
// authServer is "" for the org authorization server (issuer https://DOMAIN,
// endpoints under /oauth2/v1) or a custom one's ID, "default" for the one
// every org has (issuer https://DOMAIN/oauth2/default, endpoints under
// /oauth2/default/v1). Its quirks, as Okta's "Authorization servers" and
// "Sign users out" guides describe them:
//   - only a custom authorization server issues access tokens for your own
//     APIs (audience, scopes, resource): the org server's are for Okta's
//     APIs;
//   - a refresh token needs offline_access (and the app's Refresh Token
//     grant);
//   - sign-out goes to the server's own /v1/logout with id_token_hint and a
//     registered post_logout_redirect_uri.
func Okta(domain, authServer string, opts ...client.ProviderOption) (*client.Provider, error) {
	o := applyOptions(opts)
	if o.Name == "" {
		o.Name = "okta"
	}
	domain = strings.TrimSuffix(strings.TrimPrefix(domain, "https://"), "/")
	if u, err := url.Parse("https://" + domain); err != nil || u.Host != domain || strings.ContainsAny(authServer, "/?#") {
		return nil, fmt.Errorf("%w: Okta(%q, %q): want the org's domain (acme.okta.com) and \"\", \"default\" or an authorization server ID", fail.ClientConfig, domain, authServer)
	}
	issuer := "https://" + domain
	if authServer != "" {
		issuer += "/oauth2/" + authServer
	}
	return presets.Preset(preset.Discovery{Issuer: issuer, Name: o.Name, HTTPClient: o.HTTPClient}, preset.Quirks{})
}
