package middleware_test

import (
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

// TestOktaPreset: providers.Okta with the org authorization server ("") and
// with the custom server "default": each discovers at its own issuer,
// signs in there, refreshes past the access token, and signs out through
// its own /v1/logout with id_token_hint and the post-logout URL.
func TestOktaPreset(t *testing.T) {
	for _, tc := range []struct {
		server, issuer, logout string
	}{{"", "https://acme.okta.com", "/oauth2/v1/logout"}, {"default", "https://acme.okta.com/oauth2/default", "/oauth2/default/v1/logout"}} {
		t.Run("server "+tc.server, func(t *testing.T) {
			clock := testenv.NewClock(time.Now())
			hosts := &emulate.Hosts{}
			var o *emulate.Okta
			app := testenv.NewApp(t, nil, func(appURL string) middleware.Config {
				o = emulate.NewOkta(t, hosts, "acme.okta.com", clock.Now, []devprovider.Client{{ID: "0oa1b2c3", Secret: "okta-secret",
					Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}}, nil)
				prov, err := providers.Okta("acme.okta.com", tc.server, client.WithHTTPClient(hosts.Client()))
				if err != nil {
					t.Fatal(err)
				}
				c, err := client.New(client.Config{Provider: prov, ClientID: "0oa1b2c3", ClientSecret: "okta-secret",
					RedirectURL: appURL + "/auth/callback", Now: clock.Now,
					Scopes: []string{"openid", "profile", "email", "offline_access"}})
				if err != nil {
					t.Fatal(err)
				}
				return middleware.Config{Clients: []*client.Client{c}, Now: clock.Now}
			})
			op := o.Org
			if tc.server == "default" {
				op = o.Default
			}
			hc := testenv.BrowserVia(hosts)
			signInAt(t, hc, app, "/profile", func(u string) (*url.URL, error) { return op.Login(hc, u, devprovider.DemoUser) })
			if resp, body := get(t, hc, app.URL+"/profile"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"iss":"`+tc.issuer+`"`) {
				t.Fatalf("/profile %d %s, want issuer %s", resp.StatusCode, body, tc.issuer)
			}
			clock.Add(time.Hour)
			tokens := op.Count(devprovider.PathToken)
			if resp, _ := get(t, hc, app.URL+"/profile"); resp.StatusCode != http.StatusOK || op.Count(devprovider.PathToken)-tokens != 1 {
				t.Errorf("past the access token: %d, %d token requests", resp.StatusCode, op.Count(devprovider.PathToken)-tokens)
			}
			resp, err := hc.Post(app.URL+"/auth/logout", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if q := loc.Query(); loc.Path != tc.logout || q.Get("id_token_hint") == "" || q.Get("post_logout_redirect_uri") != app.URL+"/" {
				t.Fatalf("sign-out to %s", loc)
			}
			if resp, _ := get(t, hc, loc.String()); resp.StatusCode >= 400 {
				t.Errorf("Okta's logout answered %d", resp.StatusCode)
			}
		})
	}
	if _, err := providers.Okta("acme.okta.com/x", ""); err == nil {
		t.Error("a domain with a path accepted")
	}
}
