// Command github signs users in with GitHub (plain OAuth 2.0), configured
// by environment:
//
//	GITHUB_CLIENT_ID      client ID of an OAuth App or GitHub App (required)
//	GITHUB_CLIENT_SECRET  its client secret (required)
//	GITHUB_BASE_URL       a GitHub Enterprise Server, e.g. https://github.example.com
//
// plus APP_URL, LISTEN_ADDR, SESSION_KEYS and API_URL (default: GitHub's
// GET /user) as in every example. See the README for the settings steps.
package main

import (
	"context"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/examples/internal/exampleapp"
)

var options = exampleapp.Options{
	Name:     "github",
	Title:    "confidant · GitHub",
	Required: []string{"GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"},
	Setup: func(ctx context.Context, e exampleapp.Env) ([]exampleapp.Provider, error) {
		var opts []client.ProviderOption
		api := "https://api.github.com/user"
		if base := e.Getenv("GITHUB_BASE_URL"); base != "" {
			opts = append(opts, client.WithBaseURL(base))
			api = base + "/api/v3/user"
		}
		prov, err := client.GitHub(e.ProviderOptions(opts...)...)
		if err != nil {
			return nil, err
		}
		c, err := client.New(client.Config{
			Provider: prov, ClientID: e.Values["GITHUB_CLIENT_ID"], ClientSecret: e.Values["GITHUB_CLIENT_SECRET"],
			RedirectURL: e.Callback(""), HTTPClient: e.HTTPClient,
		})
		if err != nil {
			return nil, err
		}
		return []exampleapp.Provider{{Client: c, Label: "GitHub", APIURL: api}}, nil
	},
}

func main() { exampleapp.Main(options) }
