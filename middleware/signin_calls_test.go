package middleware_test

import (
	"net/http"
	"testing"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// providerCalls counts the OP's back-channel endpoints.
func providerCalls(op *devprovider.Provider) map[string]int {
	m := map[string]int{}
	for _, p := range []string{devprovider.PathDiscovery, devprovider.PathKeys, devprovider.PathToken, devprovider.PathUserinfo} {
		m[p] = op.Count(p)
	}
	return m
}

// TestSignInProviderCalls: with discovery and JWKS cached, a sign-in makes
// one back-channel request (the token request) and no other; the JWKS is
// fetched once across many sign-ins; userinfo only when configured.
func TestSignInProviderCalls(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	env.SignIn(t, testenv.Browser(), "/profile") // warms discovery and JWKS
	before := providerCalls(env.OP)
	for range 10 {
		if resp := env.SignIn(t, testenv.Browser(), "/profile"); resp.StatusCode != http.StatusFound {
			t.Fatalf("sign-in: %d", resp.StatusCode)
		}
	}
	after := providerCalls(env.OP)
	if after[devprovider.PathToken]-before[devprovider.PathToken] != 10 {
		t.Errorf("%d token requests for 10 sign-ins", after[devprovider.PathToken]-before[devprovider.PathToken])
	}
	for _, p := range []string{devprovider.PathDiscovery, devprovider.PathKeys, devprovider.PathUserinfo} {
		if after[p] != before[p] {
			t.Errorf("%s called %d times during 10 sign-ins, want 0", p, after[p]-before[p])
		}
	}
	if after[devprovider.PathKeys] != 1 || after[devprovider.PathDiscovery] != 1 {
		t.Errorf("JWKS fetched %d times and discovery %d times in all, want 1 each", after[devprovider.PathKeys], after[devprovider.PathDiscovery])
	}
}

// BenchmarkSignIn: a whole sign-in (login redirect, the provider's form,
// callback with code exchange and ID token verification), reporting the
// back-channel calls per sign-in once discovery and JWKS are cached.
func BenchmarkSignIn(b *testing.B) {
	env := testenv.New(b, testenv.Options{})
	env.SignIn(b, testenv.Browser(), "/profile")
	before := providerCalls(env.OP)
	b.ResetTimer()
	for range b.N {
		env.SignIn(b, testenv.Browser(), "/profile")
	}
	after := providerCalls(env.OP)
	n := float64(b.N)
	b.ReportMetric(float64(after[devprovider.PathToken]-before[devprovider.PathToken])/n, "token-requests/op")
	b.ReportMetric(float64(after[devprovider.PathKeys]-before[devprovider.PathKeys]+after[devprovider.PathDiscovery]-before[devprovider.PathDiscovery]+after[devprovider.PathUserinfo]-before[devprovider.PathUserinfo])/n, "other-provider-calls/op")
}
