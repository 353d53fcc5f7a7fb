package middleware_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// TestLoginParams: /auth/login passes on the allow-listed authorization
// parameters of an OpenID Connect provider (generic discovery dropped them
// all before), never others, and none when LoginParams is empty.
func TestLoginParams(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params []string
		want   url.Values
	}{
		{"default", nil, url.Values{"prompt": {"login"}, "login_hint": {"ada@example.com"}, "ui_locales": {"de"}, "max_age": {"600"}, "acr_values": {"urn:x"}}},
		// prompt=consent: asked for offline_access (OIDC Core 11).
		{"configured", []string{"login_hint"}, url.Values{"login_hint": {"ada@example.com"}, "prompt": {"consent"}}},
		{"none", []string{}, url.Values{"prompt": {"consent"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testenv.New(t, testenv.Options{Client: func(c *client.Config) { c.LoginParams = tc.params }})
			hc := testenv.Browser()
			q := "/auth/login?prompt=login&login_hint=ada%40example.com&ui_locales=de&max_age=600&acr_values=urn:x&foo=bar&redirect_uri=https://evil.example/&" +
				"organization=" + strings.Repeat("o", 600)
			resp, _ := env.Get(t, hc, q)
			u, _ := url.Parse(resp.Header.Get("Location"))
			got := u.Query()
			for _, k := range []string{"prompt", "login_hint", "ui_locales", "max_age", "acr_values", "foo", "organization"} {
				if got.Get(k) != tc.want.Get(k) {
					t.Errorf("%s = %q, want %q", k, got.Get(k), tc.want.Get(k))
				}
			}
			if !strings.HasPrefix(got.Get("redirect_uri"), env.App.URL) {
				t.Errorf("redirect_uri overridden: %s", u)
			}
		})
	}
}

