// Package exampletest runs an example app through what its README promises,
// for the examples' tests: a sign-in at the provider (an emulator), the
// profile, a call to the API with the user's token, and a sign-out.
package exampletest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// SignInOut signs in to the app at appURL with hc (a browser), login
// answering the provider's pages, and checks that /profile shows wantSub,
// that /api reaches the API with the user's token (its answer names
// wantSub), and that a sign-out ends the session.
func SignInOut(t *testing.T, hc *http.Client, appURL string, login func(hc *http.Client, authURL string) (*url.URL, error), wantSub string) {
	t.Helper()
	resp := Do(t, hc, "GET", appURL+"/profile", "")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("/profile: %d, want a redirect to the provider", resp.StatusCode)
	}
	cb, err := login(hc, resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if resp = Do(t, hc, "GET", cb.String(), ""); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/profile" {
		t.Fatalf("callback: %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), Read(t, resp))
	}
	var claims map[string]any
	json.Unmarshal([]byte(Read(t, Do(t, hc, "GET", appURL+"/profile", "application/json"))), &claims)
	if claims["sub"] != wantSub {
		t.Errorf("profile claims %v, want sub %s", claims, wantSub)
	}
	var api struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	json.Unmarshal([]byte(Read(t, Do(t, hc, "GET", appURL+"/api", "application/json"))), &api)
	if api.Status != http.StatusOK || !strings.Contains(api.Body, wantSub) {
		t.Errorf("/api: %+v, want 200 from the API about %s", api, wantSub)
	}
	if resp = Do(t, hc, "POST", appURL+"/auth/logout", ""); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if resp = Do(t, hc, "GET", appURL+"/profile", ""); resp.StatusCode != http.StatusFound {
		t.Errorf("/profile after logout: %d, want the sign-in again", resp.StatusCode)
	}
}

// Do sends a request with hc; accept, when set, is its Accept header.
func Do(t *testing.T, hc *http.Client, method, u, accept string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Read returns resp's body, closed.
func Read(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
