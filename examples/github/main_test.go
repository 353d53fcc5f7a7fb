package main

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/confidant-go/confidant/examples/internal/envconfig"
	"github.com/confidant-go/confidant/examples/internal/exampletest"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestGitHubExample runs the example as its README says, against the
// GitHub emulator (client_id and client_secret as parameters, form-encoded
// answers): sign-in, profile (the numeric user ID as subject), the REST API
// with the user's token, sign-out (the token revoked).
func TestGitHubExample(t *testing.T) {
	hosts := &emulate.Hosts{}
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	gh := emulate.NewGitHub(t, hosts, "gh-id", "gh-secret", appURL+"/auth/callback", "")
	env := map[string]string{"GITHUB_CLIENT_ID": "gh-id", "GITHUB_CLIENT_SECRET": "gh-secret", "APP_URL": appURL}
	h, err := newApp(context.Background(), envconfig.Env{Getenv: func(k string) string { return env[k] }, HTTPClient: hosts.Client(), Logger: testenv.CollectLogger()})
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()
	exampletest.SignInOut(t, testenv.BrowserVia(hosts), appURL, gh.Authorize, "583231")
	if _, _, revoked := gh.TokenCalls(); revoked != 1 {
		t.Errorf("%d tokens revoked at sign-out, want 1", revoked)
	}
}
