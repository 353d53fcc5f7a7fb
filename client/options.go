package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"
)

// quirks is how a provider departs from plain OIDC; the zero value is
// standard behaviour.
type quirks struct {
	// loginParams are query parameters of the app's login route passed on
	// to the authorization request (Auth0's organization and invitation).
	loginParams []string
	// authParams are sent with every authorization request.
	authParams url.Values
	// assertionAudEndpoint makes the URL of the endpoint a client
	// assertion is sent to its aud (Entra ID: the token endpoint), not the
	// issuer.
	assertionAudEndpoint bool
	// responseMode is Config.ResponseMode's default (Apple: form_post).
	responseMode string
	// defaultScopes replace the generic default.
	defaultScopes []string
	// multiAudNoAZP accepts ID tokens with several audiences and no azp
	// (Google), as long as one audience is the client.
	multiAudNoAZP bool
	// hostedDomain is required in the ID token's hd claim (Google).
	hostedDomain string
	// noOfflineConsent: the provider grants offline_access without
	// prompt=consent (Auth0), so none is added for it.
	noOfflineConsent bool
	// offlineAccessType turns the offline_access scope into
	// access_type=offline&prompt=consent (Google).
	offlineAccessType bool
	// refreshAlways: the provider issues a refresh token with every code
	// and refuses the offline_access scope (GitLab), so it is not sent.
	refreshAlways bool
	// formUser: the form_post response's "user" field (Apple's, on a
	// first sign-in) gives the display name when the ID token has none.
	formUser bool
	// fetchUserInfo turns Config.FetchUserInfo on (GitLab's groups are in
	// userinfo only).
	fetchUserInfo bool
	// logoutFallback builds a logout URL when there is no end_session
	// endpoint (Auth0's /v2/logout).
	logoutFallback func(ep Endpoints, clientID, postLogout string) string
	// revoke replaces RFC 7009 revocation (GitHub).
	revoke func(ctx context.Context, c *Client, tok *oauth2.Token) error
	// userLoader loads the identity of a plain OAuth 2.0 provider.
	userLoader userLoader
	// authStyle is the client authentication AuthStyleAuto uses (Auth0
	// apps default to client_secret_post).
	authStyle AuthStyle
	// orgClaims: an organization the app pins (AuthParams) is verified in
	// the ID token's org_id, or org_name for a name (Auth0).
	orgClaims bool
	// revokedCodes are token error codes, besides invalid_grant, that mean
	// the refresh token is dead.
	revokedCodes []string
}

// ProviderOption adjusts a provider made by Discover, Auth0, Google, GitHub
// or OAuth2. Options that do not apply to a provider are ignored.
type ProviderOption func(*providerOptions)

type providerOptions struct {
	name, audience, hostedDomain, baseURL string
	hc                                    *http.Client
	retryInterval                         time.Duration
	tenants                               []string
	anyTenant                             bool
}

func applyOptions(opts []ProviderOption) providerOptions {
	var o providerOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// WithName sets the provider's name (sessions remember it; with several
// providers, /auth/login?provider=NAME selects it).
func WithName(name string) ProviderOption { return func(o *providerOptions) { o.name = name } }

// WithTenants accepts sign-ins from these tenants of a multi-tenant
// provider (Microsoft Entra ID's tenant IDs; the personal Microsoft
// accounts' tenant is 9188040d-6c67-4c5b-b112-36a304b66dad): an ID token's
// tid must be one of them and its iss the issuer template with that tid.
// The same rule holds wherever an issuer is matched: a back-channel logout
// token, a JARM response (each with its own tid), RFC 9207's iss parameter
// (an accepted tenant's issuer). A tenant ID is
// letters, digits, '-', '_' and '.'.
func WithTenants(ids ...string) ProviderOption {
	return func(o *providerOptions) { o.tenants = append(o.tenants, ids...) }
}

// WithAnyTenant accepts sign-ins from EVERY tenant of a multi-tenant
// provider: anyone with an account in any organization, or a personal
// account, signs in. An ID token's iss must still be the issuer template
// with its own tid. Key users on (tid, oid) or (tid, sub), never on the
// e-mail address, which each tenant's administrators set as they like.
func WithAnyTenant() ProviderOption { return func(o *providerOptions) { o.anyTenant = true } }

// WithHTTPClient sets the HTTP client for every request to the provider:
// discovery, JWKS, and the token, userinfo, revocation and user API
// requests of the Clients made with it (Config.ClientCertificate is added
// to a copy). Default: a client with a 10 second timeout.
func WithHTTPClient(hc *http.Client) ProviderOption {
	return func(o *providerOptions) { o.hc = hc }
}
