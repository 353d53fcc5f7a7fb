package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/jwtpeek"
	"github.com/confidant-go/confidant/internal/lifetime"
	"github.com/confidant-go/confidant/internal/seam"
)

// previous is what a refresh must keep (seam.Previous).
type previous = seam.Previous

// Refresh redeems the refresh token of prev, the Result of the sign-in
// (Callback) or of the last refresh. The result's Token carries the new
// access token and the rotated refresh token, or the old refresh token
// when the provider returned none: keep it for the next refresh. When the
// provider returns a new ID token it is verified (signature, aud, azp,
// exp, iat; no nonce) and must keep prev's issuer, subject, audience, azp
// and auth_time (fail.IdentityChanged); Result.User then holds its claims
// (and userinfo's with FetchUserInfo). Without one, Result.IDToken and
// Result.User are prev's. Result.DPoPKey is prev's.
//
// invalid_grant gives an error wrapping ErrTokenRequest; an unreachable
// provider, a timeout or a 5xx gives ErrProviderUnavailable.
func (c *Client) Refresh(ctx context.Context, prev *Result) (*Result, error) {
	if prev == nil || prev.Token == nil {
		return nil, fail.NoRefreshToken
	}
	res, err := c.refreshWith(ctx, prev.Token.RefreshToken, previousOf(prev))
	if err != nil {
		return nil, err
	}
	if res.IDToken == "" {
		res.IDToken, res.User = prev.IDToken, prev.User
	}
	res.DPoPKey = prev.DPoPKey
	return res, nil
}

// previousOf is what a refresh of res must keep.
func previousOf(res *Result) previous {
	return seam.PreviousOf(res.Issuer, res.User.Subject, res.User.Claims, res.IDToken, res.DPoPKey)
}

// refreshWith redeems refreshToken, keeping prev (the middleware's refresh
// of a session). Result.IDToken and Result.User are set when the provider
// returned a new ID token, or with prev.RenewClaims when it was asked.
func (c *Client) refreshWith(ctx context.Context, refreshToken string, prev previous) (*Result, error) {
	if refreshToken == "" {
		return nil, fail.NoRefreshToken
	}
	r, err := c.resolve(ctx)
	if err != nil {
		return nil, err
	}
	c.emit(ctx, event.Event{Kind: event.RefreshStarted, Attrs: []slog.Attr{slog.String("refresh_token", event.Redact(refreshToken))}})
	start := time.Now()
	res, err := c.refresh(ctx, r, refreshToken, prev)
	if err != nil {
		c.emit(ctx, event.Event{Kind: event.RefreshFailed, Status: statusOf(err), Duration: time.Since(start), Err: err})
		return nil, err
	}
	attrs := append(tokenAttrs("refresh_token", c.authStyle(r.ep), res.Token),
		slog.Bool("rotated", res.Token.RefreshToken != refreshToken), slog.Bool("id_token_verified", res.IDToken != ""))
	c.emit(ctx, event.Event{Kind: event.RefreshDone, Status: http.StatusOK, Duration: time.Since(start), Attrs: attrs})
	return res, nil
}

// redeem makes a refresh_token grant, with extra form parameters, and
// returns the new token with the rotated refresh token (or the old one).
func (c *Client) redeem(ctx context.Context, r *resolved, refreshToken string, extra url.Values, key *ecdsa.PrivateKey) (*oauth2.Token, error) {
	style := c.authStyle(r.ep)
	tok, err := c.oauth2Config(r.ep, style).TokenSource(c.ctx(ctx, r.ep, style, extra, key), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		err = tokenError(err)
		if fb := c.fallbackStyle(r.ep, style, err); fb != AuthStyleAuto {
			if tok, err = c.oauth2Config(r.ep, fb).TokenSource(c.ctx(ctx, r.ep, fb, extra, key), &oauth2.Token{RefreshToken: refreshToken}).Token(); err == nil {
				c.learned.Store(int32(fb))
			} else {
				err = tokenError(err)
			}
		}
	}
	if err != nil {
		var te *TokenError
		if errors.As(err, &te) && (te.Code == "invalid_grant" || slices.Contains(c.cfg.Provider.q.RevokedCodes, te.Code)) {
			return nil, fmt.Errorf("%w: %w", fail.RefreshRevoked, err)
		}
		return nil, err
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = refreshToken
	}
	c.normalizeExpiry(tok)
	return tok, nil
}

