package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/confidant-go/confidant/examples/internal/envconfig"
	"github.com/confidant-go/confidant/examples/internal/exampletest"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

const (
	tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	admins = "5b6a8c1e-0f1d-4e2a-9b3c-7d8e9f0a1b2c"
)

var (
	ada  = devprovider.User{ID: "ada", Username: "ada@contoso.example", Password: "pw", Name: "Ada", Claims: map[string]any{"groups": []string{admins}}}
	many = devprovider.User{ID: "many", Username: "many@contoso.example", Password: "pw", Name: "Many", Claims: map[string]any{
		"_claim_names": map[string]any{"groups": "src1"}, "_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}}}}
)

// TestEntraExample runs the example as its README says, against the Entra
// emulator, for the app's own tenant: sign-in, profile, Microsoft Graph's
// userinfo with the user's token (the default API), sign-out; the admin
// page for a group member, and for a user in too many groups an answer
// that says so.
func TestEntraExample(t *testing.T) {
	hosts := &emulate.Hosts{}
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	e := emulate.NewEntra(t, hosts, nil, []string{tenant}, map[string][]devprovider.User{tenant: {ada, many}},
		[]devprovider.Client{{ID: "app-id", Secret: "app-secret", Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}})
	env := map[string]string{"ENTRA_TENANT": tenant, "ENTRA_CLIENT_ID": "app-id", "ENTRA_CLIENT_SECRET": "app-secret",
		"ENTRA_ADMIN_GROUP": admins, "APP_URL": appURL}
	h, err := newApp(context.Background(), envconfig.Env{Getenv: func(k string) string { return env[k] }, HTTPClient: hosts.Client(), Logger: testenv.CollectLogger()})
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()
	login := func(u devprovider.User) func(hc *http.Client, authURL string) (*url.URL, error) {
		return func(hc *http.Client, authURL string) (*url.URL, error) {
			return e.Tenants[tenant].Login(hc, authURL, u)
		}
	}
	exampletest.SignInOut(t, testenv.BrowserVia(hosts), appURL, login(ada), ada.ID)

	// The key the app's records use.
	hc := testenv.BrowserVia(hosts)
	resp := exampletest.Do(t, hc, "GET", appURL+"/account", "")
	resp.Body.Close()
	cb, err := login(ada)(hc, resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	exampletest.Read(t, exampletest.Do(t, hc, "GET", cb.String(), ""))
	if body := exampletest.Read(t, exampletest.Do(t, hc, "GET", appURL+"/account", "")); body != "account: entra "+tenant+"/oid-ada\n" {
		t.Errorf("/account: %q", body)
	}

	for _, tc := range []struct {
		user   devprovider.User
		status int
		says   string
	}{{ada, http.StatusOK, "admin: Ada"}, {many, http.StatusForbidden, "more groups than the sign-in can list"}} {
		hc := testenv.BrowserVia(hosts)
		resp, err := hc.Get(appURL + "/admin")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cb, err := login(tc.user)(hc, resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		if resp, err = hc.Get(cb.String()); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		resp = exampletest.Do(t, hc, "GET", appURL+"/admin", "")
		body := exampletest.Read(t, resp)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.says) {
			t.Errorf("%s: /admin %d %q, want %d saying %q", tc.user.ID, resp.StatusCode, body, tc.status, tc.says)
		}
	}
	env["ENTRA_TENANT"] = "organizations"
	if _, err := newApp(context.Background(), envconfig.Env{Getenv: func(k string) string { return env[k] }, HTTPClient: hosts.Client()}); err == nil ||
		!strings.Contains(err.Error(), "WithTenants") {
		t.Errorf("organizations without ENTRA_TENANTS: %v, want an error naming the fix", err)
	}
}
