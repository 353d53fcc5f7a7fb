// Command multi lets users sign in with Google or GitHub in one app,
// configured by environment:
//
//	GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET  (required)
//	GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET  (required)
//
// plus APP_URL, LISTEN_ADDR, SESSION_KEYS and API_URL as in every example.
// Each provider has its own callback: register APP_URL/auth/callback/google
// at Google and APP_URL/auth/callback/github at GitHub. /signin offers
// both; the session remembers which one signed the user in, so /api and
// sign-out go to it.
package main

import (
	"context"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/examples/internal/exampleapp"
)

var options = exampleapp.Options{
	Name:     "multi",
	Title:    "confidant · Google or GitHub",
	Required: []string{"GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"},
	Setup: func(ctx context.Context, e exampleapp.Env) ([]exampleapp.Provider, error) {
		gp, err := client.Google(e.ProviderOptions()...)
		if err != nil {
			return nil, err
		}
		gc, err := client.New(client.Config{
			Provider: gp, ClientID: e.Values["GOOGLE_CLIENT_ID"], ClientSecret: e.Values["GOOGLE_CLIENT_SECRET"],
			RedirectURL: e.Callback("google"), HTTPClient: e.HTTPClient,
			Scopes: []string{"openid", "profile", "email", "offline_access"},
		})
		if err != nil {
			return nil, err
		}
		hp, err := client.GitHub(e.ProviderOptions()...)
		if err != nil {
			return nil, err
		}
		hc, err := client.New(client.Config{
			Provider: hp, ClientID: e.Values["GITHUB_CLIENT_ID"], ClientSecret: e.Values["GITHUB_CLIENT_SECRET"],
			RedirectURL: e.Callback("github"), HTTPClient: e.HTTPClient,
		})
		if err != nil {
			return nil, err
		}
		return []exampleapp.Provider{
			{Client: gc, Label: "Google", APIURL: "https://openidconnect.googleapis.com/v1/userinfo"},
			{Client: hc, Label: "GitHub", APIURL: "https://api.github.com/user"},
		}, nil
	},
}

func main() { exampleapp.Main(options) }