// TestStepUp runs step-up against oidc-provider: a route that needs a
// multi-factor acr sends a password session through sign-in again with
// acr_values and back to the page; an ID token without that acr is refused;
// a route with MaxAge makes the provider ask for the credentials again; an
// API call gets the RFC 9470 challenge instead of a redirect.
func TestStepUp(t *testing.T) {
	const mfa = "urn:confidant:mfa"
	var rec recordingErrors
	s := newCertified(t, certifiedOptions{mw: rec.install})
	app := s.app
	app.Mux.Handle("/admin", app.Auth.RequireWith(middleware.ACR(mfa))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c struct{ ACR string }
		middleware.UserFrom(r.Context()).DecodeClaims(&c)
		fmt.Fprint(w, "admin with ", c.ACR)
	})))
	app.Mux.Handle("/recent", app.Auth.RequireWith(middleware.MaxAge(time.Second))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "recent") })))

	hc := s.signIn(t, "alice") // acr urn:confidant:pwd

	// An API call of the app's own gets the challenge.
	req, _ := http.NewRequest("GET", app.URL+"/admin", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ch := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || !strings.Contains(ch, `error="insufficient_user_authentication"`) || !strings.Contains(ch, `acr_values="`+mfa+`"`) {
		t.Errorf("API call: %d %q", resp.StatusCode, ch)
	}

	// A browser is sent to the provider with acr_values; a sign-in with
	// only a password is refused, one with the second factor gets in.
	for _, acr := range []string{"urn:confidant:pwd", mfa} {
		resp, _ := get(t, hc, app.URL+"/admin")
		authURL, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || authURL.Query().Get("acr_values") != mfa || authURL.Query().Get("max_age") != "0" {
			t.Fatalf("/admin: %d to %s, want the provider with acr_values", resp.StatusCode, authURL)
		}
		s.op.ACR = acr
		cb, err := s.op.Login(hc, authURL.String(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		resp, body := get(t, hc, cb.String())
		if acr != mfa {
			if resp.StatusCode != http.StatusUnauthorized || !errors.Is(rec.last(), client.ErrInsufficientAuthentication) {
				t.Errorf("callback with acr %s: %d, reason %v; want 401 ErrInsufficientAuthentication", acr, resp.StatusCode, rec.last())
			}
			continue
		}
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/admin" {
			t.Fatalf("callback: %d to %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
	}
	if _, body := get(t, hc, app.URL+"/admin"); body != "admin with "+mfa {
		t.Errorf("/admin after step-up: %q", body)
	}

	// MaxAge: a sign-in older than a second (auth_time is in whole
	// seconds, so 2 s) is sent back with max_age=1, and the provider asks
	// for the credentials again.
	time.Sleep(2100 * time.Millisecond)
	resp, _ = get(t, hc, app.URL+"/recent")
	authURL, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || authURL.Query().Get("max_age") != "1" {
		t.Fatalf("/recent: %d to %s, want the provider with max_age=1", resp.StatusCode, authURL)
	}
	logins := s.op.Counts(t)["_logins"]
	cb, err := s.op.Login(hc, authURL.String(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if n := s.op.Counts(t)["_logins"] - logins; n != 1 {
		t.Errorf("the provider asked for credentials %d times, want 1", n)
	}
	if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/recent" {
		t.Fatalf("callback: %d to %q %s (reason %v)", resp.StatusCode, resp.Header.Get("Location"), body, rec.last())
	}
	if _, body := get(t, hc, app.URL+"/recent"); body != "recent" {
		t.Errorf("/recent after a new login: %q", body)
	}
}

// TestStepUpFromAPI: an API that answers 401 with RFC 9470's
// insufficient_user_authentication makes the bearer client fail with a
// *StepUpError (no refresh: it would not help), and Auth.StepUp turns it
// into a sign-in with the API's acr_values and max_age, back to the page.
func TestStepUpFromAPI(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", error_description="need mfa", acr_values="urn:confidant:mfa", max_age=300`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer api.Close()
	s := newCertified(t, certifiedOptions{mw: func(c *middleware.Config) {
		c.APIs = append(c.APIs, middleware.API{Name: "strict", BaseURL: api.URL + "/"})
	}})
	s.app.APIs = map[string]string{"certified": api.URL + "/orders"}
	hc := s.signIn(t, "alice")
	before := s.op.Counts(t)["/token"]

	req, _ := http.NewRequest("GET", s.app.URL+"/api", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	authURL, _ := url.Parse(resp.Header.Get("Location"))
	q := authURL.Query()
	if resp.StatusCode != http.StatusFound || q.Get("acr_values") != "urn:confidant:mfa" || q.Get("max_age") != "300" {
		t.Errorf("/api: %d to %s, want the provider with the API's acr_values and max_age", resp.StatusCode, authURL)
	}
	if n := s.op.Counts(t)["/token"] - before; n != 0 {
		t.Errorf("%d token requests: a refresh cannot raise the authentication", n)
	}
	if status, body := testenv.APIRequest(t, hc, s.app.URL); status != http.StatusUnauthorized || !strings.Contains(body, "insufficient_user_authentication") {
		t.Errorf("fetch of /api: %d %s, want 401 insufficient_user_authentication", status, body)
	}
}

// TestSilentSignIn (Config.SilentSignIn, against oidc-provider): an
// Optional page opened without a session tries prompt=none once; a user not
// signed in at the provider comes back anonymous, with no error page and no
// second attempt; a user still signed in at the provider comes back signed
// in without entering credentials; after sign-out no silent attempt signs
// the user back in.
func TestSilentSignIn(t *testing.T) {
	var rec recordingErrors
	s := newCertified(t, certifiedOptions{mw: func(c *middleware.Config) { c.SilentSignIn = true; rec.install(c) }})
	appURL := mustURL(s.app.URL)

	// Not signed in at the provider.
	hc := testenv.Browser()
	resp, _ := get(t, hc, s.app.URL+"/whoami")
	authURL, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || authURL.Query().Get("prompt") != "none" {
		t.Fatalf("/whoami: %d to %s, want a prompt=none sign-in", resp.StatusCode, authURL)
	}
	cb, err := s.op.Login(hc, authURL.String(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if cb.Query().Get("error") != "login_required" {
		t.Fatalf("the provider answered %s, want login_required", cb)
	}
	if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/whoami" {
		t.Fatalf("callback: %d to %q %s, want back to the page", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if resp, who := get(t, hc, s.app.URL+"/whoami"); resp.StatusCode != http.StatusOK || who != "anonymous" {
		t.Errorf("after login_required: %d %q, want anonymous without a second attempt", resp.StatusCode, who)
	}
	if err := rec.last(); err != nil {
		t.Errorf("error page: %v", err)
	}

	// Signed in at the provider, not at the app (a new browser session of
	// the app: its cookies are gone, the provider's are not).
	hc = s.signIn(t, "alice")
	var keep []*http.Cookie
	for _, c := range hc.Jar.Cookies(appURL) {
		if !strings.HasPrefix(c.Name, "confidant") {
			keep = append(keep, c)
		}
	}
	hc.Jar, _ = cookieJar()
	hc.Jar.SetCookies(appURL, keep)
	logins := s.op.Counts(t)["_logins"]
	resp, _ = get(t, hc, s.app.URL+"/whoami")
	if cb, err = s.op.Login(hc, resp.Header.Get("Location"), "alice"); err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d %s (%v)", resp.StatusCode, body, rec.last())
	}
	if who := s.whoami(t, hc); who != "certified:alice" || s.op.Counts(t)["_logins"] != logins {
		t.Errorf("silent sign-in: %q after %d logins, want signed in without one", who, s.op.Counts(t)["_logins"]-logins)
	}

	// Signed out: no silent sign-in brings the user back.
	resp, err = hc.Post(s.app.URL+"/auth/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp, who := get(t, hc, s.app.URL+"/whoami"); resp.StatusCode != http.StatusOK || who != "anonymous" {
		t.Errorf("after sign-out: %d %q, want anonymous and no silent attempt", resp.StatusCode, who)
	}
}

// TestStepUpBounded (attack review, finding 7): an API whose RFC 9470
// challenge names neither acr_values nor max_age sent the browser through
// the provider, whose session signed it straight back in, and the API
// refused again: a loop. The step-up now asks for a new authentication
// (max_age=0), and a session made by a step-up moments ago that the API
// still refuses goes to the error handler instead of another round.
func TestStepUpBounded(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer api.Close()
	var rec recordingErrors
	env := testenv.New(t, testenv.Options{Middleware: func(c *middleware.Config) {
		rec.install(c)
		c.APIs = append(c.APIs, middleware.API{Name: "picky", BaseURL: api.URL + "/"})
	}})
	env.Mux.Handle("/picky", env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := env.Auth.HTTPClient(r).Get(api.URL + "/x")
		if env.Auth.StepUp(w, r, err) {
			return
		}
		http.Error(w, "unexpected", http.StatusInternalServerError)
	})))
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")

	resp, _ := env.Get(t, hc, "/picky")
	authURL, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || authURL.Query().Get("max_age") != "0" {
		t.Fatalf("/picky: %d to %s, want a sign-in with max_age=0", resp.StatusCode, authURL)
	}
	cb := env.ProviderLogin(t, hc, authURL)
	if resp, _ = env.Get(t, hc, strings.TrimPrefix(cb.String(), env.App.URL)); resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d (%v)", resp.StatusCode, rec.last())
	}
	resp, _ = env.Get(t, hc, "/picky")
	if resp.StatusCode != http.StatusUnauthorized || !errors.Is(rec.last(), client.ErrInsufficientAuthentication) {
		t.Errorf("/picky right after the step-up: %d to %q (%v); want 401 from the error handler, not another sign-in",
			resp.StatusCode, resp.Header.Get("Location"), rec.last())
	}
}
