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

// TestGitLabPreset: providers.GitLab configured as the README says (with
// offline_access asked for, as for other providers): sign-in; groups from
// userinfo open a groups requirement; with the two-minute ID token long
// expired but the two-hour access token good, requests go on without a
// token request; past the access token, one refresh; sign-out revokes.
func TestGitLabPreset(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	user := devprovider.User{ID: "4242", Username: "ada", Password: "pw", Name: "Ada", Email: "ada@example.com",
		UserinfoOnly: map[string]any{"groups": []string{"acme/ops"}, "groups_direct": []string{"acme/ops"}}}
	hosts := &emulate.Hosts{}
	var g *emulate.GitLab
	app := testenv.NewApp(t, nil, func(appURL string) middleware.Config {
		g = emulate.NewGitLab(t, hosts, clock.Now, []devprovider.Client{{ID: "gl-app", Secret: "gl-secret",
			Redirects: []string{appURL + "/auth/callback"}}}, []devprovider.User{user})
		prov, err := providers.GitLab(client.WithHTTPClient(hosts.Client()))
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Config{Provider: prov, ClientID: "gl-app", ClientSecret: "gl-secret",
			RedirectURL: appURL + "/auth/callback", Now: clock.Now,
			Scopes: []string{"openid", "profile", "email", "offline_access"}})
		if err != nil {
			t.Fatal(err)
		}
		return middleware.Config{Clients: []*client.Client{c}, Now: clock.Now}
	})
	app.Mux.Handle("/ops", app.Auth.RequireWith(middleware.Claim("groups", "acme/ops"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ops")
	})))
	hc := testenv.BrowserVia(hosts)
	authURL := signInAt(t, hc, app, "/profile", func(u string) (*url.URL, error) { return g.OP.Login(hc, u, user) })
	if strings.Contains(authURL.Query().Get("scope"), "offline_access") {
		t.Errorf("offline_access sent to GitLab, which refuses it: %s", authURL.Query().Get("scope"))
	}
	if resp, body := get(t, hc, app.URL+"/ops"); resp.StatusCode != http.StatusOK || body != "ops" {
		t.Errorf("/ops for a member of acme/ops (userinfo's groups): %d %q", resp.StatusCode, body)
	}
	tokens := g.OP.Count(devprovider.PathToken)
	clock.Add(time.Hour) // the ID token expired 58 minutes ago; the access token is good
	if resp, _ := get(t, hc, app.URL+"/profile"); resp.StatusCode != http.StatusOK {
		t.Errorf("/profile an hour on: %d", resp.StatusCode)
	}
	if n := g.OP.Count(devprovider.PathToken) - tokens; n != 0 {
		t.Errorf("%d token requests while the access token is good", n)
	}
	clock.Add(time.Hour + time.Minute)
	if resp, body := get(t, hc, app.URL+"/profile"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"Name":"Ada"`) {
		t.Errorf("/profile past the access token: %d %s", resp.StatusCode, body)
	}
	if n := g.OP.Count(devprovider.PathToken) - tokens; n != 1 {
		t.Errorf("%d token requests past the access token, want 1 refresh", n)
	}
	resp, err := hc.Post(app.URL+"/auth/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || g.OP.Count(devprovider.PathRevoke) == 0 {
		t.Errorf("sign-out: %d, %d revocations", resp.StatusCode, g.OP.Count(devprovider.PathRevoke))
	}
}
