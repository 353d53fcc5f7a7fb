package middleware_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// TestFormUserNeverAClaim (issue 34, finding 3): the "user" field of a
// form_post response is Apple's alone. From any other provider it is
// ignored, and it never enters the verified claims: a requirement on
// "name" cannot match what the browser typed. Before the fix, a generic
// provider's sign-in with user={"name":{"firstName":"Support",…}} made the
// session's name claim "Support Team (official)" and /staff answered 200.
func TestFormUserNeverAClaim(t *testing.T) {
	user := devprovider.DemoUser
	user.Name = "" // the ID token carries no name: the forged one would fill it
	env := testenv.New(t, testenv.Options{
		OP:     func(c *devprovider.Config) { c.Users = []devprovider.User{user} },
		Client: func(c *client.Config) { c.ResponseMode = "form_post" }})
	env.Mux.Handle("/staff", env.Auth.RequireWith(middleware.Claim("name", "Support"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(middleware.UserFrom(r.Context()))
	})))
	hc := testenv.Browser()
	cb := env.ProviderLogin(t, hc, env.StartLogin(t, hc, "/profile"))
	fields := cb.Query()
	cb.RawQuery = ""
	fields.Set("user", `{"name":{"firstName":"Support","lastName":"Team (official)"},"email":"support@example.com"}`)
	req, _ := http.NewRequest("POST", cb.String(), strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d", resp.StatusCode)
	}
	if resp, _ := env.Get(t, hc, "/staff"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("/staff, requiring a word of the name the form typed: %d, want 403", resp.StatusCode)
	}
	_, body := env.Get(t, hc, "/profile")
	var u confidant.User
	if err := json.Unmarshal([]byte(body), &u); err != nil {
		t.Fatalf("/profile: %v: %s", err, body)
	}
	var claims map[string]any
	u.DecodeClaims(&claims)
	if strings.Contains(u.Name, "Support") || claims["name"] != nil {
		t.Errorf("the form's user field reached the user: Name %q, name claim %v", u.Name, claims["name"])
	}
	if u.Name != user.Username {
		t.Errorf("Name %q, want the preferred_username %q", u.Name, user.Username)
	}
}
