package middleware_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/providers"
)

// TestKeycloakPreset: providers.Keycloak(base, realm) signs a realm's users in;
// realm and client roles (realm_access.roles, resource_access.app.roles)
// decide requirements by their paths; sign-out reaches Keycloak's logout
// endpoint as Keycloak 18 wants it (id_token_hint, client_id,
// post_logout_redirect_uri, no redirect_uri), which accepts it; with
// refresh tokens rotated and reuse revoking the family, two refreshes keep
// the session, and a request with the cookie from before a refresh
// presents no rotated-away token.
func TestKeycloakPreset(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	admin := devprovider.User{ID: "k-ada", Username: "ada", Password: "pw", Name: "Ada", Claims: map[string]any{
		"realm_access": map[string]any{"roles": []string{"admin", "offline_access"}}, "resource_access": map[string]any{"app": map[string]any{"roles": []string{"editor"}}}}}
	viewer := devprovider.User{ID: "k-bob", Username: "bob", Password: "pw", Name: "Bob", Claims: map[string]any{
		"realm_access": map[string]any{"roles": []string{"user"}}}}
	hosts := &emulate.Hosts{}
	var k *emulate.Keycloak
	app := testenv.NewApp(t, nil, func(appURL string) middleware.Config {
		k = emulate.NewKeycloak(t, hosts, "sso.example.com", "acme", clock.Now, []devprovider.Client{{ID: "app", Secret: "kc-secret",
			Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}}, []devprovider.User{admin, viewer})
		prov, err := providers.Keycloak("https://sso.example.com", "acme", client.WithHTTPClient(hosts.Client()))
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Config{Provider: prov, ClientID: "app", ClientSecret: "kc-secret", RedirectURL: appURL + "/auth/callback", Now: clock.Now, Scopes: []string{"openid", "profile", "email", "offline_access"}})
		if err != nil {
			t.Fatal(err)
		}
		return middleware.Config{Clients: []*client.Client{c}, Now: clock.Now}
	})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	app.Mux.Handle("/admin", app.Auth.RequireWith(middleware.Claim("realm_access.roles", "admin"))(ok))
	app.Mux.Handle("/edit", app.Auth.RequireWith(middleware.Claim("resource_access.app.roles", "editor"))(ok))
	for _, tc := range []struct {
		user        devprovider.User
		admin, edit int
	}{{admin, http.StatusOK, http.StatusOK}, {viewer, http.StatusForbidden, http.StatusForbidden}} {
		hc := testenv.BrowserVia(hosts)
		signInAt(t, hc, app, "/profile", func(u string) (*url.URL, error) { return k.OP.Login(hc, u, tc.user) })
		if resp, _ := get(t, hc, app.URL+"/admin"); resp.StatusCode != tc.admin {
			t.Errorf("%s: /admin %d, want %d", tc.user.Username, resp.StatusCode, tc.admin)
		}
		if resp, _ := get(t, hc, app.URL+"/edit"); resp.StatusCode != tc.edit {
			t.Errorf("%s: /edit %d, want %d", tc.user.Username, resp.StatusCode, tc.edit)
		}
		if tc.user.ID != admin.ID {
			continue
		}
		// Keycloak with "Revoke Refresh Token" on revokes the family when
		// a rotated-away refresh token comes back: a request still
		// carrying the cookie from before a refresh must not present it.
		appURL, _ := url.Parse(app.URL)
		oldJar, _ := cookiejar.New(nil)
		oldJar.SetCookies(appURL, hc.Jar.Cookies(appURL))
		for i := range 2 {
			clock.Add(6 * time.Minute) // past the access token's 5 minutes
			before := k.OP.Count(devprovider.PathToken)
			if resp, _ := get(t, hc, app.URL+"/admin"); resp.StatusCode != http.StatusOK {
				t.Fatalf("refresh %d: /admin %d", i, resp.StatusCode)
			}
			if n := k.OP.Count(devprovider.PathToken) - before; n != 1 {
				t.Errorf("refresh %d: %d token requests, want 1", i, n)
			}
			if i == 0 {
				old := &http.Client{Jar: oldJar, Transport: hc.Transport, CheckRedirect: hc.CheckRedirect}
				if resp, _ := get(t, old, app.URL+"/admin"); resp.StatusCode != http.StatusOK {
					t.Errorf("the cookie from before the refresh: /admin %d", resp.StatusCode)
				}
			}
		}
		if n := k.OP.ReusedRefreshTokens(); n != 0 {
			t.Errorf("a rotated-away refresh token was presented %d times (Keycloak would end the session)", n)
		}
		resp, err := hc.Post(app.URL+"/auth/logout", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if q := loc.Query(); loc.Path != "/realms/acme/protocol/openid-connect/logout" || q.Get("id_token_hint") == "" || q.Get("client_id") != "app" ||
			q.Get("post_logout_redirect_uri") != app.URL+"/" || q.Has("redirect_uri") {
			t.Fatalf("sign-out to %s", loc)
		}
		if resp, _ := get(t, hc, loc.String()); resp.StatusCode >= 400 {
			t.Errorf("Keycloak's logout answered %d", resp.StatusCode)
		}
	}
	if _, err := providers.Keycloak("https://sso.example.com", ""); err == nil {
		t.Error("Keycloak without a realm accepted")
	}
}
