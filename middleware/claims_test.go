package middleware_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// TestClaimsFollowProvider (issue 34, finding 2): the session's claims are
// what the provider asserts now. An administrator removes the user's last
// group at the provider (which then leaves the claim out, as Entra, Okta,
// Cognito and Keycloak do with an empty one); the next refresh that brings
// an ID token replaces the claims, userinfo's are asked again, and the
// requirement is decided on the refreshed claims in that same request. A
// refresh that brings no ID token keeps the claims, unless ClaimsMaxAge
// asks for them again. Before the fix, the refreshed session kept
// "groups": ["admin"] and /admin answered 200.
func TestClaimsFollowProvider(t *testing.T) {
	admins := map[string]any{"groups": []string{"admin"}}
	cases := []struct {
		name            string
		claims, uiOnly  map[string]any // the user's at sign-in
		fetchUserInfo   bool
		noIDTokenLater  bool          // refreshes bring no ID token (Google's, GitHub's)
		claimsMaxAge    time.Duration // middleware.Config.ClaimsMaxAge
		advance         time.Duration
		want            int // /admin after the change
		wantRefreshes   int
		wantGroupsAfter bool
	}{
		{"groups in the ID token", admins, nil, false, false, 0, 4*time.Minute + time.Second, http.StatusForbidden, 1, false},
		{"groups in userinfo only", nil, admins, true, false, 0, 4*time.Minute + time.Second, http.StatusForbidden, 1, false},
		{"no ID token at refresh: the claims are kept", nil, admins, true, true, 0, 4*time.Minute + time.Second, http.StatusOK, 1, true},
		{"no ID token at refresh, ClaimsMaxAge past: userinfo again", nil, admins, true, true, 2 * time.Minute, 3 * time.Minute, http.StatusForbidden, 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := testenv.NewClock(time.Now().Truncate(time.Second))
			user := devprovider.DemoUser
			user.Claims, user.UserinfoOnly = tc.claims, tc.uiOnly
			env := testenv.New(t, testenv.Options{Clock: clock,
				OP:         func(c *devprovider.Config) { c.Users = []devprovider.User{user} },
				Client:     func(c *client.Config) { c.FetchUserInfo = tc.fetchUserInfo },
				Middleware: func(c *middleware.Config) { c.ClaimsMaxAge = tc.claimsMaxAge }})
			env.Mux.Handle("/admin", env.Auth.RequireWith(middleware.Claim("groups", "admin"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("admin"))
			})))
			hc := testenv.Browser()
			env.SignIn(t, hc, "/profile")
			if resp, _ := env.Get(t, hc, "/admin"); resp.StatusCode != http.StatusOK {
				t.Fatalf("/admin at sign-in: %d, want 200", resp.StatusCode)
			}
			// The administrator removes the group; the provider leaves the
			// empty claim out.
			env.OP.SetUserClaims(user.ID, nil, nil)
			if tc.noIDTokenLater {
				env.OP.SetTokenHook(func(resp map[string]any) { delete(resp, "id_token") })
			}
			before := env.OP.Count(devprovider.PathToken)
			clock.Add(tc.advance)
			if resp, _ := env.Get(t, hc, "/admin"); resp.StatusCode != tc.want {
				t.Errorf("/admin after the provider removed the group: %d, want %d", resp.StatusCode, tc.want)
			}
			if n := env.OP.Count(devprovider.PathToken) - before; n != tc.wantRefreshes {
				t.Errorf("%d token requests, want %d refresh", n, tc.wantRefreshes)
			}
			var claims map[string]any
			if s := env.Session(t, hc); s == nil || json.Unmarshal(s.Claims, &claims) != nil {
				t.Fatal("no session after the refresh")
			}
			if _, has := claims["groups"]; has != tc.wantGroupsAfter {
				t.Errorf("the session's claims have groups: %v, want %v (%v)", has, tc.wantGroupsAfter, claims)
			}
			if _, has := claims["nonce"]; has && !tc.noIDTokenLater {
				t.Errorf("the sign-in's nonce was carried over to the refreshed ID token's claims: %v", claims)
			}
		})
	}
}
