package middleware_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/providers"
)

type multiSetup struct {
	hosts *emulate.Hosts
	g     *emulate.Google
	gh    *emulate.GitHub
	app   *testenv.App
	rec   *recordingErrors
}

func newMulti(t *testing.T, loginPage string) *multiSetup {
	hosts := &emulate.Hosts{}
	s := &multiSetup{hosts: hosts, rec: &recordingErrors{}}
	apis := map[string]string{"google": "https://openidconnect.googleapis.com/v1/userinfo", "github": "https://api.github.com/user"}
	s.app = testenv.NewApp(t, apis, func(appURL string) middleware.Config {
		s.g = emulate.NewGoogle(t, hosts, []devprovider.Client{{ID: "g-id", Secret: "g-secret", Redirects: []string{appURL + "/auth/callback/google"}}}, nil, 0)
		s.gh = emulate.NewGitHub(t, hosts, "gh-id", "gh-secret", appURL+"/auth/callback/github", "")
		gp, _ := providers.Google(client.WithHTTPClient(hosts.Client()))
		hp, _ := providers.GitHub(client.WithHTTPClient(hosts.Client()))
		gc, err := client.New(client.Config{Provider: gp, ClientID: "g-id", ClientSecret: "g-secret", RedirectURL: appURL + "/auth/callback/google"})
		if err != nil {
			t.Fatal(err)
		}
		hcl, err := client.New(client.Config{Provider: hp, ClientID: "gh-id", ClientSecret: "gh-secret", RedirectURL: appURL + "/auth/callback/github"})
		if err != nil {
			t.Fatal(err)
		}
		cfg := middleware.Config{Clients: []*client.Client{gc, hcl}, APITransport: hosts, LoginPage: loginPage}
		s.rec.install(&cfg)
		return cfg
	})
	return s
}

// TestMultiProvider: Google and GitHub in one app, each signing in in turn
// through its own callback; the session remembers its provider, so the API
// client and logout go to it.
func TestMultiProvider(t *testing.T) {
	s := newMulti(t, "")
	for _, p := range []struct {
		name, want string
		login      func(hc *http.Client, u string) (*url.URL, error)
		host       string
	}{
		{"google", "google:" + emulate.GoogleUser.ID, func(hc *http.Client, u string) (*url.URL, error) { return s.g.OP.Login(hc, u, emulate.GoogleUser) }, "accounts.google.com"},
		{"github", "github:583231", func(hc *http.Client, u string) (*url.URL, error) { return s.gh.Authorize(hc, u) }, "github.com"},
	} {
		t.Run(p.name, func(t *testing.T) {
			hc := testenv.BrowserVia(s.hosts)
			authURL := signInAt(t, hc, s.app, "/auth/login?provider="+p.name+"&return_to=/profile",
				func(u string) (*url.URL, error) { return p.login(hc, u) })
			if authURL.Host != p.host || !strings.HasSuffix(authURL.Query().Get("redirect_uri"), "/auth/callback/"+p.name) {
				t.Errorf("authorization URL %s", authURL)
			}
			if _, who := get(t, hc, s.app.URL+"/whoami"); who != p.want {
				t.Errorf("whoami %q, want %q", who, p.want)
			}
			if status, body := testenv.APIRequest(t, hc, s.app.URL); status != 200 {
				t.Errorf("API: %d %s", status, body)
			}
			resp, err := hc.Post(s.app.URL+"/auth/logout", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if _, who := get(t, hc, s.app.URL+"/whoami"); who != "anonymous" {
				t.Errorf("after logout: %q", who)
			}
		})
	}
	if s.g.OP.RevokedRefreshTokens()+int64(s.g.OP.Count(devprovider.PathRevoke)) == 0 {
		t.Error("Google's logout did not revoke at Google")
	}
	if _, _, revoked := s.gh.TokenCalls(); revoked != 1 {
		t.Errorf("GitHub revocations %d, want 1", revoked)
	}
}

// TestMultiProviderMixUp: a state issued for a Google sign-in, presented at
// GitHub's callback, is refused before any token request.
func TestMultiProviderMixUp(t *testing.T) {
	s := newMulti(t, "")
	hc := testenv.BrowserVia(s.hosts)
	resp, _ := get(t, hc, s.app.URL+"/auth/login?provider=google")
	cb, err := s.g.OP.Login(hc, resp.Header.Get("Location"), emulate.GoogleUser)
	if err != nil {
		t.Fatal(err)
	}
	before, _, _ := s.gh.TokenCalls()
	gTokens := s.g.OP.Count(devprovider.PathToken)
	resp, _ = get(t, hc, s.app.URL+"/auth/callback/github?"+cb.RawQuery)
	if resp.StatusCode != 400 || !errors.Is(s.rec.last(), fail.StateMismatch) {
		t.Errorf("%d, reason %v", resp.StatusCode, s.rec.last())
	}
	if after, _, _ := s.gh.TokenCalls(); after != before || s.g.OP.Count(devprovider.PathToken) != gTokens {
		t.Error("a token request was made for a mixed-up callback")
	}
	// Unknown provider names are refused.
	resp, _ = get(t, hc, s.app.URL+"/auth/login?provider=myspace")
	if resp.StatusCode != 400 || !errors.Is(s.rec.last(), fail.UnknownProvider) {
		t.Errorf("unknown provider: %d %v", resp.StatusCode, s.rec.last())
	}
}

// TestLoginPage: with several providers, Require can send browsers to the
// app's own chooser page with the return-to kept.
func TestLoginPage(t *testing.T) {
	s := newMulti(t, "/signin")
	hc := testenv.BrowserVia(s.hosts)
	resp, _ := get(t, hc, s.app.URL+"/profile?x=1")
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/signin?return_to=%2Fprofile%3Fx%3D1" {
		t.Errorf("%d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestMultiConfigErrors(t *testing.T) {
	p1, _ := providers.GitHub()
	p2, _ := providers.GitHub()
	c1, _ := client.New(client.Config{Provider: p1, ClientID: "a", ClientSecret: "b", RedirectURL: "https://app/auth/callback/a"})
	c2, _ := client.New(client.Config{Provider: p2, ClientID: "a", ClientSecret: "b", RedirectURL: "https://app/auth/callback/b"})
	p3, _ := providers.GitHub(client.WithName("github-2"))
	c3, _ := client.New(client.Config{Provider: p3, ClientID: "a", ClientSecret: "b", RedirectURL: "https://app/auth/callback/a"})
	c4, _ := client.New(client.Config{Provider: p3, ClientID: "a", ClientSecret: "b", RedirectURL: "https://app/elsewhere"})
	store, _ := newStore()
	for name, cs := range map[string][]*client.Client{
		"same provider name": {c1, c2},
		"same callback":      {c1, c3},
		"callback outside":   {c4},
		"none":               nil,
	} {
		if _, err := middleware.New(middleware.Config{Clients: cs, Store: store}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
