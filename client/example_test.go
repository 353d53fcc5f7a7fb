package client_test

import (
	"context"
	"fmt"
	"net/url"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/testop"
)

func ExampleDiscover() {
	// A real OpenID Provider, in process, stands in for Auth0, Okta, Keycloak…
	op, _ := testop.Start(testop.Config{Clients: []testop.Client{{ID: "my-app", Secret: "s", Redirects: []string{"https://app.example.com/auth/callback"}}}})
	defer op.Close()

	prov, err := client.Discover(context.Background(), op.Issuer)
	if err != nil {
		panic(err)
	}
	c, err := client.New(client.Config{
		Provider:     prov,
		ClientID:     "my-app",
		ClientSecret: "s",
		RedirectURL:  "https://app.example.com/auth/callback",
		Scopes:       []string{"openid", "profile", "email", "offline_access"},
	})
	if err != nil {
		panic(err)
	}
	l, err := c.NewLogin(context.Background(), url.Values{"prompt": {"login"}})
	if err != nil {
		panic(err)
	}
	u, _ := url.Parse(l.URL)
	q := u.Query()
	fmt.Println(q.Get("response_type"), q.Get("scope"))
	fmt.Println(q.Get("code_challenge_method"), len(q.Get("state")), len(q.Get("nonce")), q.Get("prompt"))
	// Output:
	// code openid profile email offline_access
	// S256 43 43 login
}

func ExampleNew_missingFields() {
	prov, _ := client.NewProvider("example", client.Endpoints{AuthURL: "https://p.example/authorize", TokenURL: "https://p.example/token"}, nil)
	_, err := client.New(client.Config{Provider: prov, ClientID: "my-app"})
	fmt.Println(err)
	// Output:
	// client: invalid configuration: missing ClientSecret, RedirectURL
}
