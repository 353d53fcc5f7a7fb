package middleware_test

// Attack review of connected APIs (#37): each test fails on the code as
// reviewed, for the reason its comment gives.

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/certop"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// TestAttack37OtherAppClobbersGrants: two apps (staging and production,
// say: the threat model of TestAppsSharingKeysRefuseEachOther) on one
// sign-in provider, with the same API name, share a Redis deny list under
// its default prefix. Grants are sealed for the app (the AAD names it),
// but their Redis key is the user's alone (hash of provider and subject):
// the other app sees the production grant in Connections, and its
// Disconnect (or EndUserSessions, or a connect of its own) deletes or
// overwrites it. The production grant is gone without being revoked: its
// refresh token stays live at the API's provider, out of anyone's reach.
func TestAttack37OtherAppClobbersGrants(t *testing.T) {
	c := newConnected(t)
	alice := c.signIn(t, "alice")
	if back := c.connect(t, alice); back != "/api2" {
		t.Fatalf("connect came back to %q", back)
	}

	// The other app: its own origin, its own keys, the same Redis.
	const other = "http://staging.localhost:8081"
	var api2Client *client.Client
	for _, api := range c.cfg.APIs {
		if api.Name == "api2" {
			api2Client = api.Client
		}
	}
	signin, err := client.New(client.Config{Provider: c.cfg.Clients[0].Provider(), ClientID: "app", ClientSecret: "app-secret-value-never-logged",
		RedirectURL: other + "/auth/callback", Now: c.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	api2, err := client.New(client.Config{Provider: api2Client.Provider(), ClientID: "api2", ClientSecret: "api2-secret-value-never-logged",
		RedirectURL: other + "/auth/callback", Now: c.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.cfg
	cfg.Clients = []*client.Client{signin}
	cfg.APIs = []middleware.API{{Name: "api2", BaseURL: c.api2At, Client: api2, Scopes: []string{"openid"}}}
	cfg.Store = store
	staging, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}

	if names, err := staging.Connections(t.Context(), "certified", "alice"); err != nil || len(names) != 0 {
		t.Errorf("the other app lists production's grant as its own: Connections = %v, %v; want none", names, err)
	}
	revoked := c.op2.RevokedRefreshTokens()
	if err := staging.Disconnect(t.Context(), "certified", "alice", "api2"); err != nil {
		t.Fatal(err)
	}
	resp, err := c.app.Auth.ClientFor("certified", "alice").Get(c.api2At)
	if err != nil {
		t.Errorf("production's grant after the other app's Disconnect: %v (revoked at the API's provider: %d); want it untouched",
			err, c.op2.RevokedRefreshTokens()-revoked)
		return
	}
	resp.Body.Close()
}

// TestAttack37CrossSiteConnectRelinks: a page on any site navigates a
// signed-in user who already connected the API to /auth/connect (a plain
// top-level GET: the Lax session cookie comes with it). The app starts a
// connect flow at once; an authorization server that answers from its own
// browser session (GitHub and most plain OAuth 2.0 servers do for a
// client already authorized, and no prompt is sent to those: prompt=consent
// goes only to OpenID providers listing offline_access; the in-process
// provider here answers without interaction) sends the code back, and the
// callback replaces the user's grant and revokes the old one. When that
// browser session is another account's (a shared computer, a second
// account, a login CSRF at the API's server), the user's app account is
// silently linked to it: background jobs then read from, or write the
// user's data to, the attacker's account.
func TestAttack37CrossSiteConnectRelinks(t *testing.T) {
	mallory := devprovider.User{ID: "u-6666", Username: "mallory", Password: "mallory", Name: "Mal Lory", Email: "mal@example.com"}
	c := newConnectedWith(t, connectedOptions{users: []devprovider.User{devprovider.DemoUser, mallory}})
	alice := c.signIn(t, "alice")
	if back := c.connect(t, alice); back != "/api2" {
		t.Fatalf("connect came back to %q", back)
	}
	if status, body := c.api2JSON(t, alice); status != 200 || !strings.Contains(body, `"sub":"`+devprovider.DemoUser.ID+`"`) {
		t.Fatalf("/api2 connected: %d %s", status, body)
	}

	// Mallory's browser session at the API's server (her own sign-in there,
	// through a connect of her own account at the app) ends up in alice's
	// browser: a login CSRF at that server.
	att := c.signIn(t, "bob")
	cb, err := c.op2.Login(att, c.startConnect(t, att).String(), mallory)
	if err != nil || cb == nil {
		t.Fatal(err)
	}
	op2URL := mustURL(c.op2.Issuer)
	for _, ck := range att.Jar.Cookies(op2URL) {
		if ck.Name == "testop_sso" {
			alice.Jar.SetCookies(op2URL, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/"}})
		}
	}

	// The attacker's page: a top-level navigation to /auth/connect.
	revoked := c.op2.RevokedRefreshTokens()
	req, _ := http.NewRequest("GET", c.app.URL+"/auth/connect?api=api2&return_to=%2Fapi2", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-Dest", "document")
	resp, err := alice.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page := testenv.Body(t, resp)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, c.op2.Issuer) {
		// Confirmed on a page of the app's own, which cannot be framed,
		// whose link (a same-origin navigation) starts the flow.
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Frame-Options") != "DENY" ||
			!strings.Contains(page, `href="/auth/connect?api=api2&amp;return_to=%2Fapi2"`) {
			t.Fatalf("cross-site /auth/connect: %d %q, want the confirmation page", resp.StatusCode, page)
		}
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := alice.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), c.op2.Issuer) {
			t.Fatalf("the confirmation's link: %d to %q, want the API's server", resp.StatusCode, resp.Header.Get("Location"))
		}
		if n := c.op2.RevokedRefreshTokens() - revoked; n != 0 {
			t.Fatalf("%d revocations before anyone confirmed", n)
		}
		return
	}
	// No credentials typed: the API's server answers from its session.
	noFollow := *alice
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	next := loc
	for range 10 {
		r, err := noFollow.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		l, _ := r.Request.URL.Parse(r.Header.Get("Location"))
		if r.StatusCode/100 != 3 || l == nil {
			t.Fatalf("the API's server asked for interaction (%d): the attack needs a click", r.StatusCode)
		}
		next = l.String()
		if strings.HasPrefix(next, c.app.URL) {
			break
		}
	}
	resp = testenv.Do(t, alice, "GET", next, "text/html")
	resp.Body.Close()
	status, body := c.api2JSON(t, alice)
	t.Errorf("a cross-site navigation to /auth/connect (Sec-Fetch-Site: cross-site) for an API alice had connected went straight to the API's server (302 to %s),\n"+
		"and with no interaction her grant was replaced (callback %d to %q) and the old one revoked (%d revocation(s)); /api2 now answers %d %s (the grant was for %q)",
		hostPathOf(loc), resp.StatusCode, resp.Header.Get("Location"), c.op2.RevokedRefreshTokens()-revoked, status, strings.TrimSpace(body), devprovider.DemoUser.ID)
}

func hostPathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// TestAttack37RevokedGrantOnRequestPath: the guide says that when the API's
// server refuses the grant's refresh token (invalid_grant) "the grant is
// deleted, and the call fails with ErrNotConnected carrying the server's
// *client.TokenError", and ClientFor does so. HTTPClient, on the same
// refusal after an API's 401, deletes the grant but hands the handler the
// API's 401 with a nil error: StepUp does nothing, the page shows the
// API's error, and a JSON client gets no not_connected / login_url.
func TestAttack37RevokedGrantOnRequestPath(t *testing.T) {
	c := newConnected(t)
	alice := c.signIn(t, "alice")
	if back := c.connect(t, alice); back != "/api2" {
		t.Fatalf("connect came back to %q", back)
	}
	if status, body := c.api2JSON(t, alice); status != 200 {
		t.Fatalf("/api2 connected: %d %s", status, body)
	}
	// The user revoked the app at the API's server: its access tokens are
	// refused, and so is the refresh token.
	c.op2.RevokeAccessTokens()
	c.op2.SetFault(devprovider.PathToken, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"invalid_grant","error_description":"grant revoked"}`)
	})
	status, body := c.api2JSON(t, alice)
	if status != http.StatusUnauthorized || !strings.Contains(body, `"not_connected"`) {
		names, _ := c.app.Auth.Connections(t.Context(), "certified", "alice")
		t.Errorf("/api2 (HTTPClient) when the API's server refused the grant: %d %s; want 401 not_connected with login_url (the grant was deleted meanwhile: Connections = %v)",
			status, strings.TrimSpace(body), names)
	}
}

// TestAttack37GrantRefreshPanicRecovered: a grant's refresh runs in a
// goroutine of its own (grantToken's flight), which recovers nothing: a
// panic there (a custom transport's bug, as TestRefreshPanicRecovered has
// for sessions) ends the process, every user's requests with it. The
// scenario runs in a child process, which the panic kills.
func TestAttack37GrantRefreshPanicRecovered(t *testing.T) {
	if os.Getenv("ATTACK37_PANIC_CHILD") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAttack37GrantRefreshPanicRecovered$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "ATTACK37_PANIC_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			var lines []string
			for _, l := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(l, "panic:") || strings.Contains(l, "grants.go") || strings.Contains(l, "attack37") || strings.HasPrefix(l, "FAIL") {
					lines = append(lines, l)
				}
			}
			t.Fatalf("the child process (a worker calling ClientFor while its grant's refresh panics) ended: %v\n%s", err, strings.Join(lines, "\n"))
		}
		return
	}
	tr := &panicky{}
	c := newConnectedWith(t, connectedOptions{tr: tr})
	alice := c.signIn(t, "alice")
	if back := c.connect(t, alice); back != "/api2" {
		t.Fatalf("connect came back to %q", back)
	}
	worker := c.instance(t)
	c.clock.Add(5 * time.Minute) // the grant is due
	tr.on.Store(true)
	_, err := worker.ClientFor("certified", "alice").Get(c.api2At)
	if err == nil || errors.Is(err, middleware.ErrNotConnected) {
		t.Errorf("while the refresh panics: %v, want a transient error (the grant kept)", err)
	}
	tr.on.Store(false)
	resp, err := worker.ClientFor("certified", "alice").Get(c.api2At)
	if err != nil {
		t.Fatalf("afterwards: %v", err)
	}
	resp.Body.Close()
}

// TestAttack37RetiredKeyOrphansGrant: grants are sealed with the session
// keys, whose rotation is paced by cookies (a new key first; the old one
// dropped "once cookies sealed with it have expired", a week or so). A
// grant lives for months and is re-sealed only when its access token is
// refreshed: a grant left unused while the old key was still listed
// cannot be opened once it is dropped. It is then "as if none": the user
// is silently disconnected, Connections still lists it, and
// EndUserSessions / Disconnect delete it without revoking it, leaving its
// refresh token live at the API's provider, where no one can revoke it
// (the guide: "the grants end too, their refresh tokens revoked").
func TestAttack37RetiredKeyOrphansGrant(t *testing.T) {
	k1, k2 := testenv.NewKey(), testenv.NewKey()
	c := newConnectedWith(t, connectedOptions{mw: func(cfg *middleware.Config) { cfg.Keys = [][]byte{k1} }})
	alice := c.signIn(t, "alice")
	if back := c.connect(t, alice); back != "/api2" {
		t.Fatalf("connect came back to %q", back)
	}
	with := func(keys ...[]byte) *middleware.Auth {
		cfg := c.cfg
		cfg.Keys = keys
		a, err := middleware.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	// Rotation, step one: the new key first, the old one still listed; the
	// worker uses the grant (its token not due).
	resp, err := with(k2, k1).ClientFor("certified", "alice").Get(c.api2At)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Step two, once the cookies sealed with k1 have expired: k1 dropped.
	rotated := with(k2)
	names, _ := rotated.Connections(t.Context(), "certified", "alice")
	_, callErr := rotated.ClientFor("certified", "alice").Get(c.api2At)
	revoked := c.op2.RevokedRefreshTokens()
	if err := rotated.EndUserSessions(t.Context(), "certified", "alice"); err != nil {
		t.Fatal(err)
	}
	if n := c.op2.RevokedRefreshTokens() - revoked; n != 1 {
		t.Errorf("after the key rotation: Connections = %v but a call gives %v; sign-out everywhere revoked %d refresh tokens at the API's provider, want 1 (the grant's refresh token is left live, unreachable)",
			names, callErr, n)
	}
}

// TestAttack37ProxyConnectedAPI: Proxy of a connected API.
//
// First, the user: Proxy serves through prepare, never withSession, so
// reqSession.user is the zero User and grantToken looks the grant up for
// userRef("", "") — one identity shared by every user, never the signed-in
// one. A connected user's every proxied call answers 401
// token_unavailable (with no login_url to connect).
//
// Then, with that one line fixed locally (grantToken from st.current()'s
// User): the call goes out over the sign-in client's transport
// (transportFor), not over the connected API client's (connRT) as
// HTTPClient and ClientFor do, so without the API client's certificate
// (its tokens may be bound to it, RFC 8705), and with the sign-in client's
// certificate, when it has one, to the other organization's API.
func TestAttack37ProxyConnectedAPI(t *testing.T) {
	cert := certop.SelfSigned(t, "api2-client")
	c := newConnectedWith(t, connectedOptions{tlsAPI: true, cert: &cert, api: func(c *connected) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sub, ok := c.api2.Subject(w, r)
			if !ok {
				return
			}
			presented := "none"
			if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
				presented = r.TLS.PeerCertificates[0].Subject.CommonName
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"sub":"`+sub+`","certificate":"`+presented+`"}`)
		})
	}})
	c.app.Mux.Handle("/bff/api2/", http.StripPrefix("/bff/api2", c.app.Auth.Proxy("api2")))
	alice := c.signIn(t, "alice")
	if back := c.connect(t, alice); back != "/api2" {
		t.Fatalf("connect came back to %q", back)
	}
	status, direct := c.api2JSON(t, alice)
	if status != 200 || !strings.Contains(direct, `"certificate":"api2-client"`) {
		t.Fatalf("HTTPClient: %d %s", status, direct)
	}
	req, _ := http.NewRequest("GET", c.app.URL+"/bff/api2/", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set(middleware.AntiForgeryHeader, "1")
	resp, err := alice.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	proxied := testenv.Body(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(proxied, `"sub":"`+devprovider.DemoUser.ID+`"`) {
		t.Fatalf("the connected API through Proxy, for alice who connected it: %d %s; HTTPClient, same request: %s", resp.StatusCode, strings.TrimSpace(proxied), strings.TrimSpace(direct))
	}
	if !strings.Contains(proxied, `"certificate":"api2-client"`) {
		t.Errorf("the same API through Proxy: %d %s; HTTPClient presented the API client's certificate: %s", resp.StatusCode, strings.TrimSpace(proxied), strings.TrimSpace(direct))
	}
}

// TestAttack37ConnectedAPIStepUpGoesToSignInProvider: a connected API is
// another organization's, on its own authorization server. Its 401 with
// insufficient_user_authentication (RFC 9470) is handled as the sign-in
// API's: StepUp sends the user to sign in again at the sign-in provider,
// with the acr_values / max_age that the other organization's API chose;
// the new sign-in cannot change the connected grant's token, so the page
// then fails ("still refuses right after a step-up"). The challenge
// belongs to the API's own server (a new connect with those parameters),
// or is the API's plain 401.
func TestAttack37ConnectedAPIStepUpGoesToSignInProvider(t *testing.T) {
	c := newConnectedWith(t, connectedOptions{api: func(c *connected) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := c.api2.Subject(w, r); !ok {
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", acr_values="urn:partner:chosen", max_age="0"`)
			w.WriteHeader(http.StatusUnauthorized)
		})
	}})
	alice := c.signIn(t, "alice")
	if back := c.connect(t, alice); back != "/api2" {
		t.Fatalf("connect came back to %q", back)
	}
	resp := testenv.Do(t, alice, "GET", c.app.URL+"/api2", "text/html")
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode == http.StatusFound && strings.HasPrefix(loc, c.op.Issuer) {
		u, _ := url.Parse(loc)
		t.Errorf("the connected API's step-up challenge sent the user to sign in again at the sign-in provider (%s, acr_values %q, max_age %q, prompt %q)",
			hostPathOf(loc), u.Query().Get("acr_values"), u.Query().Get("max_age"), u.Query().Get("prompt"))
	}
}
