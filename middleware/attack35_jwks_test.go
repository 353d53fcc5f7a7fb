package middleware_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestAttack35JWKSOutageKeepsSession: DESIGN, refresh: "Network or 5xx from
// the provider -> session kept, a clear 502/503, retried later". The
// provider rotates its signing key and its JWKS endpoint is briefly down
// (a CDN hiccup) when a session refreshes: the refreshed ID token names a
// kid the app does not hold, the refetch fails, and keySet.current keeps
// the old keys silently (the error is dropped once keys were loaded), so
// the verifier answers errUnknownKey, wrapped with %v into
// client.ErrInvalidIDToken; DefaultRefreshPolicy ends every session
// matching that family. Every user who refreshes during the outage is
// signed out, though nothing was revoked.
func TestAttack35JWKSOutageKeepsSession(t *testing.T) {
	t.Run("control, JWKS up", func(t *testing.T) { jwksOutage(t, false) })
	t.Run("JWKS down", func(t *testing.T) { jwksOutage(t, true) })
}

func jwksOutage(t *testing.T, down bool) {
	clock := testenv.NewClock(time.Now())
	env := testenv.New(t, testenv.Options{OP: shortLived(10 * time.Minute), Clock: clock})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	if who := whoami(t, hc, env.App.URL); who == "anonymous" {
		t.Fatal("not signed in")
	}
	if err := env.OP.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	if down {
		env.OP.SetFault(devprovider.PathKeys, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
		})
	}
	clock.Add(9*time.Minute + 30*time.Second) // due (leeway), still usable
	resp, who := get(t, hc, env.App.URL+"/whoami")
	env.OP.SetFault(devprovider.PathKeys, nil)
	time.Sleep(1100 * time.Millisecond) // past the JWKS failure back-off
	after := whoami(t, hc, env.App.URL)
	if after == "anonymous" {
		t.Errorf("JWKS briefly down during a key rotation: the session was ended (during: %d %q; after the outage: %q)", resp.StatusCode, who, after)
	}
}

// TestAttack35BackchannelJWKSOutageRetryable: the same outage during a
// back-channel logout. The logout token is signed with the new key; the
// JWKS refetch fails; the endpoint answers 400 (InvalidLogoutToken,
// hard-coded), which tells the provider not to retry (OIDC Back-Channel
// Logout 2.8: 400 is for a token the RP refuses), so the session the user
// ended at the provider lives on. A 5xx would let the provider retry.
func TestAttack35BackchannelJWKSOutageRetryable(t *testing.T) {
	c := newCluster(t, clusterOptions{instances: 1, noRedis: true})
	alice := c.signIn(t, devprovider.DemoUser)
	if err := c.op.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	c.op.SetFault(devprovider.PathKeys, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
	})
	status := postLogout(t, c.apps[0].URL, c.op.Sign(logoutClaims(c.op, devprovider.DemoUser.ID, "")))
	c.op.SetFault(devprovider.PathKeys, nil)
	if status < 500 {
		t.Errorf("logout token while the JWKS is unreachable: %d, want a 5xx the provider retries; alice after the outage: %q",
			status, whoami(t, alice, c.apps[0].URL))
	}
}
