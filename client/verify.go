package client

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
)

// verifyIDToken checks raw as DESIGN.md lists: signature against the JWKS
// (refetched on an unknown kid) with an allowed algorithm (never "none") and
// iss, through go-oidc; then aud, azp, exp and iat with ClockSkew, nonce in
// constant time, and at_hash when present.
func (c *Client) verifyIDToken(ctx context.Context, r *resolved, raw, accessToken, nonce string) (*oidc.IDToken, map[string]any, error) {
	if raw == "" {
		return nil, nil, fail.NoIDToken
	}
	if err := c.checkFAPIAlg(raw, ErrInvalidIDToken); err != nil {
		return nil, nil, err
	}
	idt, err := r.verify(ctx, c.cfg.Provider.httpClient(), raw)
	if errors.Is(err, ErrProviderUnavailable) {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, keepTooLarge(fmt.Errorf("%w: %v", ErrInvalidIDToken, err), err)
	}
	if !slices.Contains(idt.Audience, c.cfg.ClientID) {
		return nil, nil, fmt.Errorf("%w: audience %q does not include the client ID", ErrInvalidIDToken, idt.Audience)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	if r.tenants != nil {
		if err := r.tenants.check(idt.Issuer, claims); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
		}
	}
	azp, _ := claims["azp"].(string)
	if azp != "" && azp != c.cfg.ClientID {
		return nil, nil, fmt.Errorf("%w: azp %q is not the client ID", ErrInvalidIDToken, azp)
	}
	if len(idt.Audience) > 1 && azp == "" && !c.cfg.Provider.q.MultiAudNoAZP {
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
		return nil, nil, fail.NonceMismatch
	}
	if hd := c.cfg.Provider.q.HostedDomain; hd != "" {
		if got, _ := claims["hd"].(string); got != hd {
			return nil, nil, fail.HostedDomain
		}
	}
	if idt.AccessTokenHash != "" && accessToken != "" {
		if err := idt.VerifyAccessToken(accessToken); err != nil {
			return nil, nil, fail.AccessTokenHash
		}
	}
	return idt, claims, nil
}

// ErrInsufficientAuthentication means the ID token does not show the
// authentication the sign-in asked for: its acr is not one of acr_values,
// or its auth_time is older than max_age (or missing).
var ErrInsufficientAuthentication error = fail.InsufficientAuthentication

// requirement is what the app configured every sign-in to ask for
// (Config.AuthParams): each ID token the code exchange returns must show it,
// whatever a sign-in's own parameters said.
type requirement struct {
	acr    []string      // acr_values: the token's acr is one of them
	maxAge time.Duration // max_age: auth_time at most this old
	org    string        // Auth0's organization: an ID (org_…) or a name
}

func requirementOf(configured url.Values, orgClaims bool) (requirement, error) {
	var req requirement
	req.acr = strings.Fields(strings.Join(configured["acr_values"], " "))
	if v := configured.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return req, fmt.Errorf("%w: AuthParams max_age %q is not a number of seconds", fail.ClientConfig, v)
		}
		req.maxAge = max(time.Duration(n)*time.Second, time.Nanosecond)
	}
	if orgClaims {
		req.org = configured.Get("organization")
	}
	return req, nil
}

// checkAuthentication verifies the ID token's acr and auth_time against
// what l asked for (OpenID Connect Core 3.1.3.7, steps 11 to 13), and
// against what the app requires of every sign-in, so that a Login made
// with weaker parameters (or by hand) cannot pass what the app configured.
func (c *Client) checkAuthentication(claims map[string]any, l *Login) error {
	if err := c.checkACR(claims, l.ACRValues); err != nil {
		return err
	}
	if err := c.checkACR(claims, c.required.acr); err != nil {
		return err
	}
	maxAge := l.MaxAge
	if c.required.maxAge > 0 && (maxAge == 0 || c.required.maxAge < maxAge) {
		maxAge = c.required.maxAge
	}
	if maxAge > 0 {
		at, ok := claims["auth_time"].(float64)
		if !ok {
			return fmt.Errorf("%w: no auth_time, asked for max_age", ErrInsufficientAuthentication)
		}
		if age := c.cfg.Now().Sub(time.Unix(int64(at), 0)); age > maxAge+c.cfg.ClockSkew {
			return fmt.Errorf("%w: authenticated %s ago, max_age %s", ErrInsufficientAuthentication, age.Round(time.Second), maxAge)
		}
	}
	if org := c.required.org; org != "" {
		// Auth0: an organization given by ID comes back in org_id, one
		// given by name in org_name, lowercased.
		claim, match := "org_id", org
		if !strings.HasPrefix(org, "org_") {
			claim, match = "org_name", strings.ToLower(org)
		}
		if got, _ := claims[claim].(string); got != match {
			return fmt.Errorf("%w: %s %q, the app pins organization %q", ErrInvalidIDToken, claim, netx.ProviderText(got), org)
		}
	}
	return nil
}

func (c *Client) checkACR(claims map[string]any, want []string) error {
	if len(want) == 0 {
		return nil
	}
	acr, _ := claims["acr"].(string)
	if !slices.Contains(want, acr) {
		return fmt.Errorf("%w: acr %q, asked for %q", ErrInsufficientAuthentication, netx.ProviderText(acr), strings.Join(want, " "))
	}
	return nil
}

// emitVerified reports an ID token check with the token's alg and kid
// (from its header, which is not secret).
func (c *Client) emitVerified(ctx context.Context, raw string, idt *oidc.IDToken, err error, nonce bool) {
	if !c.sink.Detailed() || raw == "" {
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
