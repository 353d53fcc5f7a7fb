package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/confidant-go/confidant/examples/internal/envconfig"
	"github.com/confidant-go/confidant/examples/internal/exampletest"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestAuth0Example runs the example as its README says, against the Auth0
// emulator (client_secret_post, as an Auth0 application is registered):
// sign-in, profile, the API with the user's token, sign-out.
func TestAuth0Example(t *testing.T) {
	hosts := &emulate.Hosts{}
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	tenant := emulate.NewAuth0(t, hosts, "example.eu.auth0.test", []devprovider.Client{{ID: "auth0-id", Secret: "auth0-secret",
		Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}}, emulate.Auth0Options{})
	api := httptest.NewServer(tenant.OP.NewAPI())
	defer api.Close()
	hosts.Map("api.example.test", api.URL)
	env := map[string]string{"AUTH0_DOMAIN": "example.eu.auth0.test", "AUTH0_CLIENT_ID": "auth0-id", "AUTH0_CLIENT_SECRET": "auth0-secret",
		"APP_URL": appURL, "API_URL": "https://api.example.test/"}
	h, err := newApp(context.Background(), envconfig.Env{Getenv: func(k string) string { return env[k] }, HTTPClient: hosts.Client(), Logger: testenv.CollectLogger()})
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()
	exampletest.SignInOut(t, testenv.BrowserVia(hosts), appURL, func(hc *http.Client, u string) (*url.URL, error) {
		return tenant.OP.Login(hc, u, emulate.Auth0User)
	}, emulate.Auth0User.ID)
}
