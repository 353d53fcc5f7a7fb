package middleware_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/providers"
)

const auth0Domain = "tenant.eu.auth0.test"

// get fetches u with hc (no redirects followed) and returns the response
// and body.
func get(t *testing.T, hc *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

type auth0Setup struct {
	hosts *emulate.Hosts
	t0    *emulate.Auth0
	app   *testenv.App
	c     *client.Client
}

func newAuth0(t *testing.T, o emulate.Auth0Options, popts ...client.ProviderOption) *auth0Setup {
	return newAuth0With(t, o, nil, popts...)
}

// newAuth0With is newAuth0 with the client's and the middleware's
// configuration adjusted by set (nil: as newAuth0).
func newAuth0With(t *testing.T, o emulate.Auth0Options, set func(*client.Config, *middleware.Config), popts ...client.ProviderOption) *auth0Setup {
	hosts := &emulate.Hosts{}
	s := &auth0Setup{hosts: hosts}
	s.app = testenv.NewApp(t, map[string]string{"auth0": "https://api.example.test/orders"}, func(appURL string) middleware.Config {
		s.t0 = emulate.NewAuth0(t, hosts, auth0Domain, []devprovider.Client{{ID: "auth0-app", Secret: "auth0-secret",
			Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}}, o)
		api := httptest.NewServer(s.t0.OP.NewAPI())
		t.Cleanup(api.Close)
		hosts.Map("api.example.test", api.URL)
		prov, err := providers.Auth0(auth0Domain, append([]client.ProviderOption{client.WithHTTPClient(hosts.Client())}, popts...)...)
		if err != nil {
			t.Fatal(err)
		}
		ccfg := client.Config{Provider: prov, ClientID: "auth0-app", ClientSecret: "auth0-secret",
			RedirectURL: appURL + "/auth/callback",
			Scopes:      []string{"openid", "profile", "email", "offline_access"}}
		var mcfg middleware.Config
		if set != nil {
			set(&ccfg, &mcfg)
		}
		s.c, err = client.New(ccfg)
		if err != nil {
			t.Fatal(err)
		}
		mcfg.Clients, mcfg.APITransport = []*client.Client{s.c}, hosts
		return mcfg
	})
	return s
}

// signInAt runs the sign-in starting at the app path start, with login
// done by login, and returns the authorization URL used.
func signInAt(t *testing.T, hc *http.Client, app *testenv.App, start string, login func(authURL string) (*url.URL, error)) *url.URL {
	t.Helper()
	resp, _ := get(t, hc, app.URL+start)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET %s: %d", start, resp.StatusCode)
	}
	authURL, _ := url.Parse(resp.Header.Get("Location"))
	cb, err := login(authURL.String())
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, hc, cb.String())
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("callback %s: %d %s", cb.Path, resp.StatusCode, body)
	}
	return authURL
}

