package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/confidant-go/confidant/examples/internal/envconfig"
	"github.com/confidant-go/confidant/examples/internal/exampletest"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestCognitoExample runs the example as its README says against the
// Cognito emulator: sign-in on the pool's domain, profile, the pool's
// userInfo with the user's token (the default API), sign-out through the
// domain's /logout; /admin for a member of COGNITO_ADMIN_GROUP.
func TestCognitoExample(t *testing.T) {
	user := devprovider.User{ID: "8f1c2d3e-aaaa-bbbb-cccc-123456789abc", Username: "ada", Password: "pw", Name: "Ada", Email: "ada@example.com",
		Claims: map[string]any{"cognito:groups": []string{"admins"}}}
	hosts := &emulate.Hosts{}
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	g := emulate.NewCognito(t, hosts, "eu-west-1", "eu-west-1_AbCdEf123", "acme", time.Now, []devprovider.Client{{ID: "cog-id",
		Secret: "cog-secret", Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}}, []devprovider.User{user})
	env := map[string]string{"COGNITO_REGION": "eu-west-1", "COGNITO_USER_POOL_ID": "eu-west-1_AbCdEf123", "COGNITO_CLIENT_ID": "cog-id",
		"COGNITO_CLIENT_SECRET": "cog-secret", "COGNITO_ADMIN_GROUP": "admins", "APP_URL": appURL}
	h, err := newApp(context.Background(), envconfig.Env{Getenv: func(k string) string { return env[k] }, HTTPClient: hosts.Client(), Logger: testenv.CollectLogger()})
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()
	login := func(hc *http.Client, u string) (*url.URL, error) { return g.OP.Login(hc, u, user) }
	exampletest.SignInOut(t, testenv.BrowserVia(hosts), appURL, login, user.ID)

	hc := testenv.BrowserVia(hosts)
	resp := exampletest.Do(t, hc, "GET", appURL+"/admin", "")
	cb, err := login(hc, resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	exampletest.Read(t, exampletest.Do(t, hc, "GET", cb.String(), ""))
	resp = exampletest.Do(t, hc, "GET", appURL+"/admin", "")
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || string(b) != "admin: Ada\n" {
		t.Errorf("/admin: %d %q", resp.StatusCode, b)
	}
}
