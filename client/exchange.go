package client

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/event"
)

// Result is what a completed sign-in yields.
type Result struct {
	// Token holds the access token, its type and expiry, and the refresh
	// token when one was issued.
	Token *oauth2.Token
	// IDToken is the raw, verified ID token ("" for plain OAuth 2.0).
	IDToken string
	// Scope is the granted scope when the provider reported it.
	Scope string
	// Issuer is the ID token's iss ("" for plain OAuth 2.0).
	Issuer string
	// User is who signed in, as the provider asserted it; User.Provider is
	// the provider's Name.
	User confidant.User
}

// Exchange finishes the sign-in attempt l with the authorization code the
// provider sent to the callback: it redeems the code at the token endpoint
// over the back channel (client secret and PKCE verifier), verifies the ID
// token and, with FetchUserInfo, loads and checks userinfo.
//
// The caller must have checked the callback's state against l.State before
// calling Exchange.
func (c *Client) Exchange(ctx context.Context, code string, l *Login) (*Result, error) {
	r, err := c.cfg.Provider.resolve(ctx)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	style := c.authStyle(r.ep)
	tok, err := c.oauth2Config(r.ep, style).Exchange(c.ctx(ctx), code, oauth2.VerifierOption(l.Verifier))
	if err != nil {
		err = tokenError(err)
		if fb := c.fallbackStyle(r.ep, style, err); fb != AuthStyleAuto {
			// The client was refused before the code was looked at: the
			// code is still good for one more try with the other method.
			if tok, err = c.oauth2Config(r.ep, fb).Exchange(c.ctx(ctx), code, oauth2.VerifierOption(l.Verifier)); err == nil {
				c.learned.Store(int32(fb))
				style = fb
			} else {
				err = tokenError(err)
			}
		}
	}
	if err != nil {
		c.emit(ctx, event.Event{Kind: event.CodeExchanged, Flow: event.Redact(l.State), Status: statusOf(err),
			Duration: time.Since(start), Err: err, Attrs: []slog.Attr{slog.String("grant", "authorization_code")}})
		return nil, err
	}
	c.normalizeExpiry(tok)
	c.emit(ctx, event.Event{Kind: event.CodeExchanged, Flow: event.Redact(l.State), Status: http.StatusOK, Duration: time.Since(start),
		Attrs: tokenAttrs("authorization_code", style, tok)})
	res := &Result{Token: tok}
	if s, ok := tok.Extra("scope").(string); ok {
		res.Scope = s
	}
	if r.ep.Issuer == "" {
		load := c.cfg.Provider.q.userLoader
		if load == nil {
			return nil, fmt.Errorf("%w: plain OAuth 2.0 providers need a user loader", ErrNotSupported)
		}
		hc := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(tok), Base: c.cfg.HTTPClient.Transport}, Timeout: c.cfg.HTTPClient.Timeout}
		id, err := load(ctx, hc, tok)
		if err != nil {
			return nil, err
		}
		if id.Subject == "" {
			return nil, fmt.Errorf("%w: the user loader returned no subject", ErrUserInfo)
		}
		id.Provider = c.cfg.Provider.Name()
		res.User = id
		return res, nil
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, claims, err := c.verifyIDToken(ctx, r, raw, tok.AccessToken, l.Nonce)
	c.emitVerified(ctx, raw, idt, err, true)
	if err != nil {
		return nil, err
	}
	res.IDToken, res.Issuer = raw, idt.Issuer
	if c.cfg.FetchUserInfo && r.ep.UserInfoURL != "" {
		start := time.Now()
		claims, err = c.userInfo(ctx, r, tok, idt.Subject, claims)
		c.emit(ctx, event.Event{Kind: event.UserinfoFetched, Flow: event.Redact(l.State), Duration: time.Since(start), Err: err,
			Attrs: []slog.Attr{slog.Bool("sub_matches", err == nil)}})
		if err != nil {
			return nil, err
		}
	}
	res.User, err = c.userFrom(claims)
	if err != nil {
		return nil, err
	}
	return res, nil
}

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

// userInfo fetches the userinfo endpoint with tok, requires its sub to equal
// sub, and returns claims with the userinfo claims added.
func (c *Client) userInfo(ctx context.Context, r *resolved, tok *oauth2.Token, sub string, claims map[string]any) (map[string]any, error) {
	ui, err := r.oidc.UserInfo(oidc.ClientContext(ctx, c.cfg.HTTPClient), oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUserInfo, err)
	}
	if subtle.ConstantTimeCompare([]byte(ui.Subject), []byte(sub)) != 1 {
		return nil, fmt.Errorf("%w: userinfo sub differs from the id_token's", ErrUserInfo)
	}
	var extra map[string]any
	if err := ui.Claims(&extra); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUserInfo, err)
	}
	for k, v := range extra {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
	return claims, nil
}

// userFrom describes the user of verified claims.
func (c *Client) userFrom(claims map[string]any) (confidant.User, error) {
	raw, err := json.Marshal(claims)
	if err != nil {
		return confidant.User{}, fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	str := func(k string) string { s, _ := claims[k].(string); return s }
	id := confidant.User{Provider: c.cfg.Provider.Name(), Subject: str("sub"), Name: str("name"), Email: str("email"), Picture: str("picture"), Claims: raw}
	if id.Name == "" {
		id.Name = str("preferred_username")
	}
	switch v := claims["email_verified"].(type) {
	case bool:
		id.EmailVerified = v
	case string: // some providers send "true"
		id.EmailVerified = v == "true"
	}
	return id, nil
}

// statusOf is the HTTP status behind a token endpoint error, when known.
func statusOf(err error) int {
	var te *TokenError
	if errors.As(err, &te) {
		return te.StatusCode
	}
	return 0
}

// tokenAttrs describes a token response without any of its values.
func tokenAttrs(grant string, style AuthStyle, tok *oauth2.Token) []slog.Attr {
	auth := "client_secret_basic"
	if style == AuthStylePost {
		auth = "client_secret_post"
	}
	raw, _ := tok.Extra("id_token").(string)
	return []slog.Attr{slog.String("grant", grant), slog.String("client_auth", auth),
		slog.Int("access_token_len", len(tok.AccessToken)), slog.Bool("refresh_token", tok.RefreshToken != ""),
		slog.Int("id_token_len", len(raw)), slog.Int64("expires_in", tok.ExpiresIn), slog.String("token_type", tok.Type())}
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
