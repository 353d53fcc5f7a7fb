// Command auth0 signs users in with an Auth0 tenant, configured by
// environment:
//
//	AUTH0_DOMAIN         tenant domain, e.g. example.eu.auth0.com (required)
//	AUTH0_CLIENT_ID      client ID of a "Regular Web Application" (required)
//	AUTH0_CLIENT_SECRET  its client secret (required)
//	AUTH0_AUDIENCE       API identifier, for JWT access tokens to your API
//	AUTH0_SCOPES         default "openid profile email offline_access"
//
// plus APP_URL, LISTEN_ADDR, SESSION_KEYS and API_URL as in every example.
// /auth/login passes Auth0's organization and invitation parameters on, so
// organization invitation links can point at it. See the README for the
// dashboard steps.
package main

import (
	"context"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/examples/internal/envconfig"
	"github.com/confidant-go/confidant/examples/internal/exampleapp"
)

var options = exampleapp.Options{
	Name:     "auth0",
	Title:    "confidant · Auth0",
	Required: []string{"AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET"},
	Setup: func(ctx context.Context, e exampleapp.Env) ([]exampleapp.Provider, error) {
		var opts []client.ProviderOption
		if aud := e.Getenv("AUTH0_AUDIENCE"); aud != "" {
			opts = append(opts, client.WithAudience(aud))
		}
		prov, err := client.Auth0(e.Values["AUTH0_DOMAIN"], e.ProviderOptions(opts...)...)
		if err != nil {
			return nil, err
		}
		c, err := client.New(client.Config{
			Provider: prov, ClientID: e.Values["AUTH0_CLIENT_ID"], ClientSecret: e.Values["AUTH0_CLIENT_SECRET"],
			RedirectURL: e.Callback(""), HTTPClient: e.HTTPClient,
			// "Client Secret (Post)" is Auth0's default authentication
			// method for Regular Web Applications.
			AuthStyle: client.AuthStylePost,
			Scopes:    envconfig.Scopes(e.Getenv("AUTH0_SCOPES"), "openid", "profile", "email", "offline_access"),
		})
		if err != nil {
			return nil, err
		}
		return []exampleapp.Provider{{Client: c, Label: "Auth0"}}, nil
	},
}

func main() { exampleapp.Main(options) }
