package client_test

import (
	"errors"
	"net/url"
	"testing"

	"github.com/confidant-go/confidant/client"
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
	plain, err := client.NewProvider("plain", client.Endpoints{AuthURL: op.Issuer + "/authorize", TokenURL: op.Issuer + "/oauth/token"}, nil)
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
		if got := errors.Is(tc.err, client.ErrProviderUnavailable); got != tc.down || errors.Is(tc.err, client.ErrTokenRequest) == tc.down {
			t.Errorf("%d %s: unavailable %v, want %v (and the opposite for ErrTokenRequest)", tc.err.StatusCode, tc.err.Code, got, tc.down)
		}
	}
}
