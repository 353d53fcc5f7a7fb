package providers

import (
	"fmt"
	"net/url"
	"regexp"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/preset"
)

var (
	awsRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	poolID    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d_[0-9A-Za-z]+$`)
)

// Cognito returns an Amazon Cognito user pool, issuer
// https://cognito-idp.REGION.amazonaws.com/POOL, discovered on first use
// and named "cognito". Its quirks, as the Amazon Cognito Developer Guide
// describes them:
//   - the issuer is on cognito-idp, while authorize, token, userInfo and
//     revoke live on the pool's hosted (or custom) domain, as discovery
//     says;
//   - there is no end_session endpoint: sign-out goes to the domain's
//     /logout?client_id=…&logout_uri=… (register APP_URL/ as a sign-out
//     URL; Cognito refuses post_logout_redirect_uri);
//   - groups are in the ID token's cognito:groups:
//     middleware.Claim("cognito:groups", "admins");
//   - refresh tokens do not rotate unless the pool turns rotation on; the
//     session keeps the one it has;
//   - access tokens carry client_id (and token_use "access"), not aud: an
//     API of yours that verifies them compares client_id with the app's.
//     confidant never reads an access token, it only sends it, so nothing
//     here depends on aud.
func Cognito(region, pool string, opts ...client.ProviderOption) (*client.Provider, error) {
	o := applyOptions(opts)
	if o.Name == "" {
		o.Name = "cognito"
	}
	if !awsRegion.MatchString(region) || !poolID.MatchString(pool) {
		return nil, fmt.Errorf("%w: Cognito(%q, %q): want a region (eu-west-1) and a user pool ID (eu-west-1_AbCdEf123)", fail.ClientConfig, region, pool)
	}
	return presets.Preset(preset.Discovery{Issuer: "https://cognito-idp." + region + ".amazonaws.com/" + pool, Name: o.Name, HTTPClient: o.HTTPClient}, preset.Quirks{
		LogoutFallback: cognitoLogout,
	})
}

// cognitoLogout is the pool's domain's /logout, found from the
// authorization endpoint's URL (on that domain).
func cognitoLogout(authURL, clientID, postLogout string) string {
	u, err := url.Parse(authURL)
	if err != nil || u.Host == "" {
		return ""
	}
	q := url.Values{"client_id": {clientID}}
	if postLogout != "" {
		q.Set("logout_uri", postLogout)
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/logout", RawQuery: q.Encode()}).String()
}
