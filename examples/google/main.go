// Command google signs users in with Google, configured by environment:
//
//	GOOGLE_CLIENT_ID      OAuth client ID of type "Web application" (required)
//	GOOGLE_CLIENT_SECRET  its client secret (required)
//	GOOGLE_HOSTED_DOMAIN  only accept accounts of this Workspace domain
//
// plus APP_URL, LISTEN_ADDR, SESSION_KEYS and API_URL (default: Google's
// userinfo endpoint) as in every example. It asks for a refresh token the
// Google way (access_type=offline, prompt=consent). See the README for the
// console steps.
package main

import (
	"context"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/examples/internal/exampleapp"
)

// googleProvider builds the Google client for the example and for multi.
func googleProvider(e exampleapp.Env, callback string) (exampleapp.Provider, error) {
	var opts []client.ProviderOption
	if hd := e.Getenv("GOOGLE_HOSTED_DOMAIN"); hd != "" {
		opts = append(opts, client.WithHostedDomain(hd))
	}
	prov, err := client.Google(e.ProviderOptions(opts...)...)
	if err != nil {
		return exampleapp.Provider{}, err
	}
	c, err := client.New(client.Config{
		Provider: prov, ClientID: e.Values["GOOGLE_CLIENT_ID"], ClientSecret: e.Values["GOOGLE_CLIENT_SECRET"],
		RedirectURL: callback, HTTPClient: e.HTTPClient,
		Scopes: []string{"openid", "profile", "email", "offline_access"},
	})
	return exampleapp.Provider{Client: c, Label: "Google", APIURL: "https://openidconnect.googleapis.com/v1/userinfo"}, err
}

var options = exampleapp.Options{
	Name:     "google",
	Title:    "confidant · Google",
	Required: []string{"GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"},
	Setup: func(ctx context.Context, e exampleapp.Env) ([]exampleapp.Provider, error) {
		p, err := googleProvider(e, e.Callback(""))
		return []exampleapp.Provider{p}, err
	},
}

func main() { exampleapp.Main(options) }
