package middleware_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// TestFullFlow: protected route → provider → callback → protected route
// signed in; the bearer client reaches the API with the right token; logout
// ends the app session and the provider session.
func TestFullFlow(t *testing.T) {
	var logs bytes.Buffer
	env := testenv.New(t, testenv.Options{Middleware: func(c *middleware.Config) {
		c.Logger = slog.New(slog.NewTextHandler(testenv.Collected(&logs), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}})
	hc := testenv.Browser()
	var secrets []string // every token, code and secret of the flow
	env.OP.SetTokenHook(func(resp map[string]any) {
		for _, k := range []string{"access_token", "refresh_token", "id_token"} {
			if s, ok := resp[k].(string); ok {
				secrets = append(secrets, s)
			}
		}
	})
	defer func() {
		secrets = append(secrets, testenv.ClientSecret)
		if logs.Len() == 0 {
			t.Error("no log output captured")
		}
		for _, s := range secrets {
			if strings.Contains(logs.String(), s) {
				t.Errorf("a token or secret appears in the logs")
			}
		}
	}()

	authURL := env.StartLogin(t, hc, "/profile?tab=2")
	cb := env.ProviderLogin(t, hc, authURL)
	secrets = append(secrets, cb.Query().Get("code"), cb.Query().Get("state"))
	resp, err := hc.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/profile?tab=2" {
		t.Fatalf("callback: %d to %q, want 302 to /profile?tab=2", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A replayed callback is refused, and its failure is logged too.
	if replay := callback(t, env, hc, cb.String()); replay.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed callback: %d, want 400", replay.StatusCode)
	}
	if got := env.OP.Count(devprovider.PathToken); got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}

	resp, body := env.Get(t, hc, "/profile?tab=2")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("profile after sign-in: %d %s", resp.StatusCode, body)
	}
	var u confidant.User
	if err := json.Unmarshal([]byte(body), &u); err != nil {
		t.Fatal(err)
	}
	if u.Subject != devprovider.DemoUser.ID || u.Email != devprovider.DemoUser.Email || u.Name != devprovider.DemoUser.Name ||
		!u.EmailVerified || u.Provider != env.Client.Provider().Name() {
		t.Errorf("user = %+v, want the demo user", u)
	}

	resp, body = env.Get(t, hc, "/api")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, devprovider.DemoUser.ID) {
		t.Fatalf("api: %d %s", resp.StatusCode, body)
	}
	accepted := env.API.Accepted()
	if len(accepted) != 1 {
		t.Fatalf("API accepted %d tokens, want 1", len(accepted))
	}
	// The token the API saw is the one in the session.
	var sessionAT string
	for _, c := range hc.Jar.Cookies(mustURL(env.App.URL)) {
		if c.Name == "confidant" {
			r, _ := http.NewRequest("GET", env.App.URL, nil)
			r.AddCookie(c)
			s, err := env.Store.Load(r)
			if err != nil {
				t.Fatal(err)
			}
			sessionAT = s.AccessToken
			if !env.OP.RefreshTokenValid(s.RefreshToken) {
				t.Fatal("refresh token not valid at the OP before logout")
			}
			defer func(rt string) {
				if env.OP.RefreshTokenValid(rt) {
					t.Error("refresh token still valid at the OP after logout")
				}
			}(s.RefreshToken)
		}
	}
	if sessionAT == "" || accepted[0] != sessionAT {
		t.Error("API did not receive the session's access token")
	}

	// Logout: POST, local session cleared, refresh token revoked, then the
	// provider's end_session with id_token_hint.
	resp, err = hc.Post(env.App.URL+"/auth/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, env.OP.Issuer+devprovider.PathEndSession) ||
		!strings.Contains(loc, "id_token_hint=") || !strings.Contains(loc, "post_logout_redirect_uri=") {
		t.Fatalf("logout: %d to %q", resp.StatusCode, loc)
	}
	if env.OP.RevokedRefreshTokens() != 1 {
		t.Errorf("revoked refresh tokens = %d, want 1", env.OP.RevokedRefreshTokens())
	}
	// Follow the provider's logout back to the app.
	resp, err = hc.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Location"); !strings.HasPrefix(got, env.App.URL+"/") {
		t.Fatalf("end_session redirected to %q (status %d), want the app", got, resp.StatusCode)
	}
	if _, body := env.Get(t, hc, "/whoami"); body != "anonymous" {
		t.Errorf("after logout /whoami = %q, want anonymous", body)
	}
	// The provider session is over too: a new sign-in shows the login form
	// instead of coming straight back.
	authURL = env.StartLogin(t, hc, "/profile")
	resp, err = hc.Get(authURL.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	next, _ := resp.Request.URL.Parse(resp.Header.Get("Location"))
	resp, err = hc.Get(next.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after logout the provider answered %d at %s, want its login form (200)", resp.StatusCode, next)
	}
}
