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

// TestKeycloakExample runs the example as its README says against the
// Keycloak emulator: sign-in, profile, the realm's userinfo with the
// user's token (the default API), sign-out through Keycloak's logout;
// /admin for a holder of KEYCLOAK_ADMIN_ROLE (a realm role).
func TestKeycloakExample(t *testing.T) {
	user := devprovider.User{ID: "k-ada", Username: "ada", Password: "pw", Name: "Ada", Email: "ada@example.com",
		Claims: map[string]any{"realm_access": map[string]any{"roles": []string{"admin"}}}}
	hosts := &emulate.Hosts{}
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	g := emulate.NewKeycloak(t, hosts, "sso.example.com", "acme", time.Now, []devprovider.Client{{ID: "kc-id", Secret: "kc-secret",
		Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}}, []devprovider.User{user})
	env := map[string]string{"KEYCLOAK_URL": "https://sso.example.com", "KEYCLOAK_REALM": "acme", "KEYCLOAK_CLIENT_ID": "kc-id",
		"KEYCLOAK_CLIENT_SECRET": "kc-secret", "KEYCLOAK_ADMIN_ROLE": "admin", "APP_URL": appURL}
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
