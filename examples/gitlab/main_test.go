package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/confidant-go/confidant/examples/internal/envconfig"
	"github.com/confidant-go/confidant/examples/internal/exampletest"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestGitLabExample runs the example as its README says against the
// GitLab emulator: sign-in, profile, GitLab's userinfo with the user's
// token (the default API), sign-out; /ops for a member of GITLAB_GROUP,
// whose groups only userinfo lists.
func TestGitLabExample(t *testing.T) {
	user := devprovider.User{ID: "4242", Username: "ada", Password: "pw", Name: "Ada", Email: "ada@example.com",
		UserinfoOnly: map[string]any{"groups": []string{"acme/ops"}}}
	hosts := &emulate.Hosts{}
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	g := emulate.NewGitLab(t, hosts, time.Now, []devprovider.Client{{ID: "gl-id", Secret: "gl-secret", Redirects: []string{appURL + "/auth/callback"}}},
		[]devprovider.User{user})
	env := map[string]string{"GITLAB_CLIENT_ID": "gl-id", "GITLAB_CLIENT_SECRET": "gl-secret", "GITLAB_GROUP": "acme/ops", "APP_URL": appURL}
	h, err := newApp(context.Background(), envconfig.Env{Getenv: func(k string) string { return env[k] }, HTTPClient: hosts.Client(), Logger: testenv.CollectLogger()})
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()
	login := func(hc *http.Client, u string) (*url.URL, error) { return g.OP.Login(hc, u, user) }
	exampletest.SignInOut(t, testenv.BrowserVia(hosts), appURL, login, user.ID)

	hc := testenv.BrowserVia(hosts)
	resp := exampletest.Do(t, hc, "GET", appURL+"/ops", "")
	cb, err := login(hc, resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	exampletest.Read(t, exampletest.Do(t, hc, "GET", cb.String(), ""))
	resp = exampletest.Do(t, hc, "GET", appURL+"/ops", "")
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || string(b) != "ops: Ada\n" {
		t.Errorf("/ops: %d %q", resp.StatusCode, b)
	}
}
