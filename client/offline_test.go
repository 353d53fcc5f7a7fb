package client_test

import (
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
)

// TestOfflineAccessAsksForConsent pins the finding of the certified
// provider: a strict provider grants offline_access only with
// prompt=consent (OpenID Connect Core 11), so an app found by discovery got
// no refresh token. The prompt the app chose wins.
func TestOfflineAccessAsksForConsent(t *testing.T) {
	op := startOP(t)
	prov, err := client.Discover(t.Context(), op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := client.NewProvider("plain", client.Endpoints{AuthURL: op.Issuer + "/authorize", TokenURL: op.Issuer + "/oauth/token"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		prov       *client.Provider
		scopes     []string
		authParams url.Values
		extra      url.Values
		want       string
	}{
		{"offline_access", prov, []string{"openid", "offline_access"}, nil, nil, "consent"},
		{"no offline_access", prov, []string{"openid", "profile"}, nil, nil, ""},
		{"the app's prompt in AuthParams", prov, []string{"openid", "offline_access"}, url.Values{"prompt": {"login"}}, nil, "login"},
		{"the prompt of this sign-in", prov, []string{"openid", "offline_access"}, nil, url.Values{"prompt": {"none"}}, "none"},
		{"plain OAuth 2.0", plain, []string{"offline_access"}, nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.New(client.Config{Provider: tc.prov, ClientID: clientID, ClientSecret: secret, RedirectURL: redirect,
				Scopes: tc.scopes, AuthParams: tc.authParams})
			if err != nil {
				t.Fatal(err)
			}
			l, err := c.NewLogin(t.Context(), tc.extra)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(l.URL)
			if got := u.Query().Get("prompt"); got != tc.want {
				t.Errorf("prompt = %q, want %q (%s)", got, tc.want, l.URL)
			}
		})
	}
}

// TestTokenErrorUnavailable: a provider that answers 503 with an error code
// (temporarily_unavailable), or names server_error with any status, is
// down, not refusing: a sign-in gets 502 and a refresh keeps the session.
// Before, a 5xx with a code counted as a refusal.
func TestTokenErrorUnavailable(t *testing.T) {
	for _, tc := range []struct {
		err  *client.TokenError
		down bool
	}{
		{&client.TokenError{StatusCode: 503, Code: "temporarily_unavailable"}, true},
		{&client.TokenError{StatusCode: 500}, true},
		{&client.TokenError{StatusCode: 400, Code: "server_error"}, true},
		{&client.TokenError{StatusCode: 429, Code: "slow_down"}, true},
		{&client.TokenError{StatusCode: 400, Code: "invalid_grant"}, false},
		{&client.TokenError{StatusCode: 401, Code: "invalid_client"}, false},
	} {
		if got := errors.Is(tc.err, client.ErrProviderUnavailable); got != tc.down || errors.Is(tc.err, fail.TokenRequest) == tc.down {
			t.Errorf("%d %s: unavailable %v, want %v (and the opposite for fail.TokenRequest)", tc.err.StatusCode, tc.err.Code, got, tc.down)
		}
	}
}

// TestLoginParamsNeverWeakenConfigured (attack review, finding 1): a sign-in's
// own parameters (the login route's query, Auth.SignIn, a step-up) never
// replace or weaken what the app configured in AuthParams, and what the ID
// token is verified against (Login.ACRValues, Login.MaxAge) is the merged
// requirement. Before, the sign-in's parameters replaced the app's.
func TestLoginParamsNeverWeakenConfigured(t *testing.T) {
	op := startOP(t)
	prov, err := client.Discover(t.Context(), op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		authParams url.Values
		extra      url.Values
		want       url.Values // in the authorization URL
		acr        []string
		maxAge     time.Duration
	}{
		{"acr_values replaced", url.Values{"acr_values": {"mfa"}}, url.Values{"acr_values": {"pwd"}}, url.Values{"acr_values": {"mfa"}}, []string{"mfa"}, 0},
		{"acr_values narrowed", url.Values{"acr_values": {"mfa phr"}}, url.Values{"acr_values": {"phr pwd"}}, url.Values{"acr_values": {"phr"}}, []string{"phr"}, 0},
		{"acr_values of the sign-in alone", nil, url.Values{"acr_values": {"phr"}}, url.Values{"acr_values": {"phr"}}, []string{"phr"}, 0},
		{"max_age lengthened", url.Values{"max_age": {"60"}}, url.Values{"max_age": {"86400"}}, url.Values{"max_age": {"60"}}, nil, time.Minute},
		{"max_age shortened", url.Values{"max_age": {"60"}}, url.Values{"max_age": {"0"}}, url.Values{"max_age": {"0"}}, nil, time.Nanosecond},
		{"max_age not a number", url.Values{"max_age": {"60"}}, url.Values{"max_age": {"x"}}, url.Values{"max_age": {"60"}}, nil, time.Minute},
		{"prompt kept", url.Values{"prompt": {"login"}}, url.Values{"prompt": {"none"}}, url.Values{"prompt": {"login"}}, nil, 0},
		{"organization kept", url.Values{"organization": {"org_a"}}, url.Values{"organization": {"org_b"}}, url.Values{"organization": {"org_a"}}, nil, 0},
		{"a parameter the app did not set", url.Values{"prompt": {"login"}}, url.Values{"login_hint": {"ada"}}, url.Values{"prompt": {"login"}, "login_hint": {"ada"}}, nil, 0},
		{"resource added to", url.Values{"resource": {"https://a.example/"}}, url.Values{"resource": {"https://b.example/"}},
			url.Values{"resource": {"https://a.example/", "https://b.example/"}}, nil, 0},
		{"protocol parameters", nil, url.Values{"redirect_uri": {"https://evil.example/"}, "state": {"x"}},
			url.Values{"redirect_uri": {redirect}}, nil, 0},
		{"scopes added to, never taken away", nil, url.Values{"scope": {"orders:read openid"}}, url.Values{"scope": {"openid orders:read"}}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.New(client.Config{Provider: prov, ClientID: clientID, ClientSecret: secret, RedirectURL: redirect,
				Scopes: []string{"openid"}, AuthParams: tc.authParams})
			if err != nil {
				t.Fatal(err)
			}
			l, err := c.NewLogin(t.Context(), tc.extra)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(l.URL)
			q := u.Query()
			for k, v := range tc.want {
				if !slices.Equal(q[k], v) {
					t.Errorf("%s = %q, want %q", k, q[k], v)
				}
			}
			if !slices.Equal(l.ACRValues, tc.acr) || l.MaxAge != tc.maxAge {
				t.Errorf("verified against acr %q, max_age %s; want %q, %s", l.ACRValues, l.MaxAge, tc.acr, tc.maxAge)
			}
		})
	}
}
