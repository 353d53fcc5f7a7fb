package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// TestTLSProductionSetup runs the README's production setup end to end
// over TLS on loopback: an https RedirectURL, so Secure cookies with the
// __Host- prefix (session and sign-in cookies alike), through a whole
// sign-in, a refresh and a sign-out. Every other end-to-end test runs on
// plain http, where the cookies are neither.
func TestTLSProductionSetup(t *testing.T) {
	clock := &testenv.Clock{}
	op, err := devprovider.Start(devprovider.Config{Clients: []devprovider.Client{{ID: "app", Secret: "app-secret"}}, Now: clock.Now,
		AccessTokenLifetime: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	api := httptest.NewServer(op.NewAPI())
	t.Cleanup(api.Close)
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	appURL := srv.URL // https://127.0.0.1:PORT
	op.AddRedirect("app", appURL+"/auth/callback")

	prov, err := client.Discover(t.Context(), op.Issuer, client.WithName("op"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "app", ClientSecret: "app-secret", Now: clock.Now,
		RedirectURL: appURL + "/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}})
	if err != nil {
		t.Fatal(err)
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, Now: clock.Now,
		APIs:   []middleware.API{{Name: "api", BaseURL: api.URL}},
		Logger: testenv.CollectLogger(), OnEvent: testenv.CollectEvent})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = testenv.Routes(auth, func(*confidant.User) string { return api.URL }, func(u *confidant.User) string { return u.Subject })

	hc := testenv.BrowserVia(srv.Client().Transport) // trusts the test certificate
	jar := hc.Jar
	hostCookies := func(resp *http.Response, what string) {
		t.Helper()
		for _, ck := range resp.Cookies() {
			if !strings.HasPrefix(ck.Name, "__Host-") || !ck.Secure || !ck.HttpOnly || ck.Path != "/" || ck.Domain != "" {
				t.Errorf("%s: cookie %s secure=%v httponly=%v path=%q domain=%q; want __Host-, Secure, HttpOnly, Path=/, no Domain",
					what, ck.Name, ck.Secure, ck.HttpOnly, ck.Path, ck.Domain)
			}
		}
	}

	// Sign-in.
	resp, _ := get(t, hc, appURL+"/profile")
	if resp.StatusCode != http.StatusFound || len(resp.Cookies()) == 0 {
		t.Fatalf("/profile: %d with %d cookies, want a redirect that sets the sign-in cookie", resp.StatusCode, len(resp.Cookies()))
	}
	hostCookies(resp, "sign-in start")
	cb, err := op.Login(hc, resp.Header.Get("Location"), devprovider.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cb.String(), "https://") {
		t.Fatalf("callback %s, want https", cb)
	}
	resp, body := get(t, hc, cb.String())
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d %s", resp.StatusCode, body)
	}
	hostCookies(resp, "callback")
	if who := whoami(t, hc, appURL); who != devprovider.DemoUser.ID {
		t.Fatalf("whoami %q", who)
	}

	// Refresh: the token falls due; the new session comes back the same way.
	sess, err := testenv.LoadCookies(store, jar.Cookies(mustURL(appURL)))
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(sess.Expiry.Add(-30 * time.Second))
	before := op.Count(devprovider.PathToken)
	resp, body = get(t, hc, appURL+"/api")
	if resp.StatusCode != http.StatusOK || op.Count(devprovider.PathToken)-before != 1 {
		t.Fatalf("/api when due: %d %s, %d token requests", resp.StatusCode, body, op.Count(devprovider.PathToken)-before)
	}
	hostCookies(resp, "refresh")
	if len(resp.Cookies()) == 0 {
		t.Error("the refreshed session was not written back")
	}

	// Sign-out, a same-origin POST.
	req, _ := http.NewRequest("POST", appURL+"/auth/logout", nil)
	req.Header.Set("Origin", appURL)
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	hostCookies(resp, "sign-out")
	if who := whoami(t, hc, appURL); who != "anonymous" {
		t.Errorf("after sign-out: %q", who)
	}
	if n := op.RevokedRefreshTokens(); n != 1 {
		t.Errorf("%d refresh tokens revoked, want 1", n)
	}
}
