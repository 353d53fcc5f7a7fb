package client

import (
	"net/http"

	"github.com/confidant-go/confidant/internal/preset"
)

// quirks is how a provider departs from plain OIDC (a preset's, from
// package providers); the zero value is standard behaviour.
type quirks = preset.Quirks

// ProviderOption adjusts a provider made by Discover, NewProvider, OAuth2
// or a preset of package providers, whose own options (WithTenants,
// WithAudience, …) are ProviderOptions too. Options that do not apply to a
// provider are ignored.
type ProviderOption func(*providerOptions)

type providerOptions = preset.Options

func applyOptions(opts []ProviderOption) providerOptions {
	var o providerOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// WithName sets the provider's name (sessions remember it; with several
// providers, /auth/login?provider=NAME selects it).
func WithName(name string) ProviderOption { return func(o *providerOptions) { o.Name = name } }

// WithHTTPClient sets the HTTP client for every request to the provider:
// discovery, JWKS, and the token, userinfo, revocation and user API
// requests of the Clients made with it (Config.ClientCertificate is added
// to a copy). Default: a client with a 10 second timeout.
func WithHTTPClient(hc *http.Client) ProviderOption {
	return func(o *providerOptions) { o.HTTPClient = hc }
}