// refreshFor redeems refreshToken for an access token of another API than
// the sign-in token's: a refresh grant with the API's resource indicator
// (RFC 8707; Auth0 takes it as the audience) and scopes (default: the
// grant's). It returns the API's token, carrying the rotated refresh token
// (or the old one when the provider rotates nothing); the caller keeps that
// for every later refresh. key is the session's DPoP key, or nil. Errors
// are those of Refresh.
func (c *Client) refreshFor(ctx context.Context, refreshToken string, key *ecdsa.PrivateKey, resource string, scopes []string) (*oauth2.Token, error) {
	if refreshToken == "" {
		return nil, fail.NoRefreshToken
	}
	r, err := c.resolve(ctx)
	if err != nil {
		return nil, err
	}
	extra := url.Values{}
	if resource != "" {
		if c.cfg.Provider.q.NoOfflineConsent { // Auth0 names APIs by audience
			extra.Set("audience", resource)
		} else {
			extra.Set("resource", resource)
		}
	}
	if len(scopes) > 0 {
		extra.Set("scope", strings.Join(scopes, " "))
	}
	c.emit(ctx, event.Event{Kind: event.RefreshStarted, Attrs: []slog.Attr{slog.String("refresh_token", event.Redact(refreshToken)), slog.String("resource", resource)}})
	start := time.Now()
	tok, err := c.redeem(ctx, r, refreshToken, extra, key)
	if err != nil {
		c.emit(ctx, event.Event{Kind: event.RefreshFailed, Status: statusOf(err), Duration: time.Since(start), Err: err, Attrs: []slog.Attr{slog.String("resource", resource)}})
		return nil, err
	}
	c.emit(ctx, event.Event{Kind: event.RefreshDone, Status: http.StatusOK, Duration: time.Since(start),
		Attrs: append(tokenAttrs("refresh_token", c.authStyle(r.ep), tok), slog.String("resource", resource), slog.Bool("rotated", tok.RefreshToken != refreshToken))})
	return tok, nil
}

func (c *Client) refresh(ctx context.Context, r *resolved, refreshToken string, prev previous) (*Result, error) {
	tok, err := c.redeem(ctx, r, refreshToken, nil, prev.DPoPKey)
	if err != nil {
		return nil, err
	}
	res := &Result{Token: tok, Issuer: prev.Issuer}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" || r.ep.Issuer == "" {
		if prev.RenewClaims {
			return res, c.renewUser(ctx, r, res, prev)
		}
		return res, nil
	}
	idt, claims, err := c.verifyIDToken(ctx, r, raw, tok.AccessToken, "")
	c.emitVerified(ctx, raw, idt, err, false)
	if err != nil {
		return nil, err
	}
	if (prev.Issuer != "" && idt.Issuer != prev.Issuer) ||
		subtle.ConstantTimeCompare([]byte(idt.Subject), []byte(prev.Subject)) != 1 {
		return nil, fail.IdentityChanged
	}
	if len(prev.Audience) > 0 && !sameSet(prev.Audience, idt.Audience) {
		return nil, fmt.Errorf("%w: audience changed", fail.IdentityChanged)
	}
	if azp, _ := claims["azp"].(string); prev.AZP != "" && azp != "" && azp != prev.AZP {
		return nil, fmt.Errorf("%w: azp changed", fail.IdentityChanged)
	}
	if at, ok := claims["auth_time"].(float64); ok && !prev.AuthTime.IsZero() && int64(at) != prev.AuthTime.Unix() {
		return nil, fmt.Errorf("%w: auth_time changed", fail.IdentityChanged)
	}
	// The claims are what the provider asserts now: the new ID token's,
	// and userinfo's asked again (nothing of the old session's is kept,
	// so a group removed at the provider is gone).
	if claims, err = c.refreshUserInfo(ctx, r, tok, prev, idt.Subject, claims); err != nil {
		return nil, err
	}
	if res.User, err = c.userFrom(claims); err != nil {
		return nil, err
	}
	res.IDToken, res.Issuer = raw, idt.Issuer
	return res, nil
}

