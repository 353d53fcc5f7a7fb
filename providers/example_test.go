package providers_test

import (
	"context"
	"fmt"
	"net/url"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/providers"
)

// A preset is a *client.Provider like any other; it is discovered on first
// use, so making one and its Client sends no request.
func ExampleAuth0() {
	prov, err := providers.Auth0("example.eu.auth0.com", providers.WithAudience("https://orders.example.com/"))
	if err != nil {
		panic(err)
	}
	_, err = client.New(client.Config{
		Provider:     prov,
		ClientID:     "app",
		ClientSecret: "secret", // from the environment in production
		RedirectURL:  "https://app.example.com/auth/callback",
		Scopes:       []string{"openid", "profile", "email", "offline_access"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(prov.Name())
	// Output: auth0
}

// GitHub is plain OAuth 2.0 with its endpoints known: the login URL asks
// for its default scopes.
func ExampleGitHub() {
	prov, err := providers.GitHub()
	if err != nil {
		panic(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "app", ClientSecret: "secret",
		RedirectURL: "https://app.example.com/auth/callback"})
	if err != nil {
		panic(err)
	}
	l, err := c.NewLogin(context.Background(), nil)
	if err != nil {
		panic(err)
	}
	u, _ := url.Parse(l.URL)
	fmt.Println(prov.Name(), u.Host+u.Path, u.Query().Get("scope"))
	// Output: github github.com/login/oauth/authorize read:user user:email
}

// A multi-tenant Entra app names the tenants it accepts; without them,
// "common" and "organizations" are refused.
func ExampleEntra() {
	_, err := providers.Entra("common")
	fmt.Println(err != nil)

	prov, err := providers.Entra("common", providers.WithTenants("72f988bf-86f1-41af-91ab-2d7cd011db47", providers.PersonalAccountsTenant))
	if err != nil {
		panic(err)
	}
	fmt.Println(prov.Name())
	// Output:
	// true
	// entra
}

// EntraIDOf is the key to keep an Entra user's records on: the tenant and
// the object ID, the same in every app registration.
func ExampleEntraIDOf() {
	u := &confidant.User{Provider: "entra", Subject: "per-app-subject",
		Claims: []byte(`{"iss":"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",` +
			`"tid":"72f988bf-86f1-41af-91ab-2d7cd011db47","oid":"00000000-0000-0000-66f3-3332eca7ea81"}`)}
	id, ok := providers.EntraIDOf(u)
	fmt.Println(ok, id)
	// Output: true 72f988bf-86f1-41af-91ab-2d7cd011db47/00000000-0000-0000-66f3-3332eca7ea81
}
