package middleware_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/providers"
)

// TestCognitoPreset: providers.Cognito(region, pool) discovers at the issuer
// on cognito-idp while signing in on the pool's hosted domain;
// cognito:groups decides a requirement; a refresh keeps the refresh token
// Cognito does not rotate; sign-out goes to the domain's
// /logout?client_id=…&logout_uri=…, which Cognito redirects back from.
func TestCognitoPreset(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	user := devprovider.User{ID: "8f1c2d3e-aaaa-bbbb-cccc-123456789abc", Username: "ada", Password: "pw", Name: "Ada", Email: "ada@example.com",
		Claims: map[string]any{"cognito:username": "ada", "cognito:groups": []string{"admins"}}}
	hosts := &emulate.Hosts{}
	var cg *emulate.Cognito
	app := testenv.NewApp(t, nil, func(appURL string) middleware.Config {
		cg = emulate.NewCognito(t, hosts, "eu-west-1", "eu-west-1_AbCdEf123", "acme", clock.Now, []devprovider.Client{{ID: "cog-app",
			Secret: "cog-secret", Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}}, []devprovider.User{user})
		prov, err := providers.Cognito("eu-west-1", "eu-west-1_AbCdEf123", client.WithHTTPClient(hosts.Client()))
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Config{Provider: prov, ClientID: "cog-app", ClientSecret: "cog-secret", RedirectURL: appURL + "/auth/callback", Now: clock.Now, Scopes: []string{"openid", "profile", "email", "offline_access"}})
		if err != nil {
			t.Fatal(err)
		}
		return middleware.Config{Clients: []*client.Client{c}, Now: clock.Now}
	})
	app.Mux.Handle("/admin", app.Auth.RequireWith(middleware.Claim("cognito:groups", "admins"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "admin")
	})))
	hc := testenv.BrowserVia(hosts)
	authURL := signInAt(t, hc, app, "/profile", func(u string) (*url.URL, error) { return cg.OP.Login(hc, u, user) })
	if authURL.Host != cg.Domain || authURL.Path != "/oauth2/authorize" {
		t.Errorf("signed in at %s, want the hosted domain's /oauth2/authorize", authURL)
	}
	if resp, body := get(t, hc, app.URL+"/admin"); resp.StatusCode != http.StatusOK || body != "admin" {
		t.Errorf("/admin for a member of admins: %d %q", resp.StatusCode, body)
	}
	clock.Add(time.Hour) // past the access token: a refresh that returns no new refresh token
	tokens := cg.OP.Count(devprovider.PathToken)
	for range 2 {
		if resp, _ := get(t, hc, app.URL+"/profile"); resp.StatusCode != http.StatusOK {
			t.Fatalf("/profile past the access token: %d", resp.StatusCode)
		}
		clock.Add(time.Hour)
	}
	if n := cg.OP.Count(devprovider.PathToken) - tokens; n != 2 {
		t.Errorf("%d token requests for two expiries, want 2 refreshes with the one refresh token", n)
	}
	resp, err := hc.Post(app.URL+"/auth/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if q := loc.Query(); loc.Host != cg.Domain || loc.Path != "/logout" || q.Get("client_id") != "cog-app" || q.Get("logout_uri") != app.URL+"/" {
		t.Fatalf("sign-out to %s, want the domain's /logout with client_id and logout_uri", loc)
	}
	if resp, _ := get(t, hc, loc.String()); resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), app.URL+"/") {
		t.Errorf("Cognito's logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := providers.Cognito("eu-west-1", "not-a-pool"); err == nil {
		t.Error("a malformed pool ID accepted")
	}
}