// refreshUserInfo adds userinfo's claims to those of a refreshed ID token,
// asked with the new access token, when the client fetches userinfo. A
// userinfo about another subject ends the session (ErrInvalidIDToken); a
// userinfo that cannot be had now keeps the claims it gave before (the
// session's claims that its ID token did not carry), until the next
// refresh: the new tokens, the rotated refresh token among them, must not
// be lost to it. Nothing of the old ID token's is kept.
func (c *Client) refreshUserInfo(ctx context.Context, r *resolved, tok *oauth2.Token, prev previous, sub string, claims map[string]any) (map[string]any, error) {
	if !c.cfg.FetchUserInfo || r.ep.UserInfoURL == "" {
		return claims, nil
	}
	start := time.Now()
	got, err := c.userInfo(ctx, r, tok, prev.DPoPKey, sub, claims)
	c.emit(ctx, event.Event{Kind: event.UserinfoFetched, Duration: time.Since(start), Err: err,
		Attrs: []slog.Attr{slog.Bool("refresh", true), slog.Bool("sub_matches", !errors.Is(err, errUserInfoSubject))}})
	switch {
	case err == nil:
		return got, nil
	case errors.Is(err, errUserInfoSubject):
		return nil, fmt.Errorf("%w: %w", fail.IdentityChanged, err)
	}
	// Userinfo's former claims are those of the session that its ID token
	// did not carry: only they are kept, never the old ID token's.
	var kept, oldIDToken map[string]any
	if _, payload, ok := jwtpeek.Split(prev.IDToken); ok {
		json.Unmarshal(payload, &oldIDToken)
	}
	if json.Unmarshal(prev.Claims, &kept) == nil {
		for k, v := range kept {
			if _, ok := claims[k]; !ok && !idTokenOnly[k] && (oldIDToken == nil || oldIDToken[k] == nil) {
				claims[k] = v
			}
		}
	}
	return claims, nil
}

// idTokenOnly are the claims that describe an ID token, not the user:
// userinfo never replaces them.
var idTokenOnly = map[string]bool{"iss": true, "sub": true, "aud": true, "exp": true, "iat": true, "nbf": true,
	"auth_time": true, "nonce": true, "acr": true, "amr": true, "azp": true, "sid": true, "at_hash": true,
	"c_hash": true, "jti": true, "tid": true}

