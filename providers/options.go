package providers

import (
	"strings"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/preset"
	"github.com/confidant-go/confidant/internal/seam"
)

// factory is what a *client.Provider's plumbing (internal/seam) offers a
// preset: a provider discovered on first use with the preset's quirks, and
// quirks for one given by hand (GitHub's).
type factory interface {
	Preset(d preset.Discovery, q preset.Quirks) (*client.Provider, error)
	SetQuirks(q preset.Quirks)
}

var presets = seam.Of((*client.Provider)(nil)).(factory)

func applyOptions(opts []client.ProviderOption) preset.Options {
	var o preset.Options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// WithTenants accepts sign-ins from these tenants of a multi-tenant
// provider (Microsoft Entra ID's tenant IDs; the personal Microsoft
// accounts' tenant is PersonalAccountsTenant): an ID token's tid must be
// one of them and its iss the issuer template with that tid. The same rule
// holds wherever an issuer is matched: a back-channel logout token, a JARM
// response (each with its own tid), RFC 9207's iss parameter (an accepted
// tenant's issuer). A tenant ID is letters, digits, '-', '_' and '.'.
// For Entra, and for client.Discover at an issuer whose discovery names a
// {tenantid} template.
func WithTenants(ids ...string) client.ProviderOption {
	return func(o *preset.Options) { o.Tenants = append(o.Tenants, ids...) }
}

// WithAnyTenant accepts sign-ins from EVERY tenant of a multi-tenant
// provider: anyone with an account in any organization, or a personal
// account, signs in. An ID token's iss must still be the issuer template
// with its own tid. Key users on (tid, oid) or (tid, sub), never on the
// e-mail address, which each tenant's administrators set as they like.
// For Entra and client.Discover, as WithTenants.
func WithAnyTenant() client.ProviderOption { return func(o *preset.Options) { o.AnyTenant = true } }

// WithAudience (Auth0) asks for access tokens for the API identified by
// audience: they are then JWTs that API can verify, not opaque tokens.
//
// An empty audience is none: the preset asks for no audience, and Auth0
// issues its default access tokens (opaque, for its userinfo).
func WithAudience(audience string) client.ProviderOption {
	return func(o *preset.Options) { o.Audience = audience }
}

// WithHostedDomain (Google) restricts sign-in to accounts of one Google
// Workspace domain. It is sent as hd and enforced on the ID token's hd
// claim: a token from another domain is refused with
// client.ErrInvalidIDToken.
func WithHostedDomain(domain string) client.ProviderOption {
	return func(o *preset.Options) { o.HostedDomain = domain }
}

// WithBaseURL points GitHub at a GitHub Enterprise Server, e.g.
// "https://github.example.com" (its API is at BASE/api/v3), and GitLab at a
// self-managed instance, e.g. "https://gitlab.example.com".
func WithBaseURL(base string) client.ProviderOption {
	return func(o *preset.Options) { o.BaseURL = strings.TrimSuffix(base, "/") }
}
