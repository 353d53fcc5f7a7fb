package middleware_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestAttack35CallbackOneState: client.Callback refuses an authorization
// response with two state values (TestCallbackOrder); the middleware's own
// callback must too, before any token request: which of the two values a
// component reads (first, last) is the ambiguity HTTP parameter pollution
// exploits, and the two paths of the SDK should not disagree.
func TestAttack35CallbackOneState(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	hc := testenv.Browser()
	cb := env.ProviderLogin(t, hc, env.StartLogin(t, hc, "/profile"))
	q := cb.Query()
	q.Add("state", "attacker-chosen-second-state")
	cb.RawQuery = q.Encode()
	before := env.OP.Count(devprovider.PathToken)
	resp, body := get(t, hc, cb.String())
	if n := env.OP.Count(devprovider.PathToken) - before; resp.StatusCode != http.StatusBadRequest || n != 0 {
		t.Errorf("callback with two states: %d, %d token requests; want 400 and none (client.Callback refuses it). body: %.120s", resp.StatusCode, n, body)
	}
}

// TestAttack35ForeignIssuerErrorNotShown: callback.go says of RFC 9207 "on
// error responses too: a response that another provider produced is
// neither shown as this one's nor redeemed". An error response carrying
// another issuer's iss, with this browser's valid state, is shown on the
// default error page as this provider's ("Access denied", its code).
func TestAttack35ForeignIssuerErrorNotShown(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	hc := testenv.Browser()
	auth := env.StartLogin(t, hc, "/profile")
	state := auth.Query().Get("state")
	resp, body := get(t, hc, env.App.URL+"/auth/callback?error=access_denied&state="+state+"&iss="+urlQueryEscape("https://evil.example"))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400 (response_issuer)", resp.StatusCode)
	}
	if strings.Contains(body, "Access denied") {
		t.Errorf("another issuer's error response is shown as this provider's: %.300s", body)
	}
	resp, body = get(t, hc, env.App.URL+"/auth/callback?error=Your_account_is_locked_call_555-0100&state="+state+"&iss="+urlQueryEscape("https://evil.example"))
	if strings.Contains(body, "Your_account_is_locked") {
		t.Errorf("another issuer's error code is shown as this provider's: %d %.400s", resp.StatusCode, body)
	}
	// A link anyone can make: an unknown state, any text.
	resp, body = get(t, hc, env.App.URL+"/auth/callback?error=Your_account_is_locked_call_555-0100&state=made-up")
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "Your_account_is_locked") {
		t.Errorf("an error response with an unknown state is shown: %d %.400s", resp.StatusCode, body)
	}
}
