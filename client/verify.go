package client

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/netx"
)

// verifyIDToken checks raw as DESIGN.md lists: signature against the JWKS
// (refetched on an unknown kid) with an allowed algorithm (never "none") and
// iss, through go-oidc; then aud, azp, exp and iat with ClockSkew, nonce in
// constant time, and at_hash when present.
func (c *Client) verifyIDToken(ctx context.Context, r *resolved, raw, accessToken, nonce string) (*oidc.IDToken, map[string]any, error) {
	if raw == "" {
		return nil, nil, ErrNoIDToken
	}
	idt, err := r.verifier.Verify(oidc.ClientContext(ctx, c.cfg.Provider.httpClient()), raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	if !slices.Contains(idt.Audience, c.cfg.ClientID) {
		return nil, nil, fmt.Errorf("%w: audience %q does not include the client ID", ErrInvalidIDToken, idt.Audience)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	azp, _ := claims["azp"].(string)
	if azp != "" && azp != c.cfg.ClientID {
		return nil, nil, fmt.Errorf("%w: azp %q is not the client ID", ErrInvalidIDToken, azp)
	}
	if len(idt.Audience) > 1 && azp == "" && !c.cfg.Provider.q.multiAudNoAZP {
		return nil, nil, fmt.Errorf("%w: several audiences and no azp", ErrInvalidIDToken)
	}
	now := c.cfg.Now()
	if idt.Expiry.IsZero() || now.After(idt.Expiry.Add(c.cfg.ClockSkew)) {
		return nil, nil, fmt.Errorf("%w: expired at %s", ErrInvalidIDToken, idt.Expiry.UTC().Format(time.RFC3339))
	}
	if idt.IssuedAt.IsZero() || idt.IssuedAt.After(now.Add(c.cfg.ClockSkew)) {
		return nil, nil, fmt.Errorf("%w: missing or future iat", ErrInvalidIDToken)
	}
	if nbf, ok := claims["nbf"].(float64); ok && time.Unix(int64(nbf), 0).After(now.Add(c.cfg.ClockSkew)) {
		return nil, nil, fmt.Errorf("%w: not valid before %s", ErrInvalidIDToken, time.Unix(int64(nbf), 0).UTC().Format(time.RFC3339))
	}
	if idt.Subject == "" {
		return nil, nil, fmt.Errorf("%w: no sub", ErrInvalidIDToken)
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, nil, ErrNonceMismatch
	}
	if hd := c.cfg.Provider.q.hostedDomain; hd != "" {
		if got, _ := claims["hd"].(string); got != hd {
			return nil, nil, ErrHostedDomain
		}
	}
	if idt.AccessTokenHash != "" && accessToken != "" {
		if err := idt.VerifyAccessToken(accessToken); err != nil {
			return nil, nil, ErrAccessTokenHash
		}
	}
	return idt, claims, nil
}

// ErrInsufficientAuthentication means the ID token does not show the
// authentication the sign-in asked for: its acr is not one of acr_values,
// or its auth_time is older than max_age (or missing).
var ErrInsufficientAuthentication = errors.New("client: the sign-in does not meet the requested authentication")

// checkAuthentication verifies the ID token's acr and auth_time against
// what l asked for (OpenID Connect Core 3.1.3.7, steps 11 to 13).
func (c *Client) checkAuthentication(claims map[string]any, l *Login) error {
	if len(l.ACRValues) > 0 {
		acr, _ := claims["acr"].(string)
		if !slices.Contains(l.ACRValues, acr) {
			return fmt.Errorf("%w: acr %q, asked for %q", ErrInsufficientAuthentication, netx.ProviderText(acr), strings.Join(l.ACRValues, " "))
		}
	}
	if l.MaxAge > 0 {
		at, ok := claims["auth_time"].(float64)
		if !ok {
			return fmt.Errorf("%w: no auth_time, asked for max_age", ErrInsufficientAuthentication)
		}
		if age := c.cfg.Now().Sub(time.Unix(int64(at), 0)); age > l.MaxAge+c.cfg.ClockSkew {
			return fmt.Errorf("%w: authenticated %s ago, max_age %s", ErrInsufficientAuthentication, age.Round(time.Second), l.MaxAge)
		}
	}
	return nil
}

// emitVerified reports an ID token check with the token's alg and kid
// (from its header, which is not secret).
func (c *Client) emitVerified(ctx context.Context, raw string, idt *oidc.IDToken, err error, nonce bool) {
	if !c.cfg.Events.Enabled() || raw == "" {
		return
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if i := strings.IndexByte(raw, '.'); i > 0 {
		if b, e := base64.RawURLEncoding.DecodeString(raw[:i]); e == nil {
			json.Unmarshal(b, &h)
		}
	}
	attrs := []slog.Attr{slog.String("alg", h.Alg), slog.String("kid", h.Kid), slog.Bool("nonce_checked", nonce)}
	if idt != nil {
		attrs = append(attrs, slog.Bool("at_hash_checked", idt.AccessTokenHash != ""), slog.Int("aud_count", len(idt.Audience)))
	}
	c.emit(ctx, event.Event{Kind: event.IDTokenVerified, Err: err, Attrs: attrs})
}
