package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// ErrInvalidLogoutToken means a back-channel logout token was refused.
var ErrInvalidLogoutToken = errors.New("client: invalid logout token")

// LogoutToken is a verified OpenID Connect Back-Channel Logout token.
type LogoutToken struct {
	Issuer  string
	Subject string // may be empty when SID is set
	SID     string // may be empty when Subject is set
	ID      string // jti
}

// VerifyLogoutToken verifies a back-channel logout token (OpenID Connect
// Back-Channel Logout 1.0) through go-oidc: signature from the JWKS with an
// allowed algorithm (never "none"), iss, the events claim, no nonce, a jti,
// sub or sid; then aud (must include the client ID), iat (required, not in
// the future beyond ClockSkew, not older than maxAge) and exp when present.
func (c *Client) VerifyLogoutToken(ctx context.Context, raw string, maxAge time.Duration) (*LogoutToken, error) {
	r, err := c.cfg.Provider.resolve(ctx)
	if err != nil {
		return nil, err
	}
	if r.verifier == nil {
		return nil, fmt.Errorf("%w: provider %q issues no ID tokens", ErrInvalidLogoutToken, c.cfg.Provider.Name())
	}
	lt, err := r.verifier.VerifyLogout(oidc.ClientContext(ctx, c.cfg.Provider.httpClient()), raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidLogoutToken, err)
	}
	if !slices.Contains(lt.Audience, c.cfg.ClientID) {
		return nil, fmt.Errorf("%w: audience does not include the client ID", ErrInvalidLogoutToken)
	}
	now := c.cfg.Now()
	if lt.IssuedAt.IsZero() || lt.IssuedAt.After(now.Add(c.cfg.ClockSkew)) || now.Sub(lt.IssuedAt) > maxAge+c.cfg.ClockSkew {
		return nil, fmt.Errorf("%w: missing, future or stale iat", ErrInvalidLogoutToken)
	}
	if !lt.Expiry.IsZero() && now.After(lt.Expiry.Add(c.cfg.ClockSkew)) {
		return nil, fmt.Errorf("%w: expired", ErrInvalidLogoutToken)
	}
	return &LogoutToken{Issuer: lt.Issuer, Subject: lt.Subject, SID: lt.SessionID, ID: lt.TokenID}, nil
}

// Issuer returns the provider's issuer once discovered ("" for plain OAuth
// 2.0 or before discovery succeeded).
func (p *Provider) Issuer() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ready != nil {
		return p.ready.ep.Issuer
	}
	return p.cfg.Issuer
}
