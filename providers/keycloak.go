package providers

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/preset"
)

// Keycloak returns a Keycloak realm's OpenID Provider, issuer
// BASE/realms/REALM (base as https://sso.example.com, without the /auth of
// versions before 17), discovered on first use and named "keycloak" (give
// each realm its own client.WithName when an app uses several). Its quirks,
// as the Keycloak Server Administration Guide describes them:
//   - sign-out sends id_token_hint, client_id and post_logout_redirect_uri
//     (Keycloak 18 removed redirect_uri, which it refuses);
//   - realm roles are in realm_access.roles and a client's in
//     resource_access.CLIENT.roles: middleware.Claim("realm_access.roles",
//     "admin") reads such a path;
//   - with "Revoke Refresh Token" on, a refresh token is single-use and
//     presenting one twice ends the session (the SDK refreshes once per
//     session however many requests or instances ask).
func Keycloak(base, realm string, opts ...client.ProviderOption) (*client.Provider, error) {
	o := applyOptions(opts)
	if o.Name == "" {
		o.Name = "keycloak"
	}
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || u.Host == "" || realm == "" || strings.ContainsAny(realm, "/?#") {
		return nil, fmt.Errorf("%w: Keycloak(%q, %q): want the server's URL and a realm name", fail.ClientConfig, base, realm)
	}
	return presets.Preset(preset.Discovery{Issuer: u.String() + "/realms/" + url.PathEscape(realm), Name: o.Name, HTTPClient: o.HTTPClient}, preset.Quirks{})
}
