// Package preset is what a provider preset (package providers) gives a
// client.Provider for the protocol to run: its options and its quirks,
// the ways a provider departs from plain OpenID Connect. Package client
// keeps them in unexported fields and reads them during the protocol;
// package providers fills them through the *client.Provider's plumbing
// (internal/seam), so neither is an exported name of client.
package preset

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant"
)

// Options are what a client.ProviderOption sets: client's own (WithName,
// WithHTTPClient) and the presets' (package providers).
type Options struct {
	Name          string
	HTTPClient    *http.Client
	RetryInterval time.Duration // tests only: between two discovery attempts

	Audience     string   // providers.WithAudience (Auth0)
	HostedDomain string   // providers.WithHostedDomain (Google)
	BaseURL      string   // providers.WithBaseURL (GitHub, GitLab)
	Tenants      []string // providers.WithTenants (a multi-tenant issuer)
	AnyTenant    bool     // providers.WithAnyTenant
}

// Discovery is how a provider is discovered on first use.
type Discovery struct {
	// Issuer is the provider's issuer URL. The discovery document must
	// name exactly this issuer.
	Issuer string
	// Name is how the provider is called in sessions, logs and errors.
	// Default: the issuer's host name.
	Name string
	// HTTPClient is used for every request to the provider. Default: a
	// client with a 10 second timeout.
	HTTPClient *http.Client
	// RetryInterval is the shortest time between two discovery attempts
	// after a failure. Default: 5 seconds.
	RetryInterval time.Duration
	// Tenants, AnyTenant: see providers.WithTenants.
	Tenants   []string
	AnyTenant bool
	// AuthorizationServerFirst looks for the issuer's OAuth 2.0
	// Authorization Server Metadata (RFC 8414) before its OpenID Connect
	// discovery document; without it, RFC 8414's is looked for only when
	// there is no OpenID Connect document.
	AuthorizationServerFirst bool
}

// UserLoader loads the signed-in user from a plain OAuth 2.0 provider: hc
// sends tok as a Bearer header.
type UserLoader = func(ctx context.Context, hc *http.Client, tok *oauth2.Token) (confidant.User, error)

// Quirks is how a provider departs from plain OIDC; the zero value is
// standard behaviour.
type Quirks struct {
	// LoginParams are query parameters of the app's login route passed on
	// to the authorization request (Auth0's organization and invitation).
	LoginParams []string
	// AuthParams are sent with every authorization request.
	AuthParams url.Values
	// AssertionAudEndpoint makes the URL of the endpoint a client
	// assertion is sent to its aud (Entra ID: the token endpoint), not the
	// issuer.
	AssertionAudEndpoint bool
	// ResponseMode is Config.ResponseMode's default (Apple: form_post).
	ResponseMode string
	// DefaultScopes replace the generic default.
	DefaultScopes []string
	// MultiAudNoAZP accepts ID tokens with several audiences and no azp
	// (Google), as long as one audience is the client.
	MultiAudNoAZP bool
	// HostedDomain is required in the ID token's hd claim (Google).
	HostedDomain string
	// NoOfflineConsent: the provider grants offline_access without
	// prompt=consent (Auth0), so none is added for it.
	NoOfflineConsent bool
	// OfflineAccessType turns the offline_access scope into
	// access_type=offline&prompt=consent (Google).
	OfflineAccessType bool
	// RefreshAlways: the provider issues a refresh token with every code
	// and refuses the offline_access scope (GitLab), so it is not sent.
	RefreshAlways bool
	// FormUser: the form_post response's "user" field (Apple's, on a
	// first sign-in) gives the display name when the ID token has none.
	FormUser bool
	// FetchUserInfo turns Config.FetchUserInfo on (GitLab's groups are in
	// userinfo only).
	FetchUserInfo bool
	// LogoutFallback builds a logout URL when there is no end_session
	// endpoint (Auth0's /v2/logout); authURL is the authorization
	// endpoint's.
	LogoutFallback func(authURL, clientID, postLogout string) string
	// Revoke replaces RFC 7009 revocation (GitHub): hc is the client's,
	// secret its client secret.
	Revoke func(ctx context.Context, hc *http.Client, clientID, secret string, tok *oauth2.Token) error
	// UserLoader loads the identity of a plain OAuth 2.0 provider.
	UserLoader UserLoader
	// AuthPost makes client_secret_post what AuthStyleAuto uses (Auth0
	// apps default to it; GitHub and Apple document it).
	AuthPost bool
	// OrgClaims: an organization the app pins (AuthParams) is verified in
	// the ID token's org_id, or org_name for a name (Auth0).
	OrgClaims bool
	// RevokedCodes are token error codes, besides invalid_grant, that mean
	// the refresh token is dead.
	RevokedCodes []string
}
