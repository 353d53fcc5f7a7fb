package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/testkit/browser"
	"github.com/confidant-go/confidant/internal/testkit/certop"
	"github.com/confidant-go/confidant/middleware"
)

// stepUpAPI is a resource server that takes oidc-provider's JWT access
// tokens for its own resource: /orders wants the acr urn:confidant:mfa
// (else RFC 9470's challenge), /admin the scope write (else RFC 6750's
// insufficient_scope).
type stepUpAPI struct {
	srv    *httptest.Server
	URL    string
	issuer string
	keys   *oidc.RemoteKeySet

	mu   sync.Mutex
	seen []string // "path acr scope" of each call with a valid token
}

func newStepUpAPI(t *testing.T) *stepUpAPI {
	a := &stepUpAPI{}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	a.URL = a.srv.URL + "/"
	return a
}

func (a *stepUpAPI) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	payload, err := a.keys.VerifySignature(r.Context(), raw)
	var c struct {
		Iss, Acr, Scope string
		Aud             any
	}
	if err == nil {
		err = json.Unmarshal(payload, &c)
	}
	if err != nil || c.Iss != a.issuer || fmt.Sprint(c.Aud) != a.URL {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	a.mu.Lock()
	a.seen = append(a.seen, r.URL.Path+" "+c.Acr+" "+c.Scope)
	a.mu.Unlock()
	switch {
	case r.URL.Path == "/orders" && c.Acr != "urn:confidant:mfa":
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", acr_values="urn:confidant:mfa"`)
		w.WriteHeader(http.StatusUnauthorized)
	case r.URL.Path == "/admin" && !slices.Contains(strings.Fields(c.Scope), "write"):
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="write"`)
		w.WriteHeader(http.StatusForbidden)
	default:
		json.NewEncoder(w).Encode(map[string]string{"acr": c.Acr, "scope": c.Scope})
	}
}

// newStepUpApp is an app signing in at oidc-provider (its JWT access
// tokens carrying acr) whose API "api" is a stepUpAPI, its own token
// asked for its resource with scopes (none: what the grant has); the
// client asks for read besides its own scopes.
func newStepUpApp(t *testing.T, scopes ...string) (*certified, *stepUpAPI) {
	t.Helper()
	api := newStepUpAPI(t)
	s := newCertified(t, certifiedOptions{
		op: func(c *certop.Config) {
			c.ResourceServers = map[string]map[string]string{api.URL: {"scope": "read write"}}
			c.AccessTokenACR = true
		},
		client: func(c *client.Config) { c.Scopes = append(c.Scopes, "read") },
		withURL: func(_ string, cfg *middleware.Config) {
			ep, err := cfg.Clients[0].Provider().Endpoints(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			api.issuer, api.keys = ep.Issuer, oidc.NewRemoteKeySet(context.Background(), ep.JWKSURL)
			// The API's own token, for its resource: as docs/apis.md says.
			cfg.APIs = append(cfg.APIs, middleware.API{Name: "api", BaseURL: api.URL, Resource: api.URL, Scopes: scopes})
		}})
	return s, api
}

// stepUpPage is a single-page app's page with the BFF helper
// (examples/bff/static/confidant.js): #orders and #admin call the API
// through the proxy and put the answer in #result.
const stepUpPage = `<!doctype html><meta charset="utf-8"><title>app</title>
<p><button id="orders">orders</button> <button id="admin">admin</button></p><pre id="result"></pre>
<script src="/confidant.js"></script>
<script>
for (const id of ['orders', 'admin']) {
  document.getElementById(id).onclick = async () => {
    const out = document.getElementById('result');
    out.dataset.status = '';
    const r = await confidant.fetch('/bff/api/' + id);
    out.textContent = await r.text();
    out.dataset.status = String(r.status);
  };
}
</script>`

// TestBFFStepUpInChromium: through the BFF proxy, an API's RFC 9470
// challenge and its insufficient_scope challenge reach the page as typed
// answers; the helper follows their login_url (a sign-in with the acr and
// max_age=0, then one that adds the missing scope), comes back to the
// page, and the same call then succeeds with a token that meets them.
// oidc-provider signs in, in a real Chromium.
func TestBFFStepUpInChromium(t *testing.T) {
	helper, err := os.ReadFile("../examples/bff/static/confidant.js")
	if err != nil {
		t.Fatal(err)
	}
	s, api := newStepUpApp(t)
	auth := s.app.Auth
	s.app.Mux.HandleFunc("/spa", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, stepUpPage)
	})
	s.app.Mux.HandleFunc("/confidant.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(helper)
	})
	s.app.Mux.Handle("/bff/api/", http.StripPrefix("/bff/api", auth.Proxy("api")))

	ctx := browser.New(t, 90*time.Second)
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// At the provider: the login form (with the acr the user reaches)
	// and the consent form, whichever it shows, until back at the app.
	provider := func(acr string) {
		t.Helper()
		for range 4 {
			loc := eval(`location.href`)
			if strings.HasPrefix(loc, s.app.URL) {
				return
			}
			if eval(`String(!!document.querySelector('input[name=login]'))`) == "true" {
				run("the login form", chromedp.SendKeys(`input[name=login]`, "ivy"), chromedp.SendKeys(`input[name=password]`, "pw"),
					chromedp.SendKeys(`input[name=acr]`, acr))
			}
			run("the provider's form", chromedp.Click(`button`), chromedp.Sleep(300*time.Millisecond))
		}
		t.Fatalf("still at the provider: %s", eval(`location.href`))
	}
	click := func(id string) (status, body string) {
		t.Helper()
		run("click "+id, chromedp.Click("#"+id))
		// The answer, or the helper's navigation to the sign-in (which
		// interrupts a script waiting on the page).
		for range 100 {
			done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`location.origin !== '`+s.app.URL+`' || document.getElementById('result').dataset.status !== ''`))
			if err == nil && done {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if eval(`location.origin`) != s.app.URL {
			return "", ""
		}
		return eval(`document.getElementById('result').dataset.status`), eval(`document.getElementById('result').textContent`)
	}

	run("sign in", chromedp.Navigate(s.app.URL+"/auth/login?return_to=/spa"), chromedp.WaitVisible(`input[name=login]`))
	provider("urn:confidant:pwd")
	run("back at the page", chromedp.WaitVisible("#orders"))

	// The step-up: the API wants mfa; the helper goes to sign in again
	// with it (max_age=0: the provider asks again) and comes back.
	status, _ := click("orders")
	if status != "" {
		t.Fatalf("/orders with a pwd token: %s, want the helper to leave for the sign-in", status)
	}
	run("the step-up's sign-in", chromedp.WaitVisible(`input[name=login]`))
	provider("urn:confidant:mfa")
	run("back at the page", chromedp.WaitVisible("#orders"))
	if got := eval(`location.pathname`); got != "/spa" {
		t.Errorf("the step-up came back to %s, want /spa", got)
	}
	status, body := click("orders")
	if status != "200" || !strings.Contains(body, `"acr":"urn:confidant:mfa"`) {
		api.mu.Lock()
		t.Fatalf("/orders after the step-up: %q %q at %s; the API saw %q", status, body, eval(`location.href`), api.seen)
	}

	// More scope: the API wants write; the helper signs in again asking
	// for it (and only it beside the app's own scopes).
	status, _ = click("admin")
	if status != "" {
		t.Fatalf("/admin without write: %s, want the helper to leave for the sign-in", status)
	}
	provider("urn:confidant:mfa")
	run("back at the page", chromedp.WaitVisible("#admin"))
	status, body = click("admin")
	if status != "200" || !strings.Contains(body, "write") {
		t.Fatalf("/admin after asking for more scope: %s %s", status, body)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	t.Logf("the API saw %q", api.seen)
}

// TestProxyStepUpCannotLowerACR: the app requires urn:confidant:mfa
// (AuthParams acr_values); an API behind Proxy asks for urn:confidant:pwd.
// The page's login_url names what the API asked, but the sign-in it
// starts asks for the app's acr, not the API's lower one; and right after
// such a sign-in the same refusal gets no login_url (no loop).
func TestProxyStepUpCannotLowerACR(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", acr_values="urn:confidant:pwd"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(api.Close)
	s := newCertified(t, certifiedOptions{
		client: func(c *client.Config) { c.AuthParams = url.Values{"acr_values": {"urn:confidant:mfa"}} },
		mw: func(cfg *middleware.Config) {
			cfg.APIs = append(cfg.APIs, middleware.API{Name: "lower", BaseURL: api.URL})
		}})
	s.app.Mux.Handle("/bff/lower/", http.StripPrefix("/bff/lower", s.app.Auth.Proxy("lower")))
	hc := s.op.Browser()
	s.op.ACR = "urn:confidant:mfa"
	resp, _ := get(t, hc, s.app.URL+"/profile")
	cb, err := s.op.Login(hc, resp.Header.Get("Location"), "jo")
	if err != nil {
		t.Fatal(err)
	}
	get(t, hc, cb.String())
	proxied := func() map[string]any {
		req, _ := http.NewRequest("GET", s.app.URL+"/bff/lower/x", nil)
		req.Header.Set("X-CSRF", "1")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != http.StatusUnauthorized || body["error"] != "insufficient_user_authentication" {
			t.Fatalf("the proxied call: %d %v", resp.StatusCode, body)
		}
		return body
	}
	body := proxied()
	login, _ := body["login_url"].(string)
	if !strings.HasPrefix(login, "/auth/login?") {
		t.Fatalf("no login_url: %v", body)
	}
	resp, _ = get(t, hc, s.app.URL+login+"&return_to=%2F")
	authz, _ := url.Parse(resp.Header.Get("Location"))
	if got := authz.Query().Get("acr_values"); got != "urn:confidant:mfa" {
		t.Errorf("the step-up's authorization request asks for acr_values %q, want the app's urn:confidant:mfa", got)
	}
	cb, err = s.op.Login(hc, authz.String(), "jo")
	if err != nil {
		t.Fatal(err)
	}
	get(t, hc, cb.String())
	if body := proxied(); body["login_url"] != nil {
		t.Errorf("right after the step-up, the same refusal offers %v again: a loop", body["login_url"])
	}
}

// TestStepUpScopeFromAPI: an HTTPClient call that an API refuses with
// insufficient_scope (403, scope="write") fails with an error StepUp
// answers: a JSON call gets 403 with the scope and a login_url that signs
// in again adding only write; after it, the call succeeds with a token
// that has it; a navigation goes to that sign-in at once.
func TestStepUpScopeFromAPI(t *testing.T) {
	s, api := newStepUpApp(t)
	auth := s.app.Auth
	s.app.Mux.Handle("/admin", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := auth.HTTPClient(r).Get(api.URL + "admin")
		if auth.StepUp(w, r, err) {
			return
		}
		if err != nil {
			http.Error(w, err.Error(), middleware.StatusCode(err))
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})))
	hc := s.signIn(t, "kim")
	resp, body := callJSON(t, hc, s.app.URL+"/admin")
	var ans struct {
		Error    string `json:"error"`
		Scope    string `json:"scope"`
		LoginURL string `json:"login_url"`
	}
	json.Unmarshal([]byte(body), &ans)
	if resp.StatusCode != http.StatusForbidden || ans.Error != "insufficient_scope" || ans.Scope != "write" || !strings.HasPrefix(ans.LoginURL, "/auth/login?") {
		t.Fatalf("/admin without write: %d %s", resp.StatusCode, body)
	}
	resp, _ = get(t, hc, s.app.URL+ans.LoginURL)
	authz, _ := url.Parse(resp.Header.Get("Location"))
	scopes := strings.Fields(authz.Query().Get("scope"))
	if !slices.Contains(scopes, "write") || !slices.Contains(scopes, "read") || !slices.Contains(scopes, "openid") {
		t.Fatalf("the step-up's authorization request asks for scope %q, want the app's and write", scopes)
	}
	cb, err := s.op.Login(hc, authz.String(), "kim")
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/admin" {
		t.Fatalf("callback: %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if resp, body := callJSON(t, hc, s.app.URL+"/admin"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "write") {
		t.Fatalf("/admin after the step-up: %d %s", resp.StatusCode, body)
	}

	// A navigation of another user: straight to that sign-in.
	hc2 := s.signIn(t, "lee")
	resp = testenvNav(t, hc2, s.app.URL+"/admin")
	authz, _ = url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || !slices.Contains(strings.Fields(authz.Query().Get("scope")), "write") {
		t.Errorf("/admin navigation without write: %d to %s", resp.StatusCode, authz)
	}
}

// testenvNav GETs u as a browser's navigation.
func testenvNav(t *testing.T, hc *http.Client, u string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-Dest", "document")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestProxyScopeStepUpFixedScopes: an API whose own token is asked with
// API.Scopes answers insufficient_scope for a scope outside them: a new
// sign-in would not change the token, so the page gets 403 without a
// login_url (it looped before: sign in, the same token, again).
func TestProxyScopeStepUpFixedScopes(t *testing.T) {
	s, _ := newStepUpApp(t, "read")
	s.app.Mux.Handle("/bff/api/", http.StripPrefix("/bff/api", s.app.Auth.Proxy("api")))
	hc := s.signIn(t, "noor")
	req, _ := http.NewRequest("GET", s.app.URL+"/bff/api/admin", nil)
	req.Header.Set("X-CSRF", "1")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusForbidden || body["error"] != "insufficient_scope" || body["login_url"] != nil {
		t.Errorf("/admin with a token asked for read only: %d %v, want 403 insufficient_scope without login_url", resp.StatusCode, body)
	}
}
