package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestMultiExample signs in to the multi example with Google, then with
// GitHub, against the emulators, each time calling /api and signing out.
func TestMultiExample(t *testing.T) {
	hosts := &emulate.Hosts{}
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	g := emulate.NewGoogle(t, hosts, []devprovider.Client{{ID: "g-id", Secret: "g-secret", Redirects: []string{appURL + "/auth/callback/google"}}}, nil, 0)
	gh := emulate.NewGitHub(t, hosts, "gh-id", "gh-secret", appURL+"/auth/callback/github", "")
	env := map[string]string{"GOOGLE_CLIENT_ID": "g-id", "GOOGLE_CLIENT_SECRET": "g-secret",
		"GITHUB_CLIENT_ID": "gh-id", "GITHUB_CLIENT_SECRET": "gh-secret", "APP_URL": appURL}
	h, err := newApp(context.Background(), func(k string) string { return env[k] }, hosts.Client(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()

	logins := map[string]func(hc *http.Client, u string) (*url.URL, error){
		"google": func(hc *http.Client, u string) (*url.URL, error) { return g.OP.Login(hc, u, emulate.GoogleUser) },
		"github": func(hc *http.Client, u string) (*url.URL, error) { return gh.Authorize(hc, u) },
	}
	wantSub := map[string]string{"google": emulate.GoogleUser.ID, "github": "583231"}
	hc := testenv.BrowserVia(hosts)
	for _, name := range []string{"google", "github"} {
		// A protected page sends the browser to the chooser…
		resp := testenv.Do(t, hc, "GET", appURL+"/profile", "")
		if resp.StatusCode != 302 || !strings.HasPrefix(resp.Header.Get("Location"), "/signin?return_to=") {
			t.Fatalf("%s: /profile → %d %q", name, resp.StatusCode, resp.Header.Get("Location"))
		}
		body := testenv.Body(t, testenv.Do(t, hc, "GET", appURL+resp.Header.Get("Location"), ""))
		if !strings.Contains(body, `id="login-`+name+`"`) {
			t.Fatalf("%s: no button on the sign-in page", name)
		}
		// …whose button starts that provider's sign-in.
		resp = testenv.Do(t, hc, "GET", appURL+"/auth/login?provider="+name+"&return_to=/profile", "")
		cb, err := logins[name](hc, resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		if resp = testenv.Do(t, hc, "GET", cb.String(), ""); resp.StatusCode != 302 || resp.Header.Get("Location") != "/profile" {
			t.Fatalf("%s: callback %d %q", name, resp.StatusCode, resp.Header.Get("Location"))
		}
		var claims map[string]any
		json.Unmarshal([]byte(testenv.Body(t, testenv.Do(t, hc, "GET", appURL+"/profile", "application/json"))), &claims)
		if claims["sub"] != wantSub[name] {
			t.Errorf("%s: profile claims %v", name, claims)
		}
		// /api answers with what the provider's API said, with the user's token.
		if resp = testenv.Do(t, hc, "GET", appURL+"/api", "application/json"); resp.StatusCode != 200 {
			t.Errorf("%s: /api %d: %s", name, resp.StatusCode, testenv.Body(t, resp))
		} else if body := testenv.Body(t, resp); !strings.Contains(body, wantSub[name]) {
			t.Errorf("%s: /api %s, want the user %s", name, body, wantSub[name])
		}
		if resp = testenv.Do(t, hc, "POST", appURL+"/auth/logout", ""); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: logout %d", name, resp.StatusCode)
		}
		if body := testenv.Body(t, testenv.Do(t, hc, "GET", appURL+"/", "")); !strings.Contains(body, "signed out") {
			t.Errorf("%s: still signed in after logout", name)
		}
	}
}

// TestMultiMissingVariables: without its registrations the app does not
// start, and the error names each missing variable.
func TestMultiMissingVariables(t *testing.T) {
	_, err := newApp(context.Background(), func(k string) string { return map[string]string{"GOOGLE_CLIENT_ID": "g-id"}[k] }, nil, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, GOOGLE_CLIENT_SECRET") {
		t.Errorf("error %v, want one naming the three missing variables", err)
	}
}
