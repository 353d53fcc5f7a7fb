package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/internal/fail"
)

// revoke asks the provider to revoke token (RFC 7009). hint is
// "refresh_token" or "access_token" (or "").
func (c *Client) revoke(ctx context.Context, token, hint string) error {
	ep, err := c.endpoints(ctx)
	if err != nil {
		return err
	}
	if ep.RevocationURL == "" {
		return fmt.Errorf("%w: no revocation endpoint", fail.NotSupported)
	}
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	status, body, err := c.postForm(ctx, "revocation", ep.RevocationURL, form, c.authStyle(ep))
	if err != nil || status == http.StatusOK {
		return err
	}
	te := tokenErrorOf(status, body)
	te.endpoint = "revocation endpoint"
	return te
}

// Revoke revokes the grant behind tok the provider's way: the refresh
// token (or, without one, the access token) at the RFC 7009 endpoint, or
// GitHub's token API. To revoke a token alone, give a Token holding only
// it. It returns confidant.ErrConfig when the provider has no way to revoke
// (callers that only want best effort can ignore that error), ErrNoToken
// for an empty Token.
func (c *Client) Revoke(ctx context.Context, tok *oauth2.Token) error {
	if f := c.cfg.Provider.q.Revoke; f != nil {
		return f(ctx, c.hc, c.cfg.ClientID, c.secretFor(ctx), tok)
	}
	if tok.RefreshToken != "" {
		return c.revoke(ctx, tok.RefreshToken, "refresh_token")
	}
	if tok.AccessToken != "" {
		return c.revoke(ctx, tok.AccessToken, "access_token")
	}
	return fail.NoToken
}

// LogoutURL returns the provider's RP-initiated logout URL
// (end_session_endpoint) with id_token_hint, client_id and, when not empty,
// post_logout_redirect_uri. Without an end_session endpoint it returns the
// provider's own logout URL where there is one (Auth0's /v2/logout), and ""
// otherwise: the caller then just redirects within the app.
func (c *Client) LogoutURL(ctx context.Context, idTokenHint, postLogoutRedirect string) (string, error) {
	ep, err := c.endpoints(ctx)
	if err != nil {
		return "", err
	}
	if ep.EndSessionURL == "" {
		if f := c.cfg.Provider.q.LogoutFallback; f != nil {
			return f(ep.AuthURL, c.cfg.ClientID, postLogoutRedirect), nil
		}
		return "", nil
	}
	u, err := url.Parse(ep.EndSessionURL)
	if err != nil {
		return "", fmt.Errorf("%w: end_session_endpoint: %v", fail.Discovery, err)
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