// renewUser asks the provider for the user's claims again after a refresh
// that brought no ID token (Previous.RenewClaims): userinfo's, with the
// claims of the session's ID token (verified when it came) that describe
// the sign-in, or a plain OAuth 2.0 provider's user API. Another subject ends the session
// (ErrInvalidIDToken); a provider that cannot answer now leaves
// res.User empty, and the session keeps its claims until the next try.
func (c *Client) renewUser(ctx context.Context, r *resolved, res *Result, prev previous) error {
	start := time.Now()
	var (
		u   confidant.User
		err error
	)
	switch {
	case r.ep.Issuer == "":
		load := c.cfg.Provider.q.UserLoader
		if load == nil {
			return nil
		}
		hc := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(res.Token), Base: c.hc.Transport}, Timeout: c.hc.Timeout}
		if u, err = load(ctx, hc, res.Token); err == nil && subtle.ConstantTimeCompare([]byte(u.Subject), []byte(prev.Subject)) != 1 {
			err = errUserInfoSubject
		}
		u.Provider = c.cfg.Provider.Name()
	case r.ep.UserInfoURL != "":
		var ui map[string]any
		if ui, err = c.userInfo(ctx, r, res.Token, prev.DPoPKey, prev.Subject, map[string]any{}); err == nil {
			// What the provider asserts now is userinfo's answer: of the
			// ID token the session holds, only the claims that describe
			// the sign-in (iss, aud, auth_time, acr, sid, …) stay.
			claims := map[string]any{}
			if _, payload, ok := jwtpeek.Split(prev.IDToken); ok {
				var old map[string]any
				json.Unmarshal(payload, &old)
				for k, v := range old {
					if idTokenOnly[k] && k != "nonce" && k != "at_hash" && k != "c_hash" {
						claims[k] = v
					}
				}
			}
			for k, v := range ui {
				if !idTokenOnly[k] {
					claims[k] = v
				}
			}
			u, err = c.userFrom(claims)
		}
	default:
		return nil
	}
	c.emit(ctx, event.Event{Kind: event.UserinfoFetched, Duration: time.Since(start), Err: err,
		Attrs: []slog.Attr{slog.Bool("refresh", true), slog.Bool("sub_matches", !errors.Is(err, errUserInfoSubject))}})
	switch {
	case err == nil:
		res.User = u
	case errors.Is(err, errUserInfoSubject):
		return fmt.Errorf("%w: %w", fail.IdentityChanged, err)
	}
	return nil
}

// TokenSource returns an oauth2.TokenSource for work outside a request, such
// as a background job holding a stored sign-in (res, the Result of
// Callback or Refresh; its Token needs a refresh token). It hands out the
// current token while it is not due (a minute before expiry, never more
// than half the token's lifetime) and refreshes it otherwise, as Refresh
// does, one refresh at a time however many goroutines call Token. The
// token it hands out carries the rotated refresh token: store it when it
// changes. ctx bounds every refresh.
func (c *Client) TokenSource(ctx context.Context, res *Result) oauth2.TokenSource {
	var cur Result
	if res != nil {
		cur = *res
	}
	var tok oauth2.Token // none: the first Token fails with fail.NoRefreshToken
	if cur.Token != nil {
		tok = *cur.Token
	}
	cur.Token = &tok
	var issued time.Time // unknown: the leeway is not capped
	if tok.ExpiresIn > 0 && !tok.Expiry.IsZero() {
		issued = tok.Expiry.Add(-time.Duration(tok.ExpiresIn) * time.Second)
	}
	return &refreshingSource{c: c, ctx: ctx, cur: &cur, issued: issued}
}

type refreshingSource struct {
	c      *Client
	ctx    context.Context
	mu     sync.Mutex
	cur    *Result
	issued time.Time // when cur.Token was obtained; zero when unknown
}

