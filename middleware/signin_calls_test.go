package middleware_test

import (
	"net/http"
	"testing"

	"github.com/confidant-go/confidant/internal/testenv"
	"github.com/confidant-go/confidant/internal/testop"
)

// providerCalls counts the OP's back-channel endpoints.
func providerCalls(op *testop.Provider) map[string]int {
	m := map[string]int{}
	for _, p := range []string{testop.PathDiscovery, testop.PathKeys, testop.PathToken, testop.PathUserinfo} {
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
	if after[testop.PathToken]-before[testop.PathToken] != 10 {
		t.Errorf("%d token requests for 10 sign-ins", after[testop.PathToken]-before[testop.PathToken])
	}
	for _, p := range []string{testop.PathDiscovery, testop.PathKeys, testop.PathUserinfo} {
		if after[p] != before[p] {
			t.Errorf("%s called %d times during 10 sign-ins, want 0", p, after[p]-before[p])
		}
	}
	if after[testop.PathKeys] != 1 || after[testop.PathDiscovery] != 1 {
		t.Errorf("JWKS fetched %d times and discovery %d times in all, want 1 each", after[testop.PathKeys], after[testop.PathDiscovery])
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
	b.ReportMetric(float64(after[testop.PathToken]-before[testop.PathToken])/n, "token-requests/op")
	b.ReportMetric(float64(after[testop.PathKeys]-before[testop.PathKeys]+after[testop.PathDiscovery]-before[testop.PathDiscovery]+after[testop.PathUserinfo]-before[testop.PathUserinfo])/n, "other-provider-calls/op")
}
