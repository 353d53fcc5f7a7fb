package middleware_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/providers"
)

type githubSetup struct {
	hosts *emulate.Hosts
	gh    *emulate.GitHub
	app   *testenv.App
	rec   *recordingErrors
}

func newGitHub(t *testing.T, secret, enterprise string, tweak func(*emulate.GitHub)) *githubSetup {
	return newGitHubOn(t, nil, secret, enterprise, tweak)
}

// newGitHubOn is newGitHub with the app on clock (nil: the wall clock).
func newGitHubOn(t *testing.T, clock *testenv.Clock, secret, enterprise string, tweak func(*emulate.GitHub)) *githubSetup {
	hosts := &emulate.Hosts{}
	s := &githubSetup{hosts: hosts, rec: &recordingErrors{}}
	api := "https://api.github.com/user"
	if enterprise != "" {
		api = "https://" + enterprise + "/api/v3/user"
	}
	s.app = testenv.NewApp(t, map[string]string{"github": api}, func(appURL string) middleware.Config {
		s.gh = emulate.NewGitHub(t, hosts, "Iv1.8a61f9b3a7aba766", "gh-secret", appURL+"/auth/callback", enterprise)
		if tweak != nil {
			tweak(s.gh)
		}
		opts := []client.ProviderOption{client.WithHTTPClient(hosts.Client())}
		if enterprise != "" {
			opts = append(opts, providers.WithBaseURL("https://"+enterprise))
		}
		prov, err := providers.GitHub(opts...)
		if err != nil {
			t.Fatal(err)
		}
		ccfg := client.Config{Provider: prov, ClientID: "Iv1.8a61f9b3a7aba766", ClientSecret: secret,
			RedirectURL: appURL + "/auth/callback"}
		cfg := middleware.Config{APITransport: hosts}
		if clock != nil {
			ccfg.Now, cfg.Now = clock.Now, clock.Now
		}
		c, err := client.New(ccfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Clients = []*client.Client{c}
		s.rec.install(&cfg)
		return cfg
	})
	return s
}

func (s *githubSetup) startLogin(t *testing.T, hc *http.Client) *url.URL {
	t.Helper()
	resp, _ := get(t, hc, s.app.URL+"/profile")
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("profile: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return u
}

// TestGitHubQuirksNegative: errors that GitHub sends with HTTP 200 are
// errors; a dead single-use refresh token ends the session.
func TestGitHubQuirksNegative(t *testing.T) {
	t.Run("incorrect_client_credentials with 200", func(t *testing.T) {
		s := newGitHub(t, "wrong-secret", "", nil)
		hc := testenv.BrowserVia(s.hosts)
		cb, err := s.gh.Authorize(hc, s.startLogin(t, hc).String())
		if err != nil {
			t.Fatal(err)
		}
		resp, _ := get(t, hc, cb.String())
		var te *client.TokenError
		err = s.rec.last()
		if resp.StatusCode != 400 || !errors.Is(err, fail.TokenRequest) || !errors.As(err, &te) || te.Code != "incorrect_client_credentials" || te.StatusCode != 200 {
			t.Errorf("%d, reason %v; want 400 and a TokenError incorrect_client_credentials", resp.StatusCode, err)
		}
		if _, who := get(t, hc, s.app.URL+"/whoami"); who != "anonymous" {
			t.Errorf("signed in as %q with an error response", who)
		}
	})
	t.Run("bad_verification_code with 200", func(t *testing.T) {
		s := newGitHub(t, "gh-secret", "", nil)
		hc := testenv.BrowserVia(s.hosts)
		cb, _ := s.gh.Authorize(hc, s.startLogin(t, hc).String())
		q := cb.Query()
		q.Set("code", "not-a-code")
		cb.RawQuery = q.Encode()
		resp, _ := get(t, hc, cb.String())
		var te *client.TokenError
		if err := s.rec.last(); resp.StatusCode != 400 || !errors.As(err, &te) || te.Code != "bad_verification_code" {
			t.Errorf("%d, reason %v", resp.StatusCode, err)
		}
	})
	t.Run("form-encoded answer", func(t *testing.T) {
		s := newGitHub(t, "gh-secret", "", func(g *emulate.GitHub) { g.FormOnly = true })
		hc := testenv.BrowserVia(s.hosts)
		signInAt(t, hc, s.app, "/profile", func(u string) (*url.URL, error) { return s.gh.Authorize(hc, u) })
		if _, who := get(t, hc, s.app.URL+"/whoami"); who != "github:583231" {
			t.Errorf("whoami %q", who)
		}
	})
	t.Run("bad_refresh_token ends the session", func(t *testing.T) {
		s := newGitHub(t, "gh-secret", "", func(g *emulate.GitHub) { g.Expiring, g.Lifetime = true, 2*time.Second })
		hc := testenv.BrowserVia(s.hosts)
		signInAt(t, hc, s.app, "/profile", func(u string) (*url.URL, error) { return s.gh.Authorize(hc, u) })
		sess := s.app.Store
		req, _ := http.NewRequest("GET", s.app.URL, nil)
		testenv.AddCookies(req, hc.Jar.Cookies(mustURL(s.app.URL)))
		cur, err := sess.Load(req)
		if err != nil {
			t.Fatal(err)
		}
		// Spend the refresh token elsewhere, as a leaked copy would.
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {cur.RefreshToken},
			"client_id": {"Iv1.8a61f9b3a7aba766"}, "client_secret": {"gh-secret"}}
		r, err := s.hosts.Client().PostForm("https://github.com/login/oauth/access_token", form)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		time.Sleep(1100 * time.Millisecond)
		if status, _ := testenv.APIRequest(t, hc, s.app.URL); status != 401 {
			t.Errorf("API with a dead refresh token: %d, want 401", status)
		}
		if _, who := get(t, hc, s.app.URL+"/whoami"); who != "anonymous" {
			t.Errorf("still signed in as %q", who)
		}
	})
	t.Run("GitHub Enterprise Server", func(t *testing.T) {
		s := newGitHub(t, "gh-secret", "github.example.com", nil)
		hc := testenv.BrowserVia(s.hosts)
		authURL := signInAt(t, hc, s.app, "/profile", func(u string) (*url.URL, error) { return s.gh.Authorize(hc, u) })
		if authURL.Host != "github.example.com" {
			t.Errorf("authorization at %s", authURL.Host)
		}
		if status, body := testenv.APIRequest(t, hc, s.app.URL); status != 200 || !strings.Contains(body, "octocat") {
			t.Errorf("API: %d %s", status, body)
		}
	})
}
