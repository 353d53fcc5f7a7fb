package providers_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/providers"
	"github.com/confidant-go/confidant/session"
)

// The tests in this file run each preset end to end against its emulator
// (internal/testkit/emulate), configured as its page in docs/providers/
// tells a user to: a sign-in in a browser (an HTTP client with a cookie
// jar), the profile with the user's subject, an API call with the user's
// token, a sign-out, and the checks of what the page says the preset does.
// What a test adds to the page's configuration is plumbing: the emulators'
// HTTP client (client.WithHTTPClient, Config.APITransport) and a logger.

// TestAuth0EndToEnd: docs/providers/auth0.md against the Auth0 emulator
// (client_secret_post, as an Auth0 application is registered): sign-in,
// profile, the API with the user's token, sign-out through /oidc/logout;
// organization and invitation passed on from /auth/login, and the sign-in
// lands in the organization.
func TestAuth0EndToEnd(t *testing.T) {
	a := newApp(t)
	tenant := emulate.NewAuth0(t, a.hosts, "example.eu.auth0.test", a.clients("auth0-id", "auth0-secret"),
		emulate.Auth0Options{Organizations: map[string]string{"org_abc123": "Acme"}})
	api := httptest.NewServer(tenant.OP.NewAPI())
	t.Cleanup(api.Close)
	a.hosts.Map("api.example.test", api.URL)

	prov, err := providers.Auth0("example.eu.auth0.test", a.plumbing())
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.Setup(t.Context(), a.test(middleware.Config{
		Provider: prov, ClientID: "auth0-id", ClientSecret: "auth0-secret", AppURL: a.url, Keys: keys(),
		APIs: []middleware.API{{Name: "orders", BaseURL: "https://api.example.test/"}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	a.serve(t, auth, "https://api.example.test/", nil)
	login := func(hc *http.Client, u string) (*url.URL, error) { return tenant.OP.Login(hc, u, emulate.Auth0User) }
	_, logout := signInOut(t, testenv.BrowserVia(a.hosts), a.url, login, emulate.Auth0User.ID)
	if !strings.HasPrefix(logout, "https://example.eu.auth0.test/oidc/logout?") {
		t.Errorf("sign-out went to %q, want the tenant's /oidc/logout", logout)
	}

	// An organization invitation link pointed at /auth/login.
	hc := testenv.BrowserVia(a.hosts)
	resp := testenv.Do(t, hc, "GET", a.url+"/auth/login?organization=org_abc123&invitation=inv_9f8e7d&return_to=/profile", "")
	authURL, _ := url.Parse(resp.Header.Get("Location"))
	if q := authURL.Query(); q.Get("organization") != "org_abc123" || q.Get("invitation") != "inv_9f8e7d" {
		t.Fatalf("/auth/login sent %s, want organization and invitation passed on", authURL)
	}
	claims := finishSignIn(t, hc, a.url, login, authURL.String())
	if claims["org_id"] != "org_abc123" {
		t.Errorf("claims %v, want org_id org_abc123", claims)
	}
}

// TestGoogleEndToEnd: docs/providers/google.md against the Google emulator,
// with a Workspace domain: the sign-in asks for hd and a refresh token the
// Google way (access_type=offline, prompt=consent; the emulator refuses
// offline_access), profile, Google's userinfo with the user's token,
// sign-out.
func TestGoogleEndToEnd(t *testing.T) {
	a := newApp(t)
	g := emulate.NewGoogle(t, a.hosts, a.clients("g-id", "g-secret"), nil, 0)
	prov, err := providers.Google(providers.WithHostedDomain("example.com"), a.plumbing())
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.Setup(t.Context(), a.test(middleware.Config{
		Provider: prov, ClientID: "g-id", ClientSecret: "g-secret", AppURL: a.url, Keys: keys(),
		APIs: []middleware.API{{Name: "google", BaseURL: "https://openidconnect.googleapis.com/"}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	a.serve(t, auth, "https://openidconnect.googleapis.com/v1/userinfo", nil)
	signInOut(t, testenv.BrowserVia(a.hosts), a.url, func(hc *http.Client, u string) (*url.URL, error) {
		q := mustQuery(t, u)
		if q.Get("hd") != "example.com" || q.Get("access_type") != "offline" || q.Get("prompt") != "consent" {
			t.Errorf("authorization request %s: want hd, access_type=offline and prompt=consent", u)
		}
		return g.OP.Login(hc, u, emulate.GoogleUser)
	}, emulate.GoogleUser.ID)
}

// TestGitHubEndToEnd: docs/providers/github.md against the GitHub emulator
// (client_id and client_secret as parameters, form-encoded answers):
// sign-in, profile (the numeric user ID as subject, the private primary
// e-mail from /user/emails), the REST API with the user's token, sign-out
// (the token revoked).
func TestGitHubEndToEnd(t *testing.T) {
	a := newApp(t)
	gh := emulate.NewGitHub(t, a.hosts, "gh-id", "gh-secret", a.url+"/auth/callback", "")
	prov, err := providers.GitHub(a.plumbing())
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.Setup(t.Context(), a.test(middleware.Config{
		Provider: prov, ClientID: "gh-id", ClientSecret: "gh-secret", AppURL: a.url, Keys: keys(),
		APIs: []middleware.API{{Name: "github", BaseURL: "https://api.github.com/"}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	a.serve(t, auth, "https://api.github.com/user", nil)
	claims, _ := signInOut(t, testenv.BrowserVia(a.hosts), a.url, gh.Authorize, fmt.Sprint(emulate.GitHubUserID))
	if claims["email"] != "octocat@github.com" || claims["email_verified"] != true {
		t.Errorf("claims %v, want the primary, verified e-mail of /user/emails", claims)
	}
	if _, _, revoked := gh.TokenCalls(); revoked != 1 {
		t.Errorf("%d tokens revoked at sign-out, want 1", revoked)
	}
}

// TestEntraEndToEnd: docs/providers/entra.md against the Entra emulator,
// for the app's own tenant: sign-in, profile, Microsoft Graph's userinfo
// with the user's token, sign-out; the user's key (tenant and object IDs)
// on the page's /; /admin for a group member, and for a user in too many
// groups an answer that says so; a multi-tenant issuer without the tenants
// refused with the fix named.
func TestEntraEndToEnd(t *testing.T) {
	const (
		tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		admins = "5b6a8c1e-0f1d-4e2a-9b3c-7d8e9f0a1b2c"
	)
	ada := devprovider.User{ID: "ada", Username: "ada@contoso.example", Password: "pw", Name: "Ada", Claims: map[string]any{"groups": []string{admins}}}
	many := devprovider.User{ID: "many", Username: "many@contoso.example", Password: "pw", Name: "Many", Claims: map[string]any{
		"_claim_names": map[string]any{"groups": "src1"}, "_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.microsoft.com/v1.0/users/x/getMemberObjects"}}}}
	a := newApp(t)
	e := emulate.NewEntra(t, a.hosts, nil, []string{tenant}, map[string][]devprovider.User{tenant: {ada, many}}, a.clients("app-id", "app-secret"))
	prov, err := providers.Entra(tenant, a.plumbing())
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.Setup(t.Context(), a.test(middleware.Config{
		Provider: prov, ClientID: "app-id", ClientSecret: "app-secret", AppURL: a.url, Keys: keys(),
		APIs: []middleware.API{{Name: "graph", BaseURL: "https://graph.microsoft.com/"}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	a.serve(t, auth, "https://graph.microsoft.com/oidc/userinfo", func(mux *http.ServeMux) {
		// As the page: the user's key, and a group's page.
		mux.Handle("/{$}", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u := middleware.UserFrom(r.Context())
			id, ok := providers.EntraIDOf(u)
			if !ok {
				http.Error(w, "no tid and oid in the sign-in", http.StatusForbidden)
				return
			}
			fmt.Fprintf(w, "%s %s\n", u.Provider, id)
		})))
		mux.Handle("/admin", auth.RequireWith(middleware.Claim("groups", admins))(named("admin")))
	})
	login := func(u devprovider.User) func(hc *http.Client, authURL string) (*url.URL, error) {
		return func(hc *http.Client, authURL string) (*url.URL, error) {
			return e.Tenants[tenant].Login(hc, authURL, u)
		}
	}
	signInOut(t, testenv.BrowserVia(a.hosts), a.url, login(ada), ada.ID)

	hc := signedIn(t, a, "/", login(ada))
	if body := testenv.Body(t, testenv.Do(t, hc, "GET", a.url+"/", "")); body != "entra "+tenant+"/oid-ada\n" {
		t.Errorf("/: %q, want the user's key", body)
	}
	for _, tc := range []struct {
		user   devprovider.User
		status int
		says   string
	}{{ada, http.StatusOK, "admin: Ada"}, {many, http.StatusForbidden, "more groups than the sign-in can list"}} {
		hc := signedIn(t, a, "/admin", login(tc.user))
		resp := testenv.Do(t, hc, "GET", a.url+"/admin", "")
		if body := testenv.Body(t, resp); resp.StatusCode != tc.status || !strings.Contains(body, tc.says) {
			t.Errorf("%s: /admin %d %q, want %d saying %q", tc.user.ID, resp.StatusCode, body, tc.status, tc.says)
		}
	}

	if _, err := providers.Entra("organizations", a.plumbing()); !errors.Is(err, confidant.ErrConfig) || !strings.Contains(err.Error(), "WithTenants") {
		t.Errorf("organizations without WithTenants: %v, want an ErrConfig naming the fix", err)
	}
}

// TestOktaEndToEnd: docs/providers/okta.md against the Okta emulator, with
// the custom authorization server "default": sign-in, profile, the server's
// userinfo with the user's token, sign-out through the server's
// /v1/logout; /admin for a member of a group.
func TestOktaEndToEnd(t *testing.T) {
	user := devprovider.User{ID: "00u1a2b3", Username: "ada", Password: "pw", Name: "Ada", Email: "ada@example.com",
		Claims: map[string]any{"groups": []string{"Admins"}}}
	a := newApp(t)
	o := emulate.NewOkta(t, a.hosts, "acme.okta.com", time.Now, a.clients("0oa1b2c3", "okta-secret"), []devprovider.User{user})
	prov, err := providers.Okta("acme.okta.com", "default", a.plumbing())
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.Setup(t.Context(), a.test(middleware.Config{
		Provider: prov, ClientID: "0oa1b2c3", ClientSecret: "okta-secret", AppURL: a.url, Keys: keys(),
		APIs: []middleware.API{{Name: "okta", BaseURL: "https://acme.okta.com/oauth2/default/v1/userinfo"}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	a.serve(t, auth, "https://acme.okta.com/oauth2/default/v1/userinfo", func(mux *http.ServeMux) {
		mux.Handle("/admin", auth.RequireWith(middleware.Claim("groups", "Admins"))(named("admin")))
	})
	login := func(hc *http.Client, u string) (*url.URL, error) { return o.Default.Login(hc, u, user) }
	_, logout := signInOut(t, testenv.BrowserVia(a.hosts), a.url, login, user.ID)
	if !strings.HasPrefix(logout, "https://acme.okta.com/oauth2/default/v1/logout?") {
		t.Errorf("sign-out went to %q, want the server's /v1/logout", logout)
	}
	requireAdmin(t, a, "/admin", login, "admin: Ada\n")
}

// TestKeycloakEndToEnd: docs/providers/keycloak.md against the Keycloak
// emulator: sign-in, profile, the realm's userinfo with the user's token,
// sign-out through Keycloak's logout; /admin for a holder of a realm role.
func TestKeycloakEndToEnd(t *testing.T) {
	user := devprovider.User{ID: "k-ada", Username: "ada", Password: "pw", Name: "Ada", Email: "ada@example.com",
		Claims: map[string]any{"realm_access": map[string]any{"roles": []string{"admin"}}}}
	a := newApp(t)
	k := emulate.NewKeycloak(t, a.hosts, "sso.example.com", "acme", time.Now, a.clients("kc-id", "kc-secret"), []devprovider.User{user})
	prov, err := providers.Keycloak("https://sso.example.com", "acme", a.plumbing())
	if err != nil {
		t.Fatal(err)
	}
	const userinfo = "https://sso.example.com/realms/acme/protocol/openid-connect/userinfo"
	auth, err := middleware.Setup(t.Context(), a.test(middleware.Config{
		Provider: prov, ClientID: "kc-id", ClientSecret: "kc-secret", AppURL: a.url, Keys: keys(),
		APIs: []middleware.API{{Name: "keycloak", BaseURL: userinfo}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	a.serve(t, auth, userinfo, func(mux *http.ServeMux) {
		mux.Handle("/admin", auth.RequireWith(middleware.Claim("realm_access.roles", "admin"))(named("admin")))
	})
	login := func(hc *http.Client, u string) (*url.URL, error) { return k.OP.Login(hc, u, user) }
	_, logout := signInOut(t, testenv.BrowserVia(a.hosts), a.url, login, user.ID)
	if !strings.HasPrefix(logout, "https://sso.example.com/realms/acme/protocol/openid-connect/logout?") {
		t.Errorf("sign-out went to %q, want the realm's logout", logout)
	}
	requireAdmin(t, a, "/admin", login, "admin: Ada\n")
}

// TestCognitoEndToEnd: docs/providers/cognito.md against the Cognito
// emulator: sign-in on the pool's domain, profile, the pool's userInfo with
// the user's token, sign-out through the domain's /logout with logout_uri;
// /admin for a member of a group (cognito:groups).
func TestCognitoEndToEnd(t *testing.T) {
	user := devprovider.User{ID: "8f1c2d3e-aaaa-bbbb-cccc-123456789abc", Username: "ada", Password: "pw", Name: "Ada", Email: "ada@example.com",
		Claims: map[string]any{"cognito:groups": []string{"admins"}}}
	a := newApp(t)
	g := emulate.NewCognito(t, a.hosts, "eu-west-1", "eu-west-1_AbCdEf123", "acme", time.Now, a.clients("cog-id", "cog-secret"), []devprovider.User{user})
	prov, err := providers.Cognito("eu-west-1", "eu-west-1_AbCdEf123", a.plumbing())
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{
		Provider: prov, ClientID: "cog-id", ClientSecret: "cog-secret",
		RedirectURL: a.url + "/auth/callback",
		Scopes:      []string{"openid", "profile", "email"},
	})
	if err != nil {
		t.Fatal(err)
	}
	const userinfo = "https://acme.auth.eu-west-1.amazoncognito.com/oauth2/userInfo"
	auth, err := middleware.Setup(t.Context(), a.test(middleware.Config{
		Clients: []*client.Client{c}, Keys: keys(),
		APIs: []middleware.API{{Name: "cognito", BaseURL: userinfo}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	a.serve(t, auth, userinfo, func(mux *http.ServeMux) {
		mux.Handle("/admin", auth.RequireWith(middleware.Claim("cognito:groups", "admins"))(named("admin")))
	})
	login := func(hc *http.Client, u string) (*url.URL, error) { return g.OP.Login(hc, u, user) }
	_, logout := signInOut(t, testenv.BrowserVia(a.hosts), a.url, login, user.ID)
	if u, err := url.Parse(logout); err != nil || u.Host != "acme.auth.eu-west-1.amazoncognito.com" || u.Path != "/logout" ||
		u.Query().Get("client_id") != "cog-id" || u.Query().Get("logout_uri") != a.url+"/" {
		t.Errorf("sign-out went to %q, want the domain's /logout with client_id and logout_uri", logout)
	}
	requireAdmin(t, a, "/admin", login, "admin: Ada\n")
}

// TestGitLabEndToEnd: docs/providers/gitlab.md against the GitLab emulator
// (which refuses offline_access): sign-in, profile, GitLab's userinfo with
// the user's token, sign-out; /ops for a member of a group, whose groups
// only userinfo lists.
func TestGitLabEndToEnd(t *testing.T) {
	user := devprovider.User{ID: "4242", Username: "ada", Password: "pw", Name: "Ada", Email: "ada@example.com",
		UserinfoOnly: map[string]any{"groups": []string{"acme/ops"}}}
	a := newApp(t)
	g := emulate.NewGitLab(t, a.hosts, time.Now, a.clients("gl-id", "gl-secret"), []devprovider.User{user})
	prov, err := providers.GitLab(a.plumbing())
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.Setup(t.Context(), a.test(middleware.Config{
		Provider: prov, ClientID: "gl-id", ClientSecret: "gl-secret", AppURL: a.url, Keys: keys(),
		APIs: []middleware.API{{Name: "gitlab", BaseURL: "https://gitlab.com/"}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	a.serve(t, auth, "https://gitlab.com/oauth/userinfo", func(mux *http.ServeMux) {
		mux.Handle("/ops", auth.RequireWith(middleware.Claim("groups", "acme/ops"))(named("ops")))
	})
	login := func(hc *http.Client, u string) (*url.URL, error) { return g.OP.Login(hc, u, user) }
	signInOut(t, testenv.BrowserVia(a.hosts), a.url, login, user.ID)
	requireAdmin(t, a, "/ops", login, "ops: Ada\n")
}

// TestAppleEndToEnd: docs/providers/apple.md (the .p8 key file, its Key ID,
// the Team ID, the Services ID) against the Apple emulator: the client
// secret a JWT the app signs, the form_post sign-in re-submitted from the
// app's origin, the name of the first sign-in as the user's name (never a
// claim), sign-out.
func TestAppleEndToEnd(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(t.TempDir(), "AuthKey_ABC123DEFG.p8")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	user := emulate.AppleUser{User: devprovider.User{ID: "001234.abcdef.0987", Username: "ada@privaterelay.appleid.com", Password: "pw",
		Email: "ada@privaterelay.appleid.com"}, First: "Ada", Last: "Lovelace"}
	a := newApp(t)
	apple := emulate.NewApple(t, a.hosts, time.Now, "com.example.web", a.url+"/auth/callback", key.Public(), "ABC123DEFG", "DEF123GHIJ",
		[]emulate.AppleUser{user})

	// As the page: the key read from its .p8 file.
	signer, err := readP8(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := providers.Apple(a.plumbing())
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{
		Provider: prov, ClientID: "com.example.web", RedirectURL: a.url + "/auth/callback",
		SecretJWT: &client.SecretJWT{Key: signer, KeyID: "ABC123DEFG", Issuer: "DEF123GHIJ"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var firstNames []string
	auth, err := middleware.Setup(t.Context(), a.test(middleware.Config{
		Clients: []*client.Client{c}, Keys: keys(),
		OnSignIn: func(_ context.Context, in *middleware.SignedIn) error {
			if in.User.Name != "" { // the first sign-in: keep the name now
				firstNames = append(firstNames, in.User.Name)
			}
			return nil
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	a.serve(t, auth, "", nil)

	hc := testenv.BrowserVia(a.hosts)
	resp := testenv.Do(t, hc, "GET", a.url+"/profile", "")
	cb, err := apple.OP.Login(hc, resp.Header.Get("Location"), user.User)
	if err != nil {
		t.Fatal(err)
	}
	fields := cb.Query()
	cb.RawQuery = ""
	for _, site := range []string{"cross-site", "same-origin"} { // Apple's page, then the app's
		req, _ := http.NewRequest("POST", cb.String(), strings.NewReader(fields.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", site)
		if resp, err = hc.Do(req); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/profile" {
		t.Fatalf("callback: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var claims map[string]any
	json.Unmarshal([]byte(testenv.Body(t, testenv.Do(t, hc, "GET", a.url+"/profile", "application/json"))), &claims)
	if claims["sub"] != user.ID || claims["name"] != nil {
		t.Errorf("profile claims %v, want sub %s and no name (the first sign-in's is unsigned: a display name only)", claims, user.ID)
	}
	if name := testenv.Body(t, testenv.Do(t, hc, "GET", a.url+"/name", "")); name != "Ada Lovelace" {
		t.Errorf("the user's name is %q, want the first sign-in's", name)
	}
	if len(firstNames) != 1 || firstNames[0] != "Ada Lovelace" {
		t.Errorf("OnSignIn saw the names %q, want the first sign-in's", firstNames)
	}
	if resp = testenv.Do(t, hc, "POST", a.url+"/auth/logout", ""); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if resp = testenv.Do(t, hc, "GET", a.url+"/profile", ""); resp.StatusCode != http.StatusFound {
		t.Errorf("/profile after logout: %d, want the sign-in again", resp.StatusCode)
	}
	if accepted, refused := apple.Secrets.Secrets(); accepted == 0 || refused != 0 {
		t.Errorf("client secrets: %d accepted, %d refused", accepted, refused)
	}
}

// readP8 reads an Apple .p8 key file as docs/providers/apple.md does.
func readP8(file string) (crypto.Signer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("APPLE_KEY_FILE holds no PEM block")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("APPLE_KEY_FILE: %T is not a signing key", key)
	}
	return signer, nil
}

// app is the app under test: its URL is known before it starts, so that
// the emulator can register its callback.
type app struct {
	srv   *httptest.Server
	url   string
	hosts *emulate.Hosts // the providers' hosts, for the SDK and the browser
}

func newApp(t *testing.T) *app {
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	return &app{srv: srv, url: "http://" + srv.Listener.Addr().String(), hosts: &emulate.Hosts{}}
}

// clients registers the app at an emulator, as every page says: the
// callback AppURL/auth/callback, the sign-out URL AppURL/.
func (a *app) clients(id, secret string) []devprovider.Client {
	return []devprovider.Client{{ID: id, Secret: secret, Redirects: []string{a.url + "/auth/callback"}, PostLogoutRedirects: []string{a.url + "/"}}}
}

// plumbing sends a preset's requests to the emulators.
func (a *app) plumbing() client.ProviderOption { return client.WithHTTPClient(a.hosts.Client()) }

// test adds the test's plumbing to a page's configuration: API calls to
// the emulators, the log collected for the secret scan.
func (a *app) test(cfg middleware.Config) middleware.Config {
	cfg.APITransport = a.hosts
	cfg.Logger = testenv.CollectLogger()
	return cfg
}

// serve starts the app with auth: /profile answers the user's claims, /name
// the user's name, /api what apiURL answered the user's token ({"status",
// "body"}); extra adds the page's own routes.
func (a *app) serve(t *testing.T, auth *middleware.Auth, apiURL string, extra func(*http.ServeMux)) {
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/profile", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(middleware.UserFrom(r.Context()).Claims)
	})))
	mux.Handle("/name", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, middleware.UserFrom(r.Context()).Name)
	})))
	mux.Handle("/api", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var out struct {
			Status int    `json:"status"`
			Body   string `json:"body"`
		}
		if resp, err := auth.HTTPClient(r).Get(apiURL); err != nil {
			out.Body = err.Error()
		} else {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			out.Status, out.Body = resp.StatusCode, string(b)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})))
	if extra != nil {
		extra(mux)
	}
	a.srv.Config.Handler = mux
	a.srv.Start()
}

// named answers "NAME: the user's name", behind a requirement.
func named(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s: %s\n", name, middleware.UserFrom(r.Context()).Name)
	})
}

type loginFunc func(hc *http.Client, authURL string) (*url.URL, error)

// signInOut signs in to the app at appURL with hc (a browser), login
// answering the provider's pages, and checks that /profile shows wantSub,
// that /api reaches the API with the user's token (its answer names
// wantSub), and that a sign-out ends the session. It returns the profile's
// claims and where the sign-out sent the browser.
func signInOut(t *testing.T, hc *http.Client, appURL string, login loginFunc, wantSub string) (claims map[string]any, logout string) {
	t.Helper()
	resp := testenv.Do(t, hc, "GET", appURL+"/profile", "")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("/profile: %d, want a redirect to the provider", resp.StatusCode)
	}
	claims = finishSignIn(t, hc, appURL, login, resp.Header.Get("Location"))
	if claims["sub"] != wantSub {
		t.Errorf("profile claims %v, want sub %s", claims, wantSub)
	}
	var api struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	json.Unmarshal([]byte(testenv.Body(t, testenv.Do(t, hc, "GET", appURL+"/api", "application/json"))), &api)
	if api.Status != http.StatusOK || !strings.Contains(api.Body, wantSub) {
		t.Errorf("/api: %+v, want 200 from the API about %s", api, wantSub)
	}
	if resp = testenv.Do(t, hc, "POST", appURL+"/auth/logout", ""); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	logout = resp.Header.Get("Location")
	if resp = testenv.Do(t, hc, "GET", appURL+"/profile", ""); resp.StatusCode != http.StatusFound {
		t.Errorf("/profile after logout: %d, want the sign-in again", resp.StatusCode)
	}
	return claims, logout
}

// finishSignIn runs login at authURL, follows the callback back to
// /profile and returns the claims it shows.
func finishSignIn(t *testing.T, hc *http.Client, appURL string, login loginFunc, authURL string) map[string]any {
	t.Helper()
	cb, err := login(hc, authURL)
	if err != nil {
		t.Fatal(err)
	}
	if resp := testenv.Do(t, hc, "GET", cb.String(), ""); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/profile" {
		t.Fatalf("callback: %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), testenv.Body(t, resp))
	}
	var claims map[string]any
	json.Unmarshal([]byte(testenv.Body(t, testenv.Do(t, hc, "GET", appURL+"/profile", "application/json"))), &claims)
	return claims
}

// signedIn returns a new browser signed in through path, which redirects
// it to the provider.
func signedIn(t *testing.T, a *app, path string, login loginFunc) *http.Client {
	t.Helper()
	hc := testenv.BrowserVia(a.hosts)
	resp := testenv.Do(t, hc, "GET", a.url+path, "")
	resp.Body.Close()
	cb, err := login(hc, resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	testenv.Body(t, testenv.Do(t, hc, "GET", cb.String(), ""))
	return hc
}

// requireAdmin checks that the user login signs in opens path, which
// answers want.
func requireAdmin(t *testing.T, a *app, path string, login loginFunc, want string) {
	t.Helper()
	hc := signedIn(t, a, path, login)
	resp := testenv.Do(t, hc, "GET", a.url+path, "")
	if body := testenv.Body(t, resp); resp.StatusCode != http.StatusOK || body != want {
		t.Errorf("%s: %d %q, want %q", path, resp.StatusCode, body, want)
	}
}

func mustQuery(t *testing.T, u string) url.Values {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query()
}

func keys() [][]byte { return [][]byte{session.NewKey()} }
