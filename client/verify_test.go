package client_test

import (
	"errors"
	"net/url"
	"slices"
	"testing"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/testkit/certop"
)

// TestExchangeChecksConfiguredACR (issue 34, section 6): Exchange checks
// the ID token's acr against the app's configured acr_values itself, not
// only against the Login's: a Login that asked for less (begun before the
// app tightened its requirement, during a rolling deploy, or restored by
// a caller of its own) must not let a weaker authentication in. The
// middleware's merged ACRValues always refused first, so removing this
// check failed no test. Against oidc-provider, which issues whatever acr
// the user authenticated with.
func TestExchangeChecksConfiguredACR(t *testing.T) {
	const mfa, pwd = "urn:confidant:mfa", "urn:confidant:pwd"
	const redirect = "http://127.0.0.1:9/auth/callback"
	op := certop.Start(t, certop.Config{Clients: []certop.Client{{ID: "app", Secret: "app-secret-value-never-logged", RedirectURIs: []string{redirect}}}})
	prov, err := client.Discover(t.Context(), op.Issuer, client.WithHTTPClient(op.HTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	cfg := client.Config{Provider: prov, ClientID: "app", ClientSecret: "app-secret-value-never-logged", RedirectURL: redirect,
		AuthParams: url.Values{"acr_values": {pwd + " " + mfa}}}
	before, err := client.New(cfg) // the app before it required multi-factor
	if err != nil {
		t.Fatal(err)
	}
	cfg.AuthParams = url.Values{"acr_values": {mfa}}
	after, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		acr string // what the user authenticates with
		ok  bool
	}{
		{pwd, false},
		{mfa, true},
	} {
		t.Run(tc.acr, func(t *testing.T) {
			l, err := before.NewLogin(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(l.ACRValues, []string{pwd, mfa}) {
				t.Fatalf("Login.ACRValues %q, want the app's before", l.ACRValues)
			}
			op.ACR = tc.acr
			cb, err := op.Login(op.Browser(), l.URL, "alice")
			if err != nil {
				t.Fatal(err)
			}
			res, err := after.Callback(t.Context(), cb.Query(), l)
			if !tc.ok {
				if !errors.Is(err, client.ErrInsufficientAuthentication) {
					t.Errorf("Exchange with acr %s: %v, want ErrInsufficientAuthentication", tc.acr, err)
				}
				return
			}
			if err != nil || res.User.Subject != "alice" {
				t.Errorf("Exchange with acr %s: %v", tc.acr, err)
			}
		})
	}
}
