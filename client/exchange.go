package client

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/dpop"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
)

// Result is what a completed sign-in yields.
type Result struct {
	// Token holds the access token, its type and expiry, and the refresh
	// token when one was issued.
	Token *oauth2.Token
	// IDToken is the raw, verified ID token ("" for plain OAuth 2.0).
	IDToken string
	// Issuer is the ID token's iss ("" for plain OAuth 2.0).
	Issuer string
	// DPoPKey is the key the tokens are bound to (Config.DPoP, and a
	// provider that bound them: token type DPoP); nil otherwise.
	DPoPKey *ecdsa.PrivateKey
	// User is who signed in, as the provider asserted it; User.Provider is
	// the provider's Name.
	User confidant.User
}

// exchange finishes the sign-in attempt l with the authorization code the
// provider sent to the callback: it redeems the code at the token endpoint
// over the back channel (client secret and PKCE verifier), verifies the ID
// token and, with FetchUserInfo, loads and checks userinfo. formUser is
// the unsigned "user" field of a form_post response (Apple's), or "".
//
// The callback's state has been checked against l.State (Callback, or the
// middleware's flow cookie) before it is called.
func (c *Client) exchange(ctx context.Context, code string, l *Login, formUser string) (*Result, error) {
	r, err := c.resolve(ctx)
	if err != nil {
		return nil, err
	}
	var key *ecdsa.PrivateKey
	if c.cfg.DPoP {
		key = dpop.NewKey()
	}
	tok, err := c.redeemCode(ctx, r, code, l, key)
	if err != nil {
		return nil, err
	}
	res, err := c.finish(ctx, r, l, tok, key, formUser)
	if err != nil {
		// The provider issued tokens for a sign-in that is refused here:
		// they must not outlive it.
		c.discard(ctx, tok)
		return nil, err
	}
	return res, nil
}

// redeemCode redeems code at the token endpoint for l (the PKCE verifier),
// bound to key when not nil: the tokens as the provider sent them, not
// verified yet.
func (c *Client) redeemCode(ctx context.Context, r *resolved, code string, l *Login, key *ecdsa.PrivateKey) (*oauth2.Token, error) {
	start := time.Now()
	style := c.authStyle(r.ep)
	tok, err := c.oauth2Config(r.ep, style).Exchange(c.ctx(ctx, r.ep, style, nil, key), code, oauth2.VerifierOption(l.Verifier))
	if err != nil {
		err = tokenError(err)
		if fb := c.fallbackStyle(r.ep, style, err); fb != AuthStyleAuto {
			// The client was refused before the code was looked at: the
			// code is still good for one more try with the other method.
			if tok, err = c.oauth2Config(r.ep, fb).Exchange(c.ctx(ctx, r.ep, fb, nil, key), code, oauth2.VerifierOption(l.Verifier)); err == nil {
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
	if tok.RefreshToken == "" && slices.Contains(c.cfg.Scopes, "offline_access") && c.noRT.CompareAndSwap(false, true) {
		// Sessions of this provider end with their first access token.
		c.emit(ctx, event.Event{Kind: event.NoRefreshToken, Flow: event.Redact(l.State),
			Err: fmt.Errorf("%w: asked for offline_access, got no refresh token: sessions end when the access token does (%ds); allow the refresh_token grant for the client at the provider", fail.NoRefreshToken, tok.ExpiresIn)})
	}
	return tok, nil
}

// discard revokes tok, best effort, for a sign-in refused after the
// provider issued it (an ID token or userinfo that fails a check). It runs
// even when ctx is cancelled, for at most 5 seconds, and reports only an
// event: the sign-in has failed already.
func (c *Client) discard(ctx context.Context, tok *oauth2.Token) {
	if tok == nil || (tok.AccessToken == "" && tok.RefreshToken == "") {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := c.Revoke(ctx, tok)
	c.emit(ctx, event.Event{Kind: event.CodeExchanged, Err: err, Attrs: []slog.Attr{slog.Bool("discarded", true),
		slog.Bool("revoked", err == nil), slog.Bool("refresh_token", tok.RefreshToken != "")}})
}

// finish verifies what the code exchange returned and builds the Result.
func (c *Client) finish(ctx context.Context, r *resolved, l *Login, tok *oauth2.Token, key *ecdsa.PrivateKey, formUser string) (*Result, error) {
	res := &Result{Token: tok}
	if key != nil && strings.EqualFold(tok.Type(), "DPoP") {
		res.DPoPKey = key
	}
	if r.ep.Issuer == "" {
		load := c.cfg.Provider.q.UserLoader
		if load == nil && r.ep.asIssuer != "" {
			return nil, fmt.Errorf("%w: %s is an OAuth 2.0 authorization server without OpenID Connect (its RFC 8414 metadata has no jwks_uri): no ID token says who signed in", fail.NotSupported, r.ep.asIssuer)
		}
		if load == nil {
			return nil, fmt.Errorf("%w: plain OAuth 2.0 providers need a user loader", fail.NotSupported)
		}
		hc := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(tok), Base: c.hc.Transport}, Timeout: c.hc.Timeout}
		id, err := load(ctx, hc, tok)
		if err != nil {
			return nil, err
		}
		if id.Subject == "" {
			return nil, fmt.Errorf("%w: the user loader returned no subject", fail.UserInfo)
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
	if err := c.checkAuthentication(claims, l); err != nil {
		return nil, err
	}
	res.IDToken, res.Issuer = raw, idt.Issuer
	if c.cfg.FetchUserInfo && r.ep.UserInfoURL != "" {
		start := time.Now()
		claims, err = c.userInfo(ctx, r, tok, res.DPoPKey, idt.Subject, claims)
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
	if c.cfg.Provider.q.FormUser && res.User.Name == "" {
		// Apple's name of a first sign-in: unsigned, so a display name
		// only, never a claim a requirement could match.
		res.User.Name = formUserName(formUser)
	}
	return res, nil
}

// formUserName is the name in Apple's "user" field,
// {"name":{"firstName":…,"lastName":…},"email":…}, at most 256 bytes.
func formUserName(raw string) string {
	var u struct {
		Name struct {
			First string `json:"firstName"`
			Last  string `json:"lastName"`
		} `json:"name"`
	}
	if raw == "" || len(raw) > 4096 || json.Unmarshal([]byte(raw), &u) != nil {
		return ""
	}
	name := strings.TrimSpace(u.Name.First + " " + u.Name.Last)
	if len(name) > 256 {
		return ""
	}
	return netx.ProviderText(name)
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
	raw, _ := tok.Extra("id_token").(string)
	return []slog.Attr{slog.String("grant", grant), slog.String("client_auth", style.String()),
		slog.Int("access_token_len", len(tok.AccessToken)), slog.Bool("refresh_token", tok.RefreshToken != ""),
		slog.Int("id_token_len", len(raw)), slog.Int64("expires_in", tok.ExpiresIn), slog.String("token_type", tok.Type())}
}
