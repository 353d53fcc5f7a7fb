package middleware_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// TestRevokedGroupGoneWhileUserinfoFails: the group is in the ID
// token (Entra, Okta, Keycloak put groups there) and the app also fetches
// userinfo. The administrator removes the group; the next refresh brings
// an ID token without it, but userinfo fails at that moment (a 5xx, a
// timeout, or a provider whose userinfo refuses the app's access token).
// refreshUserInfo then copies every claim of the old session the new ID
// token lacks, including "groups" that came from the OLD ID TOKEN (not
// from userinfo): the claim the provider just stopped asserting in a signed
// token is put back, ClaimsAt is stamped now, and Claim("groups","admin")
// lets the user in. docs/security.md: "Only when userinfo cannot be had at
// that moment are ITS former claims kept".
// Issue 34, attack review: it failed as described above on the code before
// the fix; it passes since.
func TestRevokedGroupGoneWhileUserinfoFails(t *testing.T) {
	clock := testenv.NewClock(time.Now().Truncate(time.Second))
	user := devprovider.DemoUser
	user.Claims = map[string]any{"groups": []string{"admin"}}
	env := testenv.New(t, testenv.Options{Clock: clock,
		OP:     func(c *devprovider.Config) { c.Users = []devprovider.User{user} },
		Client: func(c *client.Config) { c.FetchUserInfo = true }})
	env.Mux.Handle("/admin", env.Auth.RequireWith(middleware.Claim("groups", "admin"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("admin"))
	})))
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	if resp, _ := env.Get(t, hc, "/admin"); resp.StatusCode != http.StatusOK {
		t.Fatalf("/admin at sign-in: %d", resp.StatusCode)
	}
	env.OP.SetUserClaims(user.ID, nil, nil) // group removed at the provider
	env.OP.SetFault(devprovider.PathUserinfo, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	var idTokenHasGroups bool
	env.OP.SetTokenHook(func(resp map[string]any) {
		raw, _ := resp["id_token"].(string)
		var c map[string]any
		if p, ok := payload(raw); ok && json.Unmarshal(p, &c) == nil {
			_, idTokenHasGroups = c["groups"]
		}
	})
	before := env.OP.Count(devprovider.PathToken)
	clock.Add(4*time.Minute + time.Second)
	resp, _ := env.Get(t, hc, "/admin")
	t.Logf("refreshes: %d; refreshed ID token has groups: %v; /admin: %d", env.OP.Count(devprovider.PathToken)-before, idTokenHasGroups, resp.StatusCode)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("/admin after the provider removed the group (new signed ID token without it, userinfo down): %d, want 403", resp.StatusCode)
	}
	if s := env.Session(t, hc); s != nil {
		t.Logf("session claims after refresh: %s (ClaimsAt %s)", s.Claims, s.ClaimsAt.Format(time.TimeOnly))
	}
	// userinfo is still down at the next refresh: the group lives on.
	clock.Add(5 * time.Minute)
	resp, _ = env.Get(t, hc, "/admin")
	t.Logf("after a second refresh with userinfo still down: /admin %d", resp.StatusCode)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("/admin after a second refresh: %d, want 403", resp.StatusCode)
	}
}

func payload(raw string) ([]byte, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	return b, err == nil
}

// TestClaimsMaxAgeDropsStaleIDTokenGroups: a provider whose refreshes
// bring no ID token; the group is in the ID token AND in userinfo (Claims
// are both, in the dev provider). The app sets ClaimsMaxAge so that the
// claims are asked for again. The administrator removes the group; after
// ClaimsMaxAge, the refresh asks userinfo, which answers (200) WITHOUT the
// group. renewUser lays userinfo's claims over the sign-in ID token's, so
// the old token's "groups" stays, ClaimsAt is stamped now, and
// Claim("groups","admin") still lets the user in, although the provider
// asserts nothing of the kind anywhere now. (TestClaimsFollowProvider only
// covers a group in userinfo alone.)
// Issue 34, attack review: it failed as described above on the code before
// the fix; it passes since.
func TestClaimsMaxAgeDropsStaleIDTokenGroups(t *testing.T) {
	clock := testenv.NewClock(time.Now().Truncate(time.Second))
	user := devprovider.DemoUser
	user.Claims = map[string]any{"groups": []string{"admin"}}
	env := testenv.New(t, testenv.Options{Clock: clock,
		OP:         func(c *devprovider.Config) { c.Users = []devprovider.User{user} },
		Client:     func(c *client.Config) { c.FetchUserInfo = true },
		Middleware: func(c *middleware.Config) { c.ClaimsMaxAge = 2 * time.Minute }})
	env.Mux.Handle("/admin", env.Auth.RequireWith(middleware.Claim("groups", "admin"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("admin"))
	})))
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	if resp, _ := env.Get(t, hc, "/admin"); resp.StatusCode != http.StatusOK {
		t.Fatalf("/admin at sign-in: %d", resp.StatusCode)
	}
	env.OP.SetUserClaims(user.ID, nil, nil)
	env.OP.SetTokenHook(func(resp map[string]any) { delete(resp, "id_token") })
	ui := env.OP.Count(devprovider.PathUserinfo)
	clock.Add(3 * time.Minute)
	resp, _ := env.Get(t, hc, "/admin")
	t.Logf("userinfo asked %d time(s) (answered without groups); /admin: %d", env.OP.Count(devprovider.PathUserinfo)-ui, resp.StatusCode)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("/admin after ClaimsMaxAge, userinfo no longer listing the group: %d, want 403", resp.StatusCode)
	}
}
