package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/jwtpeek"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/internal/seam"
)

// verifyLogoutToken verifies a back-channel logout token (OpenID Connect
// Back-Channel Logout 1.0) through go-oidc: signature from the JWKS with an
// allowed algorithm (never "none"), iss (with a multi-tenant template, as
// an ID token's: the template filled with the token's tid, an accepted
// tenant), the events claim, no nonce, a jti,
// sub or sid; then aud (must include the client ID), iat (required, not in
// the future beyond ClockSkew, not older than maxAge) and exp when present
// (OpenID Connect Back-Channel Logout 1.0 requires exp, but deployed
// certified providers omit it; maxAge bounds such a token).
func (c *Client) verifyLogoutToken(ctx context.Context, raw string, maxAge time.Duration) (*seam.LogoutToken, error) {
	iss, err := checkLogoutShape(raw)
	if err != nil {
		return nil, err
	}
	if !c.cfg.Provider.hasIssuer(ctx, iss) {
		return nil, fmt.Errorf("%w: issued by another provider", fail.InvalidLogoutToken)
	}
	r, err := c.resolve(ctx)
	if err != nil {
		return nil, err
	}
	if r.verifier == nil {
		return nil, fmt.Errorf("%w: provider %q issues no ID tokens", fail.InvalidLogoutToken, c.cfg.Provider.Name())
	}
	// The signature, iss and alg through go-oidc's ID token verifier, not
	// its VerifyLogout, which refuses a token without exp: deployed
	// certified providers send iat alone, and maxAge bounds it anyway.
	idt, err := r.verify(ctx, c.cfg.Provider.httpClient(), raw)
	if errors.Is(err, ErrProviderUnavailable) {
		return nil, err // the provider retries a 5xx
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", fail.InvalidLogoutToken, err)
	}
	var claims struct {
		JTI   string          `json:"jti"`
		SID   string          `json:"sid"`
		Nonce json.RawMessage `json:"nonce"`
	}
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: %v", fail.InvalidLogoutToken, err)
	}
	if r.tenants != nil {
		var all map[string]any
		if err := idt.Claims(&all); err != nil {
			return nil, fmt.Errorf("%w: %v", fail.InvalidLogoutToken, err)
		}
		if err := r.tenants.check(idt.Issuer, all); err != nil {
			return nil, fmt.Errorf("%w: %v", fail.InvalidLogoutToken, err)
		}
	}
	switch {
	case len(claims.Nonce) != 0:
		// An ID token is never a logout token.
		return nil, fmt.Errorf("%w: a nonce claim", fail.InvalidLogoutToken)
	case claims.JTI == "":
		return nil, fmt.Errorf("%w: no jti", fail.InvalidLogoutToken)
	case idt.Subject == "" && claims.SID == "":
		return nil, fmt.Errorf("%w: neither sub nor sid", fail.InvalidLogoutToken)
	case !slices.Contains(idt.Audience, c.cfg.ClientID):
		return nil, fmt.Errorf("%w: audience does not include the client ID", fail.InvalidLogoutToken)
	}
	now := c.cfg.Now()
	if idt.IssuedAt.IsZero() || idt.IssuedAt.After(now.Add(c.cfg.ClockSkew)) || now.Sub(idt.IssuedAt) > maxAge+c.cfg.ClockSkew {
		return nil, fmt.Errorf("%w: missing, future or stale iat", fail.InvalidLogoutToken)
	}
	if !idt.Expiry.IsZero() && now.After(idt.Expiry.Add(c.cfg.ClockSkew)) {
		return nil, fmt.Errorf("%w: expired", fail.InvalidLogoutToken)
	}
	return &seam.LogoutToken{Issuer: idt.Issuer, Subject: idt.Subject, SID: claims.SID, ID: claims.JTI}, nil
}

// checkLogoutShape refuses, before any key is fetched, a logout token whose
// typ (when present) names another kind of token, or whose events claim
// does not hold the back-channel logout event as an object. It returns the
// token's iss, unverified, for the caller to match with the provider.
func checkLogoutShape(raw string) (string, error) {
	header, payload, ok := jwtpeek.Split(raw)
	if !ok {
		return "", fmt.Errorf("%w: not a JWT", fail.InvalidLogoutToken)
	}
	var h struct {
		Typ *string `json:"typ"`
	}
	if json.Unmarshal(header, &h) != nil {
		return "", fmt.Errorf("%w: bad header", fail.InvalidLogoutToken)
	}
	if h.Typ != nil {
		switch strings.ToLower(*h.Typ) {
		case "logout+jwt", "application/logout+jwt", "jwt":
		default:
			return "", fmt.Errorf("%w: typ %q is not a logout token's", fail.InvalidLogoutToken, netx.ProviderText(*h.Typ))
		}
	}
	var c struct {
		Iss    string                     `json:"iss"`
		Events map[string]json.RawMessage `json:"events"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return "", fmt.Errorf("%w: bad claims", fail.InvalidLogoutToken)
	}
	ev := c.Events[backchannelEvent]
	var obj map[string]json.RawMessage
	if len(ev) == 0 || ev[0] != '{' || json.Unmarshal(ev, &obj) != nil {
		return "", fmt.Errorf("%w: events must hold %s as an object", fail.InvalidLogoutToken, backchannelEvent)
	}
	return c.Iss, nil
}

const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// issuer returns the provider's issuer once discovered ("" for plain OAuth
// 2.0; the issuer it was configured with before discovery succeeded). For
// a multi-tenant provider it is the template, with {tenantid}, which no
// token carries: to match a token's iss, ask hasIssuer.
func (p *Provider) issuer() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ready != nil {
		return p.ready.ep.Issuer
	}
	return p.cfg.Issuer
}
