package client

import (
	"context"
	"crypto/ecdsa"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/preset"
	"github.com/confidant-go/confidant/internal/seam"
	"github.com/confidant-go/confidant/internal/sink"
)

// plumbing is a Client as the middleware drives it (through seam.Of): the
// callback's steps one at a time (its flow cookie is looked up by the
// state that a JARM response carries), refreshes that keep a session's
// identity, back-channel logout tokens, and settings users set but only
// the middleware reads. Users call Callback and Refresh.
type plumbing Client

// providerPlumbing is a Provider as the middleware drives it.
type providerPlumbing Provider

func init() {
	seam.Register(func(v any) (any, bool) {
		switch v := v.(type) {
		case *Client:
			return (*plumbing)(v), true
		case *Provider:
			return (*providerPlumbing)(v), true
		}
		return nil, false
	})
}

func (p *plumbing) c() *Client { return (*Client)(p) }

// HasScopes reports whether the provider asks for scopes of its own when
// Config.Scopes is empty (a preset's), rather than OpenID Connect's.
func (p *providerPlumbing) HasScopes() bool { return len(p.q.DefaultScopes) > 0 }

// DiscoveryError is why the provider's last discovery failed, without
// making a request: nil when it is resolved or was never tried.
func (p *providerPlumbing) DiscoveryError() error { return (*Provider)(p).discoveryError() }

// WithEvents returns a copy of the client that reports its events to
// logger and hook, or the client itself when its Config already set Logger
// or OnEvent (or neither logger nor hook is given).
func (p *plumbing) WithEvents(logger *slog.Logger, hook event.Hook) *Client {
	c := p.c()
	if c.sink.Enabled() || (logger == nil && hook == nil) {
		return c
	}
	cp := *c
	cp.sink = sink.Sink{Logger: logger, Hook: hook}
	return &cp
}

// ResponseMode is Config.ResponseMode: "" (query), "form_post", or a JARM
// mode ("jwt", "query.jwt", "form_post.jwt").
func (p *plumbing) ResponseMode() string { return p.cfg.ResponseMode }

// LoginParams is Config.LoginParams.
func (p *plumbing) LoginParams() []string { return slices.Clone(p.cfg.LoginParams) }

// ClientID is Config.ClientID.
func (p *plumbing) ClientID() string { return p.cfg.ClientID }

// RedirectURL is Config.RedirectURL.
func (p *plumbing) RedirectURL() string { return p.cfg.RedirectURL }

// Scopes are the scopes asked for at sign-in.
func (p *plumbing) Scopes() []string { return slices.Clone(p.cfg.Scopes) }

// AuthorizationResponse is Callback's first step: a JARM response's
// parameters once verified, or params.
func (p *plumbing) AuthorizationResponse(ctx context.Context, params url.Values) (url.Values, error) {
	return p.c().authorizationResponse(ctx, params)
}

// CheckResponseIssuer is Callback's iss check (RFC 9207).
func (p *plumbing) CheckResponseIssuer(ctx context.Context, q url.Values) error {
	return p.c().checkResponseIssuer(ctx, q)
}

// Exchange is Callback's code exchange; the caller has checked the state.
func (p *plumbing) Exchange(ctx context.Context, code string, l *Login, formUser string) (*Result, error) {
	return p.c().exchange(ctx, code, l, formUser)
}

// Refresh redeems refreshToken keeping prev.
func (p *plumbing) Refresh(ctx context.Context, refreshToken string, prev seam.Previous) (*Result, error) {
	return p.c().refreshWith(ctx, refreshToken, prev)
}

// RefreshFor redeems refreshToken for one API's token (resource, scopes).
func (p *plumbing) RefreshFor(ctx context.Context, refreshToken string, key *ecdsa.PrivateKey, resource string, scopes []string) (*oauth2.Token, error) {
	return p.c().refreshFor(ctx, refreshToken, key, resource, scopes)
}

// VerifyLogoutToken verifies a back-channel logout token.
func (p *plumbing) VerifyLogoutToken(ctx context.Context, raw string, maxAge time.Duration) (*seam.LogoutToken, error) {
	return p.c().verifyLogoutToken(ctx, raw, maxAge)
}

// HasIssuer reports whether iss is the provider's issuer (or an accepted
// tenant's).
func (p *providerPlumbing) HasIssuer(ctx context.Context, iss string) bool {
	return (*Provider)(p).hasIssuer(ctx, iss)
}

// Issuer is the provider's issuer once discovered (before, the one it was
// configured with; for a multi-tenant provider, the template).
func (p *providerPlumbing) Issuer() string { return (*Provider)(p).issuer() }

// HTTPClient is the client the provider's own endpoints are called with
// (its transport, its timeout): an SSF transmitter at the issuer's
// origin is called with it too.
func (p *providerPlumbing) HTTPClient() *http.Client { return (*Provider)(p).httpClient() }

// IsOIDC reports whether the provider issues ID tokens (true until
// discovered).
func (p *providerPlumbing) IsOIDC() bool { return (*Provider)(p).isOIDC() }

// Discovered is what discovery told beyond the URLs.
func (p *providerPlumbing) Discovered(ctx context.Context) (seam.Discovered, error) {
	r, err := (*Provider)(p).resolve(ctx)
	if err != nil {
		return seam.Discovered{}, err
	}
	ep := r.ep
	return seam.Discovered{RequirePAR: ep.requirePAR, ResponseIss: ep.responseIss, AuthMethods: slices.Clone(ep.authMethods),
		SigningAlgs: slices.Clone(ep.signingAlgs), MTLSAliases: ep.mtlsAliases, ScopesSupported: slices.Clone(ep.scopes),
		RegistrationEndpoint: ep.registrationURL, ClientIDMetadataDocument: ep.cimd}, nil
}

// DiscoverAuthorizationServer is Discover with RFC 8414 first: the
// issuer's OAuth 2.0 Authorization Server Metadata
// (/.well-known/oauth-authorization-server inserted before the issuer's
// path) and, when there is none (404, 410), its OpenID Connect discovery
// document. The metadata must name exactly this issuer, else an error
// wrapping ErrInvalidResponse (fail.Discovery); without jwks_uri the
// provider is a plain OAuth 2.0 authorization server (IsOIDC false once
// discovered). As with Discover, a provider that is down is discovered on
// first use. A package that needs an authorization server rather than a
// sign-in provider finds this method through
// seam.Of((*client.Provider)(nil)) (p may be nil).
func (*providerPlumbing) DiscoverAuthorizationServer(ctx context.Context, issuer string, opts ...ProviderOption) (*Provider, error) {
	d := discoveryOf(issuer, opts)
	d.AuthorizationServerFirst = true
	return discoverNow(ctx, d)
}

// Preset returns a provider discovered on first use that departs from
// plain OIDC as q says: a preset of package providers, which finds this
// method through seam.Of((*client.Provider)(nil)) (p may be nil).
func (*providerPlumbing) Preset(d preset.Discovery, q preset.Quirks) (*Provider, error) {
	p, err := lazyProvider(d)
	if err != nil {
		return nil, err
	}
	p.q = q
	return p, nil
}

// SetQuirks gives a provider just made by NewProvider a preset's quirks
// (GitHub's); never called on a provider in use.
func (p *providerPlumbing) SetQuirks(q preset.Quirks) { p.q = q }
