package providers

import (
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/preset"
)

// Apple returns Sign in with Apple, discovered at https://appleid.apple.com
// on first use and named "apple". Its quirks, as Apple documents them
// ("Authenticating users with Sign in with Apple",
// developer.apple.com/documentation/signinwithapple):
//   - the client secret is a JWT the app signs with its Sign in with Apple
//     key (client.Config.SecretJWT: Key, KeyID, Issuer the Team ID; the
//     client ID is the Services ID), sent client_secret_post;
//   - the response comes by form_post (client.Config.ResponseMode defaults
//     to it), as Apple requires when the name or e-mail is asked for: the
//     scopes default to openid, name and email;
//   - the user's name is never in the ID token: it arrives once, in the
//     form_post's user field of the first sign-in, and becomes the user's
//     Name, kept across refreshes; being unsigned, it is a display name
//     only and never enters the claims (Claim("name", …) cannot match it);
//   - there is no userinfo endpoint; the ID token's email_verified may be
//     the string "true".
func Apple(opts ...client.ProviderOption) (*client.Provider, error) {
	o := applyOptions(opts)
	if o.Name == "" {
		o.Name = "apple"
	}
	return presets.Preset(preset.Discovery{Issuer: "https://appleid.apple.com", Name: o.Name, HTTPClient: o.HTTPClient}, preset.Quirks{
		DefaultScopes:    []string{"openid", "name", "email"},
		AuthPost:         true,
		ResponseMode:     "form_post",
		FormUser:         true,
		NoOfflineConsent: true, // Apple issues refresh tokens without offline_access
	})
}
