package devprovider

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

func (c *Client) GetID() string                    { return c.ID }
func (c *Client) RedirectURIs() []string           { return c.Redirects }
func (c *Client) PostLogoutRedirectURIs() []string { return c.PostLogoutRedirects }
func (c *Client) ApplicationType() op.ApplicationType {
	return op.ApplicationTypeWeb
}
func (c *Client) AuthMethod() oidc.AuthMethod {
	if c.TokenAuth == "client_secret_post" {
		return oidc.AuthMethodPost
	}
	return oidc.AuthMethodBasic
}
func (c *Client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *Client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeClientCredentials}
}
func (c *Client) LoginURL(id string) string { return c.loginBase + "/login?id=" + id }
func (c *Client) AccessTokenType() op.AccessTokenType {
	if c.accessTokenJWT {
		return op.AccessTokenTypeJWT
	}
	return op.AccessTokenTypeBearer
}
func (c *Client) IDTokenLifetime() time.Duration { return c.idTokenLifetime }

// DevMode allows http redirect URIs on loopback test servers.
func (c *Client) DevMode() bool { return true }
func (c *Client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *Client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *Client) IsScopeAllowed(string) bool { return false }

// IDTokenUserinfoClaimsAssertion puts profile claims into the ID token, as
// Auth0 and Google do.
func (c *Client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *Client) ClockSkew() time.Duration             { return 0 }