// TestAuth0V2Logout: a tenant without end_session is signed out of through
// /v2/logout?client_id=…&returnTo=….
func TestAuth0V2Logout(t *testing.T) {
	s := newAuth0(t, emulate.Auth0Options{NoEndSession: true})
	hc := testenv.BrowserVia(s.hosts)
	authURL := signInAt(t, hc, s.app, "/profile", func(u string) (*url.URL, error) { return s.t0.OP.Login(hc, u, emulate.Auth0User) })
	if authURL.Query().Get("audience") != "" {
		t.Error("audience sent without WithAudience")
	}
	resp, err := hc.Post(s.app.URL+"/auth/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Host != auth0Domain || loc.Path != "/v2/logout" || loc.Query().Get("client_id") != "auth0-app" || loc.Query().Get("returnTo") != s.app.URL+"/" {
		t.Fatalf("logout went to %s", loc)
	}
	resp, _ = get(t, hc, loc.String())
	if resp.Header.Get("Location") != s.app.URL+"/" || s.t0.V2Logouts() != 1 {
		t.Errorf("/v2/logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

type googleSetup struct {
	hosts *emulate.Hosts
	g     *emulate.Google
	app   *testenv.App
	rec   *recordingErrors
}

func newGoogle(t *testing.T, users []devprovider.User, popts ...client.ProviderOption) *googleSetup {
	return newGoogleOn(t, nil, users, popts...)
}

// newGoogleOn is newGoogle with the app on clock (nil: the wall clock) and
// minute-long access tokens, for a test that moves the app's clock to
// where a token is due.
func newGoogleOn(t *testing.T, clock *testenv.Clock, users []devprovider.User, popts ...client.ProviderOption) *googleSetup {
	lifetime := 2 * time.Second
	if clock != nil {
		lifetime = time.Minute
	}
	hosts := &emulate.Hosts{}
	s := &googleSetup{hosts: hosts, rec: &recordingErrors{}}
	s.app = testenv.NewApp(t, map[string]string{"google": "https://openidconnect.googleapis.com/v1/userinfo"}, func(appURL string) middleware.Config {
		s.g = emulate.NewGoogle(t, hosts, []devprovider.Client{{ID: "123-web.apps.googleusercontent.com", Secret: "GOCSPX-secret",
			Redirects: []string{appURL + "/auth/callback"}}}, users, lifetime)
		prov, err := providers.Google(append([]client.ProviderOption{client.WithHTTPClient(hosts.Client())}, popts...)...)
		if err != nil {
			t.Fatal(err)
		}
		ccfg := client.Config{Provider: prov, ClientID: "123-web.apps.googleusercontent.com", ClientSecret: "GOCSPX-secret",
			RedirectURL: appURL + "/auth/callback",
			Scopes:      []string{"openid", "email", "profile", "offline_access"}}
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

// TestGoogleQuirksNegative: each Google quirk, the other way round.
func TestGoogleQuirksNegative(t *testing.T) {
	t.Run("ID token of another hosted domain", func(t *testing.T) {
		other := emulate.GoogleUser
		other.Claims = map[string]any{"hd": "evil.example"}
		s := newGoogle(t, []devprovider.User{other}, providers.WithHostedDomain("example.com"))
		hc := testenv.BrowserVia(s.hosts)
		resp, _ := get(t, hc, s.app.URL+"/profile")
		cb, err := s.g.OP.Login(hc, resp.Header.Get("Location"), other)
		if err != nil {
			t.Fatal(err)
		}
		resp, _ = get(t, hc, cb.String())
		if resp.StatusCode != 401 || !errors.Is(s.rec.last(), fail.HostedDomain) || !errors.Is(s.rec.last(), client.ErrInvalidIDToken) {
			t.Errorf("%d, reason %v; want 401 ErrHostedDomain", resp.StatusCode, s.rec.last())
		}
	})
	t.Run("consumer account without hd", func(t *testing.T) {
		gmail := emulate.GoogleUser
		gmail.Claims = nil
		s := newGoogle(t, []devprovider.User{gmail}, providers.WithHostedDomain("example.com"))
		hc := testenv.BrowserVia(s.hosts)
		resp, _ := get(t, hc, s.app.URL+"/profile")
		cb, _ := s.g.OP.Login(hc, resp.Header.Get("Location"), gmail)
		if resp, _ = get(t, hc, cb.String()); resp.StatusCode != 401 {
			t.Errorf("%d, want 401", resp.StatusCode)
		}
	})
	t.Run("several audiences without azp are accepted for Google", func(t *testing.T) {
		s := newGoogle(t, nil)
		s.g.OP.SetTokenHook(func(resp map[string]any) {
			parts := strings.Split(resp["id_token"].(string), ".")
			var c map[string]any
			b, _ := base64URL(parts[1])
			json.Unmarshal(b, &c)
			c["aud"] = []string{"123-web.apps.googleusercontent.com", "123-android.apps.googleusercontent.com"}
			delete(c, "azp")
			resp["id_token"] = s.g.OP.Sign(c)
		})
		hc := testenv.BrowserVia(s.hosts)
		signInAt(t, hc, s.app, "/profile", func(u string) (*url.URL, error) { return s.g.OP.Login(hc, u, emulate.GoogleUser) })
		if _, who := get(t, hc, s.app.URL+"/whoami"); who != "google:"+emulate.GoogleUser.ID {
			t.Errorf("whoami %q", who)
		}
	})
	t.Run("offline_access as a scope is refused by Google", func(t *testing.T) {
		hosts := &emulate.Hosts{}
		g := emulate.NewGoogle(t, hosts, []devprovider.Client{{ID: "x", Secret: "y", Redirects: []string{"http://127.0.0.1:1/cb"}}}, nil, 0)
		// Generic discovery instead of providers.Google: no quirk handling.
		prov, err := client.Discover(t.Context(), "https://accounts.google.com", client.WithHTTPClient(hosts.Client()))
		if err != nil {
			t.Fatal(err)
		}
		c, _ := client.New(client.Config{Provider: prov, ClientID: "x", ClientSecret: "y", RedirectURL: "http://127.0.0.1:1/cb",
			Scopes: []string{"openid", "offline_access"}})
		l, _ := c.NewLogin(t.Context(), nil)
		resp, body := get(t, hosts.Client(), l.URL)
		if resp.StatusCode != 400 || !strings.Contains(body, "invalid_scope") {
			t.Errorf("Google accepted offline_access: %d %s", resp.StatusCode, body)
		}
		_ = g
	})
}

// providerFlow is one provider's run of the whole flow against its
// emulator: sign-in, the user, an API call, one refresh when the 2-second
// access token is due (however many requests need it), and sign-out.
type providerFlow struct {
	name  string
	start string // the app path the sign-in starts at
	// setup starts the emulator and the app; login signs in at the
	// provider and returns the callback URL; tokenCalls counts token
	// requests.
	setup     func(t *testing.T, clock *testenv.Clock) (app *testenv.App, hc *http.Client, login func(authURL string) (*url.URL, error), tokenCalls func() int)
	authURL   func(t *testing.T, u *url.URL, app *testenv.App)
	user      func(t *testing.T, u confidant.User, apiBody string)
	signedOut func(t *testing.T, hc *http.Client, resp *http.Response, app *testenv.App)
}

func TestProviderFlows(t *testing.T) {
	for _, f := range []providerFlow{
		{
			name:  "Auth0: audience, organization and invitation; rotation; /oidc/logout",
			start: "/auth/login?organization=org_123&invitation=inv_456&prompt=login&foo=bar&redirect_uri=https://evil.example/",
			setup: func(t *testing.T, clock *testenv.Clock) (*testenv.App, *http.Client, func(string) (*url.URL, error), func() int) {
				s := newAuth0With(t, emulate.Auth0Options{AccessTokenLifetime: time.Minute, Organizations: map[string]string{"org_123": "Acme"}},
					func(c *client.Config, m *middleware.Config) { c.Now, m.Now = clock.Now, clock.Now },
					providers.WithAudience("https://api.example.test/"))
				hc := testenv.BrowserVia(s.hosts)
				t.Cleanup(func() {
					if s.t0.OP.RevokedRefreshTokens() != 1 {
						t.Error("refresh token not revoked")
					}
				})
				return s.app, hc, func(u string) (*url.URL, error) { return s.t0.OP.Login(hc, u, emulate.Auth0User) },
					func() int { return s.t0.OP.Count(devprovider.PathToken) }
			},
			authURL: func(t *testing.T, u *url.URL, app *testenv.App) {
				q := u.Query()
				if u.Host != auth0Domain || q.Get("audience") != "https://api.example.test/" || q.Get("organization") != "org_123" || q.Get("invitation") != "inv_456" {
					t.Errorf("authorization URL %s: want audience, organization and invitation", u)
				}
				if q.Get("prompt") != "login" || q.Has("foo") || !strings.HasPrefix(q.Get("redirect_uri"), app.URL) {
					t.Errorf("want prompt passed on, and neither foo nor redirect_uri: %s", u)
				}
			},
			user: func(t *testing.T, u confidant.User, _ string) {
				// updated_at arrives as a string and is kept as such.
				var claims map[string]any
				u.DecodeClaims(&claims)
				if u.Subject != emulate.Auth0User.ID || claims["updated_at"] != "2026-11-01T10:00:00.000Z" || u.Provider != "auth0" {
					t.Errorf("user %+v claims %v", u, claims)
				}
			},
			signedOut: func(t *testing.T, hc *http.Client, resp *http.Response, app *testenv.App) {
				loc, _ := url.Parse(resp.Header.Get("Location"))
				if loc.Host != auth0Domain || loc.Path != "/oidc/logout" || loc.Query().Get("id_token_hint") == "" {
					t.Fatalf("logout went to %s", loc)
				}
				if resp, _ := get(t, hc, loc.String()); resp.Header.Get("Location") != app.URL+"/" {
					t.Errorf("provider logout returned to %q", resp.Header.Get("Location"))
				}
			},
		},
		{
			name:  "Google: offline access the Google way, hosted domain; logout by revocation",
			start: "/profile",
			setup: func(t *testing.T, clock *testenv.Clock) (*testenv.App, *http.Client, func(string) (*url.URL, error), func() int) {
				s := newGoogleOn(t, clock, nil, providers.WithHostedDomain("example.com"))
				hc := testenv.BrowserVia(s.hosts)
				t.Cleanup(func() {
					if s.g.OP.RevokedRefreshTokens() != 1 || s.g.OP.Count(devprovider.PathRevoke) != 1 {
						t.Error("the token was not revoked at Google's revocation endpoint")
					}
				})
				return s.app, hc, func(u string) (*url.URL, error) { return s.g.OP.Login(hc, u, emulate.GoogleUser) },
					func() int { return s.g.OP.Count(devprovider.PathToken) }
			},
			authURL: func(t *testing.T, u *url.URL, _ *testenv.App) {
				q := u.Query()
				if q.Get("access_type") != "offline" || q.Get("prompt") != "consent" || strings.Contains(q.Get("scope"), "offline_access") || q.Get("hd") != "example.com" {
					t.Errorf("authorization URL %s", u)
				}
			},
			user: func(t *testing.T, u confidant.User, apiBody string) {
				if u.Subject != emulate.GoogleUser.ID || u.Provider != "google" || !strings.Contains(apiBody, emulate.GoogleUser.ID) {
					t.Errorf("user %+v, API answered %s", u, apiBody)
				}
			},
			signedOut: func(t *testing.T, _ *http.Client, resp *http.Response, _ *testenv.App) {
				if loc := resp.Header.Get("Location"); loc != "/" {
					t.Errorf("logout went to %q, want the app (Google has no end_session)", loc)
				}
			},
		},
		{
			name:  "GitHub: plain OAuth 2.0, numeric id, private e-mail; expiring App tokens; logout by revocation",
			start: "/profile",
			setup: func(t *testing.T, clock *testenv.Clock) (*testenv.App, *http.Client, func(string) (*url.URL, error), func() int) {
				s := newGitHubOn(t, clock, "gh-secret", "", func(g *emulate.GitHub) { g.Expiring, g.Lifetime = true, time.Minute })
				hc := testenv.BrowserVia(s.hosts)
				t.Cleanup(func() {
					if _, accept, revoked := s.gh.TokenCalls(); accept != "application/json" || revoked != 1 {
						t.Errorf("token requests with Accept %q (want application/json), %d revoked (want 1)", accept, revoked)
					}
				})
				return s.app, hc, func(u string) (*url.URL, error) { return s.gh.Authorize(hc, u) },
					func() int { n, _, _ := s.gh.TokenCalls(); return n }
			},
			authURL: func(t *testing.T, u *url.URL, _ *testenv.App) {
				q := u.Query()
				if u.Host != "github.com" || q.Get("scope") != "read:user user:email" || q.Get("code_challenge_method") != "S256" || q.Get("nonce") != "" {
					t.Errorf("authorization URL %s", u)
				}
			},
			user: func(t *testing.T, u confidant.User, apiBody string) {
				// The numeric id is the subject; the private e-mail comes from /user/emails.
				if u.Subject != strconv.Itoa(emulate.GitHubUserID) || u.Email != "octocat@github.com" || !u.EmailVerified ||
					u.Name != "The Octocat" || u.Provider != "github" || !strings.Contains(apiBody, `"login":"octocat"`) {
					t.Errorf("user %+v, API answered %s", u, apiBody)
				}
			},
			signedOut: func(t *testing.T, _ *http.Client, resp *http.Response, _ *testenv.App) {
				if loc := resp.Header.Get("Location"); loc != "/" {
					t.Errorf("logout went to %q, want the app (GitHub has no end_session)", loc)
				}
			},
		},
	} {
		t.Run(f.name, func(t *testing.T) {
			clock := &testenv.Clock{} // the app's: the provider keeps the wall clock
			app, hc, login, tokenCalls := f.setup(t, clock)
			f.authURL(t, signInAt(t, hc, app, f.start, login), app)
			_, body := get(t, hc, app.URL+"/profile")
			var u confidant.User
			if err := json.Unmarshal([]byte(body), &u); err != nil {
				t.Fatalf("profile: %v: %s", err, body)
			}
			status, apiBody := testenv.APIRequest(t, hc, app.URL)
			if status != 200 {
				t.Fatalf("API: %d %s", status, apiBody)
			}
			f.user(t, u, apiBody)
			before := tokenCalls()
			clock.Add(31 * time.Second) // the minute-long token is due at half its lifetime, for the app
			for range 3 {
				if status, body := testenv.APIRequest(t, hc, app.URL); status != 200 {
					t.Fatalf("API after expiry: %d %s", status, body)
				}
			}
			if n := tokenCalls() - before; n != 1 {
				t.Errorf("%d refreshes, want 1", n)
			}
			resp, err := hc.Post(app.URL+"/auth/logout", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			f.signedOut(t, hc, resp, app)
			if _, who := get(t, hc, app.URL+"/whoami"); who != "anonymous" {
				t.Errorf("after sign-out: %q", who)
			}
		})
	}
}
