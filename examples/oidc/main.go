// Command oidc signs users in with any OpenID Connect provider found by
// discovery, configured by environment:
//
//	OIDC_ISSUER         issuer URL (required)
//	OIDC_CLIENT_ID      client ID (required)
//	OIDC_CLIENT_SECRET  client secret (required)
//	OIDC_SCOPES         default "openid profile email offline_access"
//
// and the variables every example reads: APP_URL (default
// http://localhost:8080; register APP_URL/auth/callback as the redirect URL
// and APP_URL/ as the post-logout redirect URL), LISTEN_ADDR (default
// :8080), SESSION_KEYS (comma-separated base64 32-byte keys; default a
// random key, sessions end at restart), API_URL (what /api calls).
//
// Routes: / (public), /profile (protected; JSON when asked), /api
// (protected; calls API_URL), /auth/login, /auth/callback, /auth/logout.
package main

import (
	"context"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/examples/internal/envconfig"
	"github.com/confidant-go/confidant/examples/internal/exampleapp"
)

var options = exampleapp.Options{
	Name:     "oidc",
	Title:    "confidant · OpenID Connect",
	Required: []string{"OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"},
	Setup: func(ctx context.Context, e exampleapp.Env) ([]exampleapp.Provider, error) {
		prov, err := client.Discover(ctx, e.Values["OIDC_ISSUER"], e.ProviderOptions()...)
		if err != nil {
			return nil, err
		}
		c, err := client.New(client.Config{
			Provider: prov, ClientID: e.Values["OIDC_CLIENT_ID"], ClientSecret: e.Values["OIDC_CLIENT_SECRET"],
			RedirectURL: e.Callback(""), HTTPClient: e.HTTPClient,
			Scopes: envconfig.Scopes(e.Getenv("OIDC_SCOPES"), "openid", "profile", "email", "offline_access"),
		})
		if err != nil {
			return nil, err
		}
		return []exampleapp.Provider{{Client: c, Label: prov.Name()}}, nil
	},
}

func main() { exampleapp.Main(options) }
