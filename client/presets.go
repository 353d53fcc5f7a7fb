package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant"
)

// quirks is how a provider departs from plain OIDC; the zero value is
// standard behaviour.
type quirks struct {
	// loginParams are query parameters of the app's login route passed on
	// to the authorization request (Auth0's organization and invitation).
	loginParams []string
	// authParams are sent with every authorization request.
	authParams url.Values
	// defaultScopes replace the generic default.
	defaultScopes []string
	// multiAudNoAZP accepts ID tokens with several audiences and no azp
	// (Google), as long as one audience is the client.
	multiAudNoAZP bool
	// hostedDomain is required in the ID token's hd claim (Google).
	hostedDomain string
	// offlineAccessType turns the offline_access scope into
	// access_type=offline&prompt=consent (Google).
	offlineAccessType bool
	// logoutFallback builds a logout URL when there is no end_session
	// endpoint (Auth0's /v2/logout).
	logoutFallback func(clientID, postLogout string) string
	// revoke replaces RFC 7009 revocation (GitHub).
	revoke func(ctx context.Context, c *Client, tok *oauth2.Token) error
	// userLoader loads the identity of a plain OAuth 2.0 provider.
	userLoader UserLoader
	// authStyle is the client authentication AuthStyleAuto uses (Auth0
	// apps default to client_secret_post).
	authStyle AuthStyle
	// revokedCodes are token error codes, besides invalid_grant, that mean
	// the refresh token is dead.
	revokedCodes []string
}

// UserLoader loads the signed-in user from a plain OAuth 2.0 provider. hc
// sends tok as a Bearer header; Exchange sets User.Provider. User.Subject must be stable (an ID, not
// a renameable login).
type UserLoader func(ctx context.Context, hc *http.Client, tok *oauth2.Token) (confidant.User, error)

// ProviderOption adjusts a provider made by Discover, Auth0, Google, GitHub
// or OAuth2. Options that do not apply to a provider are ignored.
type ProviderOption func(*providerOptions)

type providerOptions struct {
	name, audience, hostedDomain, baseURL string
	hc                                    *http.Client
	insecureHTTP                          bool
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

// WithInsecureHTTP lets Discover use an issuer on plain http that is not a
// loopback host. Tokens then travel in clear: only for a closed test
// network.
func WithInsecureHTTP() ProviderOption { return func(o *providerOptions) { o.insecureHTTP = true } }

// WithHTTPClient sets the client for discovery, JWKS and provider API
// requests (default: a 10 second timeout).
func WithHTTPClient(hc *http.Client) ProviderOption {
	return func(o *providerOptions) { o.hc = hc }
}

// WithAudience (Auth0) asks for access tokens for the API identified by
// audience: they are then JWTs that API can verify, not opaque tokens.
func WithAudience(audience string) ProviderOption {
	return func(o *providerOptions) { o.audience = audience }
}

// WithHostedDomain (Google) restricts sign-in to accounts of one Google
// Workspace domain. It is sent as hd and enforced on the ID token's hd
// claim: a token from another domain is refused with ErrHostedDomain.
func WithHostedDomain(domain string) ProviderOption {
	return func(o *providerOptions) { o.hostedDomain = domain }
}

// WithBaseURL (GitHub) points at a GitHub Enterprise Server, e.g.
// "https://github.example.com"; its API is at BASE/api/v3.
func WithBaseURL(base string) ProviderOption {
	return func(o *providerOptions) { o.baseURL = strings.TrimSuffix(base, "/") }
}

// ErrHostedDomain means a Google ID token is not from the required
// Workspace domain (WithHostedDomain). It wraps ErrInvalidIDToken.
var ErrHostedDomain = fmt.Errorf("%w: hosted domain mismatch", ErrInvalidIDToken)

// Auth0 returns the Auth0 tenant at domain (e.g. "example.eu.auth0.com" or a
// custom domain), discovered at https://DOMAIN/ on first use. It passes on
// Auth0's organization and invitation parameters from the login route,
// supports WithAudience, and signs out through the discovered
// end_session_endpoint (/oidc/logout) or, for tenants without it,
// /v2/logout?client_id=…&returnTo=…. Ask for offline_access to get a
// (rotating) refresh token.
func Auth0(domain string, opts ...ProviderOption) (*Provider, error) {
	o := applyOptions(opts)
	domain = strings.TrimSuffix(strings.TrimPrefix(domain, "https://"), "/")
	if domain == "" || strings.ContainsAny(domain, "/?#@ ") {
		return nil, fmt.Errorf("%w: Auth0 domain %q", ErrConfig, domain)
	}
	if o.name == "" {
		o.name = "auth0"
	}
	p, err := lazyProvider(DiscoveryConfig{Issuer: "https://" + domain + "/", Name: o.name, HTTPClient: o.hc})
	if err != nil {
		return nil, err
	}
	p.q.loginParams = []string{"organization", "invitation", "login_hint", "screen_hint"}
	p.q.authStyle = AuthStylePost // the default of an Auth0 application
	if o.audience != "" {
		p.q.authParams = url.Values{"audience": {o.audience}}
	}
	p.q.logoutFallback = func(clientID, postLogout string) string {
		q := url.Values{"client_id": {clientID}}
		if postLogout != "" {
			q.Set("returnTo", postLogout)
		}
		return "https://" + domain + "/v2/logout?" + q.Encode()
	}
	return p, nil
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
	p, err := lazyProvider(DiscoveryConfig{Issuer: "https://accounts.google.com", Name: o.name, HTTPClient: o.hc})
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

// OAuth2 returns a plain OAuth 2.0 provider (no ID token): endpoints by hand
// and a function that loads the user with the access token.
func OAuth2(name string, authURL, tokenURL string, load UserLoader, opts ...ProviderOption) (*Provider, error) {
	if load == nil {
		return nil, fmt.Errorf("%w: provider %q needs a UserLoader", ErrConfig, name)
	}
	o := applyOptions(opts)
	p, err := NewProvider(name, Endpoints{AuthURL: authURL, TokenURL: tokenURL}, o.hc)
	if err != nil {
		return nil, err
	}
	p.q.userLoader = load
	return p, nil
}
