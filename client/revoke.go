package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/internal/netx"
)

// Revoke asks the provider to revoke token (RFC 7009). hint is
// "refresh_token" or "access_token" (or ""). A provider without a revocation
// endpoint yields ErrNotSupported; callers that only want best effort can
// ignore that error.
func (c *Client) Revoke(ctx context.Context, token, hint string) error {
	ep, err := c.cfg.Provider.Endpoints(ctx)
	if err != nil {
		return err
	}
	if ep.RevocationURL == "" {
		return fmt.Errorf("%w: no revocation endpoint", ErrNotSupported)
	}
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	style := c.authStyle(ep)
	if style == AuthStylePost {
		form.Set("client_id", c.cfg.ClientID)
		form.Set("client_secret", c.cfg.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.RevocationURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%w: revocation endpoint: %v", ErrConfig, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if style == AuthStyleBasic {
		// RFC 6749 2.3.1: both parts are form-encoded before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.cfg.ClientSecret))
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("%w: revocation: %w", ErrProviderUnavailable, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, netx.SmallBody))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	te := &TokenError{StatusCode: resp.StatusCode}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) == nil {
		te.Code, te.Description = netx.ProviderText(e.Error), netx.ProviderText(e.Description)
	}
	return te
}

// RevokeToken revokes the grant behind tok the provider's way: the refresh
// token (or, without one, the access token) at the RFC 7009 endpoint, or
// GitHub's token API. It returns ErrNotSupported when the provider has no
// way to revoke.
func (c *Client) RevokeToken(ctx context.Context, tok *oauth2.Token) error {
	if f := c.cfg.Provider.q.revoke; f != nil {
		return f(ctx, c, tok)
	}
	if tok.RefreshToken != "" {
		return c.Revoke(ctx, tok.RefreshToken, "refresh_token")
	}
	if tok.AccessToken != "" {
		return c.Revoke(ctx, tok.AccessToken, "access_token")
	}
	return ErrNoToken
}

// LogoutURL returns the provider's RP-initiated logout URL
// (end_session_endpoint) with id_token_hint, client_id and, when not empty,
// post_logout_redirect_uri. Without an end_session endpoint it returns the
// provider's own logout URL where there is one (Auth0's /v2/logout), and ""
// otherwise: the caller then just redirects within the app.
func (c *Client) LogoutURL(ctx context.Context, idTokenHint, postLogoutRedirect string) (string, error) {
	ep, err := c.cfg.Provider.Endpoints(ctx)
	if err != nil {
		return "", err
	}
	if ep.EndSessionURL == "" {
		if f := c.cfg.Provider.q.logoutFallback; f != nil {
			return f(c.cfg.ClientID, postLogoutRedirect), nil
		}
		return "", nil
	}
	u, err := url.Parse(ep.EndSessionURL)
	if err != nil {
		return "", fmt.Errorf("%w: end_session_endpoint: %v", ErrDiscovery, err)
	}
	q := u.Query()
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	q.Set("client_id", c.cfg.ClientID)
	if postLogoutRedirect != "" {
		q.Set("post_logout_redirect_uri", postLogoutRedirect)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}
