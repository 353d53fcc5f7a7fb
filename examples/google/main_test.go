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

// TestGoogleExample runs the example as its README says, against the
// Google emulator, with a Workspace domain: sign-in, profile, Google's
// userinfo API with the user's token (the example's default API), sign-out.
func TestGoogleExample(t *testing.T) {
	hosts := &emulate.Hosts{}
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	g := emulate.NewGoogle(t, hosts, []devprovider.Client{{ID: "g-id", Secret: "g-secret", Redirects: []string{appURL + "/auth/callback"}}}, nil, 0)
	env := map[string]string{"GOOGLE_CLIENT_ID": "g-id", "GOOGLE_CLIENT_SECRET": "g-secret", "GOOGLE_HOSTED_DOMAIN": "example.com", "APP_URL": appURL}
	h, err := newApp(context.Background(), envconfig.Env{Getenv: func(k string) string { return env[k] }, HTTPClient: hosts.Client(), Logger: testenv.CollectLogger()})
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()
	exampletest.SignInOut(t, testenv.BrowserVia(hosts), appURL, func(hc *http.Client, u string) (*url.URL, error) {
		return g.OP.Login(hc, u, emulate.GoogleUser)
	}, emulate.GoogleUser.ID)
}
