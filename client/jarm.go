package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/confidant-go/confidant/internal/fail"
)

// responseJWTSkew is the clock skew allowed on a JWT response's exp.
const responseJWTSkew = time.Minute

// authorizationResponse returns the authorization response's parameters
// (code, state, iss, error, …) from the callback's params. With a JARM
// ResponseMode they are the claims of the response JWT (params' "response"),
// once its signature by the provider's keys, its iss (the provider's
// issuer; with a multi-tenant template, as an ID token's: the template
// filled with its tid, an accepted tenant), aud (the client ID) and exp
// are checked; otherwise params as
// they are. It runs first, before the state is looked at.
func (c *Client) authorizationResponse(ctx context.Context, params url.Values) (url.Values, error) {
	if !strings.HasSuffix(c.cfg.ResponseMode, "jwt") {
		return params, nil
	}
	raw := params.Get("response")
	if raw == "" {
		return nil, fmt.Errorf("%w: no response parameter", fail.ResponseJWT)
	}
	if err := c.checkFAPIAlg(raw, fail.ResponseJWT); err != nil {
		return nil, err
	}
	r, err := c.resolve(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := r.verify(ctx, c.cfg.Provider.httpClient(), raw)
	if errors.Is(err, ErrProviderUnavailable) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", fail.ResponseJWT, err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: %v", fail.ResponseJWT, err)
	}
	if r.tenants != nil {
		// As an ID token's: the template filled with the response's
		// own tid, an accepted tenant.
		if err := r.tenants.check(tok.Issuer, claims); err != nil {
			return nil, fmt.Errorf("%w: %v", fail.ResponseJWT, err)
		}
	}
	if !slices.Contains(tok.Audience, c.cfg.ClientID) {
		return nil, fmt.Errorf("%w: aud %q is not the client ID", fail.ResponseJWT, tok.Audience)
	}
	if tok.Expiry.IsZero() || !c.cfg.Now().Before(tok.Expiry.Add(responseJWTSkew)) {
		return nil, fmt.Errorf("%w: expired or without exp", fail.ResponseJWT)
	}
	out := url.Values{}
	for _, k := range []string{"code", "state", "iss", "error", "error_description", "error_uri"} {
		if v, ok := claims[k].(string); ok && v != "" {
			out.Set(k, v)
		}
	}
	return out, nil
}
