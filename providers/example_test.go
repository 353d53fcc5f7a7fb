package providers_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/providers"
	"github.com/confidant-go/confidant/session"
)

// Example gives a preset to middleware.Setup as its Provider, in place of
// an issuer URL: the app's sign-in goes to GitHub, with GitHub's scopes.
// (GitHub's endpoints are known; every other preset is discovered on first
// use, which Setup makes when it checks that the provider answers.)
func Example() {
	prov, err := providers.GitHub()
	if err != nil {
		log.Fatal(err)
	}
	auth, err := middleware.Setup(context.Background(), middleware.Config{
		Provider:     prov,
		ClientID:     "github-client-id",         // os.Getenv("GITHUB_CLIENT_ID")
		ClientSecret: "github-client-secret",     // os.Getenv("GITHUB_CLIENT_SECRET")
		AppURL:       "https://app.example.com",  // register https://app.example.com/auth/callback at GitHub
		Keys:         [][]byte{session.NewKey()}, // session.ParseKeys(os.Getenv("SESSION_KEYS"))
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := middleware.UserFrom(r.Context()) // u.Provider is "github", u.Subject GitHub's numeric user ID
		fmt.Fprintf(w, "%s at %s", u.Subject, u.Provider)
	})))

	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "https://app.example.com/account", nil)
	req.Header.Set("Accept", "text/html") // a browser's page load
	mux.ServeHTTP(rec, req)
	to, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		log.Fatal(err)
	}
	q := to.Query()
	fmt.Println(rec.Code, to.Host+to.Path)
	fmt.Println(q.Get("client_id"), q.Get("redirect_uri"), q.Get("scope"))
	// Output:
	// 302 github.com/login/oauth/authorize
	// github-client-id https://app.example.com/auth/callback read:user user:email
}

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
