package middleware_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestFormPostCallback: with ResponseMode form_post, a POST to the callback
// from another site gets a page that POSTs the response's fields again
// from the app's origin (escaped, nothing else carried over) and nothing
// more: no cookie read or set, no token request. The re-submitted POST
// checks the state first: one from a browser that started no sign-in is
// refused, and so is one with the provider's real code and a wrong state
// from a browser that holds the attempt's real flow cookie
// (fail.StateMismatch, not fail.FlowCookieMissing), with no token request, and
// the attempt still completes after it. A client without form_post
// refuses POST callbacks (405).
func TestFormPostCallback(t *testing.T) {
	var rec recordingErrors
	formPost := testenv.New(t, testenv.Options{Client: func(c *client.Config) { c.ResponseMode = "form_post" }, Middleware: rec.install})
	query := testenv.New(t, testenv.Options{})
	post := func(env *testenv.Env, form url.Values, site string) (*http.Response, string) {
		req, _ := http.NewRequest("POST", env.App.URL+"/auth/callback", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", site)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	tokens := formPost.OP.Count(devprovider.PathToken)
	hostile := `"><script>alert(1)</script>`
	form := url.Values{"code": {"forged-code"}, "state": {hostile}, "extra": {"dropped"}}

	resp, body := post(formPost, form, "cross-site")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<form id="resubmit" method="post"`) {
		t.Fatalf("cross-site POST: %d %q, want the re-submitting page", resp.StatusCode, body)
	}
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&#34;&gt;&lt;script&gt;") || strings.Contains(body, "dropped") {
		t.Errorf("the page does not carry exactly the escaped fields: %s", body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") || !strings.Contains(csp, "script-src 'nonce-") {
		t.Errorf("CSP %q", csp)
	}
	if len(resp.Header.Values("Set-Cookie")) != 0 || !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") {
		t.Errorf("the page set cookies (%q) or may be stored (%q)", resp.Header.Values("Set-Cookie"), resp.Header.Get("Cache-Control"))
	}

	resp, _ = post(formPost, form, "same-origin")
	if err := rec.last(); resp.StatusCode != http.StatusBadRequest || !errors.Is(err, fail.StateMismatch) {
		t.Errorf("re-submitted by a browser that started no sign-in: %d %v, want 400 fail.StateMismatch", resp.StatusCode, err)
	}
	if n := formPost.OP.Count(devprovider.PathToken) - tokens; n != 0 {
		t.Errorf("%d token requests for forged responses", n)
	}

	resp, _ = post(query, form, "same-origin")
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
		t.Errorf("a POST callback without form_post: %d, Allow %q; want 405, GET", resp.StatusCode, resp.Header.Get("Allow"))
	}

	// The whole sign-in, as a browser does it: the provider's page POSTs
	// from its site, the app's page POSTs again from the app's origin.
	hc := testenv.Browser()
	cb := formPost.ProviderLogin(t, hc, formPost.StartLogin(t, hc, "/profile"))
	fields := cb.Query()
	cb.RawQuery = ""
	if fields.Get("code") == "" || fields.Get("state") == "" {
		t.Fatalf("the provider's form_post page carried %v", fields)
	}
	submit := func(site string) *http.Response {
		req, _ := http.NewRequest("POST", cb.String(), strings.NewReader(fields.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", site)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	tokens = formPost.OP.Count(devprovider.PathToken)

	// The provider's real code with a wrong state, re-submitted from the
	// app's origin by the browser that holds the attempt's flow cookie:
	// refused for the state, before any token request.
	app, _ := url.Parse(formPost.App.URL)
	if len(hc.Jar.Cookies(app)) == 0 {
		t.Fatal("no flow cookie in the browser after the sign-in started")
	}
	state := []byte(fields.Get("state"))
	state[len(state)/2] ^= 1 // same length, one bit off
	wrong := url.Values{"code": {fields.Get("code")}, "state": {string(state)}, "iss": {fields.Get("iss")}}
	req, _ := http.NewRequest("POST", cb.String(), strings.NewReader(wrong.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a wrong state with the real flow cookie: %d to %q, want 400", resp.StatusCode, resp.Header.Get("Location"))
	} else if err := rec.last(); !errors.Is(err, fail.StateMismatch) || errors.Is(err, fail.FlowCookieMissing) {
		t.Errorf("a wrong state with the real flow cookie refused for %v, want fail.StateMismatch (not fail.FlowCookieMissing)", err)
	}
	if n := formPost.OP.Count(devprovider.PathToken) - tokens; n != 0 {
		t.Fatalf("%d token requests for a wrong state", n)
	}

	if resp := submit("cross-site"); resp.StatusCode != http.StatusOK || formPost.OP.Count(devprovider.PathToken) != tokens {
		t.Fatalf("the provider's POST: %d, %d token requests; want the page and none", resp.StatusCode, formPost.OP.Count(devprovider.PathToken)-tokens)
	}
	if resp := submit("same-origin"); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/profile" {
		t.Fatalf("the page's POST: %d to %q, want 302 to /profile", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := formPost.Get(t, hc, "/profile"); resp.StatusCode != http.StatusOK || !strings.Contains(body, devprovider.DemoUser.ID) {
		t.Errorf("/profile after a form_post sign-in: %d %s", resp.StatusCode, body)
	}
	if n := formPost.OP.Count(devprovider.PathToken) - tokens; n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

// TestFormPostOriginFallback (mutation audit, issue 34): a browser that
// sends no Fetch Metadata is told apart by Origin alone. Without
// Sec-Fetch-Site, the provider's POST (its Origin, "null", or none) gets
// the re-submitting page, with no token request and no cookie set, though
// the browser holds the attempt's flow cookie; the page's POST (the app's
// own Origin) completes the sign-in with one token request.
func TestFormPostOriginFallback(t *testing.T) {
	env := testenv.New(t, testenv.Options{Client: func(c *client.Config) { c.ResponseMode = "form_post" }})
	hc := testenv.Browser()
	cb := env.ProviderLogin(t, hc, env.StartLogin(t, hc, "/profile"))
	fields := cb.Query()
	cb.RawQuery = ""
	if fields.Get("code") == "" || fields.Get("state") == "" {
		t.Fatalf("the provider's form_post page carried %v", fields)
	}
	op, _ := url.Parse(env.OP.Issuer)
	submit := func(origin string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", cb.String(), strings.NewReader(fields.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	tokens := env.OP.Count(devprovider.PathToken)
	for _, tc := range []struct{ name, origin string }{
		{"the provider's Origin", op.Scheme + "://" + op.Host},
		{"Origin null", "null"},
		{"no Origin", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := submit(tc.origin)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<form id="resubmit" method="post"`) {
				t.Errorf("%d %q, want the re-submitting page", resp.StatusCode, resp.Header.Get("Location"))
			}
			if n := len(resp.Header.Values("Set-Cookie")); n != 0 {
				t.Errorf("%d cookies set", n)
			}
			if n := env.OP.Count(devprovider.PathToken) - tokens; n != 0 {
				t.Fatalf("%d token requests", n)
			}
		})
	}
	resp, _ := submit(env.App.URL)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/profile" {
		t.Fatalf("the app's Origin: %d to %q, want 302 to /profile", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := env.OP.Count(devprovider.PathToken) - tokens; n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	if resp, body := env.Get(t, hc, "/profile"); resp.StatusCode != http.StatusOK || !strings.Contains(body, devprovider.DemoUser.ID) {
		t.Errorf("/profile after the sign-in: %d %s", resp.StatusCode, body)
	}
}
