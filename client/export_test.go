package client

import (
	"context"
	"net/url"
	"time"

	"github.com/confidant-go/confidant/internal/seam"
)

// What the middleware reaches through internal/seam, for this package's
// external tests.

type Previous = seam.Previous

func RefreshWith(c *Client, ctx context.Context, refreshToken string, prev Previous) (*Result, error) {
	return c.refreshWith(ctx, refreshToken, prev)
}

func VerifyLogoutToken(c *Client, ctx context.Context, raw string, maxAge time.Duration) (*seam.LogoutToken, error) {
	return c.verifyLogoutToken(ctx, raw, maxAge)
}

func AuthorizationResponse(c *Client, ctx context.Context, params url.Values) (url.Values, error) {
	return c.authorizationResponse(ctx, params)
}

func CheckResponseIssuer(c *Client, ctx context.Context, q url.Values) error {
	return c.checkResponseIssuer(ctx, q)
}

func ResponseMode(c *Client) string { return c.cfg.ResponseMode }

func Scopes(c *Client) []string { return c.cfg.Scopes }

// WithMTLSAliases is ep with mtls_endpoint_aliases, as discovery fills them.
func WithMTLSAliases(ep Endpoints, aliases map[string]string) Endpoints {
	ep.mtlsAliases = aliases
	return ep
}

// WithRetryInterval sets the shortest time between two discovery attempts
// after a failure (default 5 seconds).
func WithRetryInterval(d time.Duration) ProviderOption {
	return func(o *providerOptions) { o.RetryInterval = d }
}
