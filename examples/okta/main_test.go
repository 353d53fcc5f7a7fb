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

// TestOktaExample runs the example as its README says against the Okta
// emulator, with the custom authorization server "default": sign-in,
// profile, the server's userinfo with the user's token (the default API),
// sign-out through the server's /v1/logout; /admin for a member of
// OKTA_ADMIN_GROUP.
func TestOktaExample(t *testing.T) {
	user := devprovider.User{ID: "00u1a2b3", Username: "ada", Password: "pw", Name: "Ada", Email: "ada@example.com",
		Claims: map[string]any{"groups": []string{"Admins"}}}
	hosts := &emulate.Hosts{}
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	o := emulate.NewOkta(t, hosts, "acme.okta.com", time.Now, []devprovider.Client{{ID: "0oa1b2c3", Secret: "okta-secret",
		Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}}, []devprovider.User{user})
	env := map[string]string{"OKTA_DOMAIN": "acme.okta.com", "OKTA_CLIENT_ID": "0oa1b2c3", "OKTA_CLIENT_SECRET": "okta-secret",
		"OKTA_ADMIN_GROUP": "Admins", "APP_URL": appURL}
	h, err := newApp(context.Background(), envconfig.Env{Getenv: func(k string) string { return env[k] }, HTTPClient: hosts.Client(), Logger: testenv.CollectLogger()})
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()
	login := func(hc *http.Client, u string) (*url.URL, error) { return o.Default.Login(hc, u, user) }
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
