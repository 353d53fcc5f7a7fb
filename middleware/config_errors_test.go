package middleware_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// TestSessionTooLarge pins a review finding: a session over the cookie
// budget answered 503 "try again shortly", which never helps. It is a 500
// now, and the log names the cause and the ways out.
func TestSessionTooLarge(t *testing.T) {
	env, rec, logs := recordedEnv(t, testenv.Options{Cookie: func(c *session.CookieConfig) { c.MaxSize = 1000 }})
	hc := testenv.Browser()
	resp := env.SignIn(t, hc, "/profile")
	if resp.StatusCode != http.StatusInternalServerError || !errors.Is(rec.last(), session.ErrTooLarge) {
		t.Errorf("status %d, reason %v; want 500 and ErrTooLarge", resp.StatusCode, rec.last())
	}
	if resp.Header.Get("Retry-After") != "" {
		t.Error("a Retry-After for an error that retrying cannot fix")
	}
	if l := logs.String(); !strings.Contains(l, "redisstore.Store") || !strings.Contains(l, "budget 1000") {
		t.Errorf("the log does not say what to do: %s", l)
	}
}

// TestCallbackWithoutFlowCookie: a callback that brings no sign-in cookie
// at all (the sign-in began on another host name) says so, in the reason
// and on the page; starting on another host than the RedirectURL's is
// logged once.
func TestCallbackWithoutFlowCookie(t *testing.T) {
	env, rec, logs := recordedEnv(t, testenv.Options{})
	hc := testenv.Browser()
	authURL := env.StartLogin(t, hc, "/profile")
	cb := env.ProviderLogin(t, hc, authURL)
	hc.Jar, _ = cookieJar() // the callback reaches a host that never saw the sign-in
	resp := callback(t, env, hc, cb.String())
	if err := rec.last(); resp.StatusCode != http.StatusBadRequest || !errors.Is(err, fail.FlowCookieMissing) || !errors.Is(err, fail.StateMismatch) {
		t.Errorf("status %d, reason %v; want 400 and fail.FlowCookieMissing", resp.StatusCode, err)
	}
	// The default page says it in one sentence.
	page := testenv.New(t, testenv.Options{})
	hc2 := testenv.Browser()
	cb2 := page.ProviderLogin(t, hc2, page.StartLogin(t, hc2, "/profile"))
	hc2.Jar, _ = cookieJar()
	if _, body := page.Get(t, hc2, strings.TrimPrefix(cb2.String(), page.App.URL)); !strings.Contains(body, "did not send back the sign-in cookie") {
		t.Errorf("error page: %s", body)
	}
	// Sign-in started with another Host than the RedirectURL's.
	req, _ := http.NewRequest("GET", env.App.URL+"/auth/login", nil)
	req.Host = "localhost" + strings.TrimPrefix(env.App.URL, "http://127.0.0.1")
	for range 3 {
		r, err := testenv.Browser().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
	}
	if n := strings.Count(logs.String(), "request_host="); n != 1 {
		t.Errorf("host mismatch logged %d times, want once", n)
	}
}

// TestReady: Ready reports an unreachable provider (and New logs it), and
// nil once everything answers.
func TestReady(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	if err := env.Auth.Ready(context.Background()); err != nil {
		t.Errorf("Ready with the provider up: %v", err)
	}
	prov, err := client.Discover(context.Background(), "http://127.0.0.1:1/")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "x", ClientSecret: "y", RedirectURL: "http://localhost:8080/auth/callback"})
	if err != nil {
		t.Fatal(err)
	}
	var logs testenv.Buffer
	store, _ := newStore()
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, Logger: logTo(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "could not be reached at start") {
		t.Errorf("no warning at start: %s", logs.String())
	}
	if err := auth.Ready(context.Background()); !errors.Is(err, client.ErrProviderUnavailable) {
		t.Errorf("Ready: %v, want ErrProviderUnavailable", err)
	}
}

// TestForgedCallbackIsNotAHostMixUp: a callback without any sign-in cookie
// that the browser says was opened from the app's own page or typed
// (Sec-Fetch-Site same-origin or none) is a link not from the provider:
// refused as not valid for this browser, without the advice to open the
// app at another host; reached from another site, it keeps that advice.
func TestForgedCallbackIsNotAHostMixUp(t *testing.T) {
	env, rec, _ := recordedEnv(t, testenv.Options{})
	page := testenv.New(t, testenv.Options{}) // the default error page
	for _, tc := range []struct {
		site     string
		mixUp    bool
		pageSays string
	}{{"same-origin", false, "not valid for this browser"}, {"none", false, "not valid for this browser"},
		{"cross-site", true, "did not send back the sign-in cookie"}, {"", true, "did not send back the sign-in cookie"}} {
		forged := func(appURL string) (*http.Response, string) {
			req, _ := http.NewRequest("GET", appURL+"/auth/callback?state=forged-state&code=forged-code", nil)
			req.Header.Set("Accept", "text/html")
			if tc.site != "" {
				req.Header.Set("Sec-Fetch-Site", tc.site)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp, string(body)
		}
		resp, _ := forged(env.App.URL)
		err := rec.last()
		if resp.StatusCode != http.StatusBadRequest || !errors.Is(err, fail.StateMismatch) || errors.Is(err, fail.FlowCookieMissing) != tc.mixUp {
			t.Errorf("Sec-Fetch-Site %q: %d, %v; want 400, host mix-up %v", tc.site, resp.StatusCode, err, tc.mixUp)
		}
		if _, body := forged(page.App.URL); !strings.Contains(body, tc.pageSays) {
			t.Errorf("Sec-Fetch-Site %q: the page does not say %q: %s", tc.site, tc.pageSays, body)
		}
	}
	if n := env.OP.Count(devprovider.PathToken) + page.OP.Count(devprovider.PathToken); n != 0 {
		t.Errorf("%d token requests for forged callbacks", n)
	}
}
