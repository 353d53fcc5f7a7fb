package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/certop"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestEnvContractAPI2: API2_* name a second API on its own provider
// (oidc-provider, whose userinfo endpoint is the API) for users signed in
// with the first (the in-process one). /api2 connects it on first use (a
// navigation is sent to connect and comes back; a JSON client gets 401
// not_connected with the URL), pushed (PAR) with exactly API2_SCOPES and
// offline_access, then calls it with the connected token; POST
// /api2/disconnect, same-origin only, revokes at the provider and answers
// 303 to /api2.
func TestEnvContractAPI2(t *testing.T) {
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	op, err := devprovider.Start(devprovider.Config{Clients: []devprovider.Client{{ID: "ex", Secret: "ex-secret",
		Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	op2 := certop.Start(t, certop.Config{
		Features: map[string]any{"pushedAuthorizationRequests": map[string]any{"enabled": true}},
		Clients:  []certop.Client{{ID: "ex2", Secret: "ex-secret-2", RedirectURIs: []string{appURL + "/auth/callback"}}},
	})
	env := map[string]string{"OIDC_ISSUER": op.Issuer, "OIDC_CLIENT_ID": "ex", "OIDC_CLIENT_SECRET": "ex-secret", "APP_URL": appURL,
		"API2_ISSUER": op2.Issuer, "API2_CLIENT_ID": "ex2", "API2_CLIENT_SECRET": "ex-secret-2", "API2_URL": op2.Issuer + "/me",
		"API2_SCOPES": "openid email"}
	h, err := newApp(context.Background(), func(k string) string { return env[k] }, nil, testenv.CollectLogger())
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()
	hc := testenv.Browser()
	signInAndCallAPIWith(t, hc, appURL, func(hc *http.Client, u string) (*url.URL, error) { return op.Login(hc, u, devprovider.DemoUser) }, nil)

	api2 := func() (int, string) {
		req, _ := http.NewRequest("GET", appURL+"/api2", nil)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Sec-Fetch-Mode", "cors")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, testenv.Body(t, resp)
	}
	status, body := api2()
	var nc map[string]string
	json.Unmarshal([]byte(body), &nc)
	if status != http.StatusUnauthorized || nc["error"] != "not_connected" || nc["login_url"] != "/auth/connect?api=api2&return_to=%2Fapi2" {
		t.Fatalf("/api2 as JSON before connecting: %d %s", status, body)
	}
	resp := testenv.Do(t, hc, "GET", appURL+"/api2", "text/html")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != nc["login_url"] {
		t.Fatalf("/api2 navigation before connecting: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	pushed := op2.Counts(t)["/request"]
	resp = testenv.Do(t, hc, "GET", appURL+nc["login_url"], "text/html")
	resp.Body.Close()
	authURL, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(authURL.String(), op2.Issuer) || !authURL.Query().Has("request_uri") || op2.Counts(t)["/request"] != pushed+1 {
		t.Fatalf("/auth/connect: %d to %q, want a pushed request at the API's provider", resp.StatusCode, authURL)
	}
	cb, err := op2.Login(hc, authURL.String(), "carol")
	if err != nil {
		t.Fatal(err)
	}
	resp = testenv.Do(t, hc, "GET", cb.String(), "text/html")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/api2" {
		t.Fatalf("connect callback: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The token has exactly the scopes asked for: userinfo answers with
	// the email scope's claims, not profile's.
	status, body = api2()
	if status != 200 || !strings.Contains(body, `"status":200`) || !strings.Contains(body, `\"sub\":\"carol\"`) ||
		!strings.Contains(body, `\"email\":`) || strings.Contains(body, `\"name\":`) {
		t.Fatalf("/api2 connected: %d %s", status, body)
	}

	// Disconnect: a cross-site POST is refused; a same-origin one revokes
	// the refresh token at the API's provider and goes back to /api2.
	post := func(site string) *http.Response {
		req, _ := http.NewRequest("POST", appURL+"/api2/disconnect", nil)
		req.Header.Set("Sec-Fetch-Site", site)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	revocations := op2.Counts(t)["/token/revocation"]
	if resp := post("cross-site"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site disconnect: %d", resp.StatusCode)
	}
	if status, _ := api2(); status != 200 {
		t.Fatalf("/api2 after a refused disconnect: %d", status)
	}
	if resp := post("same-origin"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/api2" {
		t.Fatalf("disconnect: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := op2.Counts(t)["/token/revocation"] - revocations; n != 1 {
		t.Errorf("disconnect made %d revocation requests, want 1", n)
	}
	if status, body := api2(); status != http.StatusUnauthorized || !strings.Contains(body, "not_connected") {
		t.Errorf("/api2 after disconnect: %d %s", status, body)
	}
}

// TestEnvContractWorker: -worker SUBJECT calls API_URL (the sign-in
// provider's token, the in-process provider's API) and API2_URL (the
// connected API, on oidc-provider) for the user with no browser, one line
// per API, and exits 0 when both answered 200, 3 when a grant is missing,
// 4 when one was revoked (then deleted: 3 next time).
func TestEnvContractWorker(t *testing.T) {
	redis := testenv.StartRedis(t)
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	clock := &testenv.Clock{}
	clock.Set(time.Now())
	op, err := devprovider.Start(devprovider.Config{Now: clock.Now, Clients: []devprovider.Client{{ID: "ex", Secret: "ex-secret",
		Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	api := httptest.NewServer(op.NewAPI())
	defer api.Close()
	op2 := certop.Start(t, certop.Config{
		Clients: []certop.Client{{ID: "ex2", Secret: "ex-secret-2", RedirectURIs: []string{appURL + "/auth/callback"}}},
	})
	env := map[string]string{"OIDC_ISSUER": op.Issuer, "OIDC_CLIENT_ID": "ex", "OIDC_CLIENT_SECRET": "ex-secret", "APP_URL": appURL,
		"API_URL": api.URL + "/", "REDIS_URL": "redis://" + redis.Addr, "SESSION_KEYS": base64.StdEncoding.EncodeToString(testenv.NewKey()),
		"API2_ISSUER": op2.Issuer, "API2_CLIENT_ID": "ex2", "API2_CLIENT_SECRET": "ex-secret-2", "API2_URL": op2.Issuer + "/me",
		"API2_SCOPES": "openid email"}
	getenv := func(k string) string { return env[k] }
	h, err := newApp(context.Background(), getenv, nil, testenv.CollectLogger())
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()
	worker := func(want int, lines ...string) {
		t.Helper()
		var out bytes.Buffer
		code := runWorker(t.Context(), getenv, nil, testenv.CollectLogger(), devprovider.DemoUser.ID, &out)
		got := strings.Split(strings.TrimSpace(out.String()), "\n")
		if code != want || len(got) != len(lines) {
			t.Fatalf("worker: exit %d, want %d; output:\n%s", code, want, out.String())
		}
		for i, l := range lines {
			if got[i] != l {
				t.Fatalf("worker line %d: %q, want %q", i, got[i], l)
			}
		}
	}
	apiLine, api2Line := "api "+api.URL+"/ ", "api2 "+op2.Issuer+"/me "
	worker(3, apiLine+"error: not connected", api2Line+"error: not connected")
	// As a command: the same, and its exit status.
	cmd := exec.Command(os.Args[0], "-worker", devprovider.DemoUser.ID)
	cmd.Env = []string{"RUN_OIDC_MAIN=1", "PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(string(out), api2Line+"error: not connected\n") {
		t.Fatalf("oidc -worker: %v, output %q; want exit status 3", err, out)
	}

	hc := testenv.Browser()
	signInAndCallAPIWith(t, hc, appURL, func(hc *http.Client, u string) (*url.URL, error) { return op.Login(hc, u, devprovider.DemoUser) }, nil)
	worker(3, apiLine+"200", api2Line+"error: not connected")

	resp := testenv.Do(t, hc, "GET", appURL+"/auth/connect?api=api2&return_to=/api2", "text/html")
	resp.Body.Close()
	cb, err := op2.Login(hc, resp.Header.Get("Location"), "carol")
	if err != nil {
		t.Fatal(err)
	}
	if resp := testenv.Do(t, hc, "GET", cb.String(), "text/html"); resp.StatusCode != http.StatusFound {
		t.Fatalf("connect callback: %d", resp.StatusCode)
	}
	worker(0, apiLine+"200", api2Line+"200")

	// The sign-in provider's grant expires there (its refresh tokens live
	// a day): the API refuses the token, the refresh is refused, the grant
	// is deleted and not retried.
	clock.Add(25 * time.Hour)
	worker(4, apiLine+"error: revoked", api2Line+"200")
	worker(3, apiLine+"error: not connected", api2Line+"200")
}