func (s *refreshingSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.Token.AccessToken != "" && !lifetime.Due(s.c.cfg.Now(), s.issued, s.cur.Token.Expiry, time.Minute) {
		return s.cur.Token, nil
	}
	res, err := s.c.Refresh(s.ctx, s.cur)
	if err != nil {
		return nil, err
	}
	s.cur, s.issued = res, s.c.cfg.Now()
	return res.Token, nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// ClientCredentials gets the app's own access token (the client_credentials
// grant, RFC 6749 4.4), for service calls made on no user's behalf: for
// resource (RFC 8707; Auth0's audience) when set, with scopes. The client
// authenticates as for every token request (secret, or private_key_jwt).
func (c *Client) ClientCredentials(ctx context.Context, resource string, scopes []string) (*oauth2.Token, error) {
	r, err := c.resolve(ctx)
	if err != nil {
		return nil, err
	}
	style := c.authStyle(r.ep)
	oc := c.oauth2Config(r.ep, style)
	cc := clientcredentials.Config{ClientID: oc.ClientID, ClientSecret: oc.ClientSecret, TokenURL: oc.Endpoint.TokenURL,
		Scopes: scopes, AuthStyle: oc.Endpoint.AuthStyle, EndpointParams: url.Values{}}
	if resource != "" {
		if c.cfg.Provider.q.NoOfflineConsent { // Auth0 names APIs by audience
			cc.EndpointParams.Set("audience", resource)
		} else {
			cc.EndpointParams.Set("resource", resource)
		}
	}
	start := time.Now()
	tok, err := cc.Token(c.ctx(ctx, r.ep, style, nil, nil))
	if err != nil {
		err = tokenError(err)
		c.emit(ctx, event.Event{Kind: event.RefreshFailed, Status: statusOf(err), Duration: time.Since(start), Err: err,
			Attrs: []slog.Attr{slog.String("grant", "client_credentials"), slog.String("resource", resource)}})
		return nil, err
	}
	c.normalizeExpiry(tok)
	c.emit(ctx, event.Event{Kind: event.RefreshDone, Status: http.StatusOK, Duration: time.Since(start),
		Attrs: append(tokenAttrs("client_credentials", style, tok), slog.String("resource", resource))})
	return tok, nil
}

// tokenExchangeGrant is the grant type of token exchange (RFC 8693).
const tokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange"

// ExchangeToken trades subjectToken, an access token the provider issued
// to this client for a user, for a token for another API (token exchange,
// RFC 8693): for resource (or Auth0's audience), with scopes. The refresh
// token is not used, so nothing rotates.
func (c *Client) ExchangeToken(ctx context.Context, subjectToken, resource string, scopes []string) (*oauth2.Token, error) {
	r, err := c.resolve(ctx)
	if err != nil {
		return nil, err
	}
	form := url.Values{"grant_type": {tokenExchangeGrant}, "subject_token": {subjectToken},
		"subject_token_type":   {"urn:ietf:params:oauth:token-type:access_token"},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}
	if resource != "" {
		if c.cfg.Provider.q.NoOfflineConsent {
			form.Set("audience", resource)
		} else {
			form.Set("resource", resource)
		}
	}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	style := c.authStyle(r.ep)
	start := time.Now()
	status, body, err := c.postForm(ctx, "token exchange", r.ep.TokenURL, form, style)
	if err == nil && status != http.StatusOK {
		err = tokenErrorOf(status, body)
	}
	var tok *oauth2.Token
	if err == nil {
		tok, err = c.tokenFromJSON(body)
	}
	if err != nil {
		c.emit(ctx, event.Event{Kind: event.RefreshFailed, Status: statusOf(err), Duration: time.Since(start), Err: err,
			Attrs: []slog.Attr{slog.String("grant", "token_exchange"), slog.String("resource", resource)}})
		return nil, err
	}
	c.emit(ctx, event.Event{Kind: event.RefreshDone, Status: http.StatusOK, Duration: time.Since(start),
		Attrs: append(tokenAttrs("token_exchange", style, tok), slog.String("resource", resource))})
	return tok, nil
}

// tokenFromJSON reads a token response (RFC 6749 5.1).
func (c *Client) tokenFromJSON(body []byte) (*oauth2.Token, error) {
	var raw map[string]any
	var t struct {
		AccessToken  string      `json:"access_token"`
		TokenType    string      `json:"token_type"`
		RefreshToken string      `json:"refresh_token"`
		ExpiresIn    json.Number `json:"expires_in"`
	}
	if json.Unmarshal(body, &t) != nil || json.Unmarshal(body, &raw) != nil || t.AccessToken == "" {
		return nil, fmt.Errorf("%w: the token response has no access_token", fail.TokenRequest)
	}
	tok := (&oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, RefreshToken: t.RefreshToken}).WithExtra(raw)
	if n, err := t.ExpiresIn.Int64(); err == nil && n > 0 {
		tok.ExpiresIn = n
	}
	c.normalizeExpiry(tok)
	return tok, nil
}
