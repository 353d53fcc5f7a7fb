package client

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/url"
	"strings"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
)

// Callback finishes the sign-in attempt l (made by NewLogin, kept by the
// app until now) with the parameters the provider sent to the
// RedirectURL: the query of a redirect (r.URL.Query()) or, with a
// form_post ResponseMode, the form (r.PostForm). It does every check in
// the one safe order, each before anything after it is used:
//
//  1. with a JARM ResponseMode, the response JWT: its signature by the
//     provider's keys, iss, aud and exp (ErrInvalidResponse);
//  2. the state, compared with l.State in constant time, before any token
//     request (ErrInvalidResponse: the callback does not finish this sign-in);
//  3. the response's iss (RFC 9207; ErrInvalidResponse);
//  4. the provider's error (?error=access_denied, login_required, …),
//     returned as a *TokenError with StatusCode 0, never exchanged;
//  5. the code, redeemed at the token endpoint over the back channel with
//     the client's credentials and the PKCE verifier; the ID token
//     verified (signature from the JWKS, iss, aud, azp, exp, iat, nonce,
//     at_hash, and the acr and max_age the login asked for) and, with
//     FetchUserInfo, userinfo loaded and its sub checked.
//
// With the Apple preset, the form's "user" field (Apple's name of a first
// sign-in) gives Result.User.Name when the ID token has none; it came
// through the browser, unsigned, so it never enters User.Claims.
//
// A Login finishes at most once: delete it before calling Callback.
func (c *Client) Callback(ctx context.Context, params url.Values, l *Login) (*Result, error) {
	q, err := c.authorizationResponse(ctx, params)
	if err != nil {
		return nil, err
	}
	if err := checkState(q, l); err != nil {
		return nil, err
	}
	if err := c.checkResponseIssuer(ctx, q); err != nil {
		return nil, err
	}
	if err := providerError(q); err != nil {
		return nil, err
	}
	code := q.Get("code")
	if code == "" {
		return nil, fmt.Errorf("%w: no code", fail.CallbackRefused)
	}
	var user string
	if strings.HasPrefix(c.cfg.ResponseMode, "form_post") {
		user = q.Get("user")
	}
	return c.exchange(ctx, code, l, user)
}

// checkState compares the response's one state with the Login's in
// constant time.
func checkState(q url.Values, l *Login) error {
	st := q["state"]
	if l == nil || l.State == "" || len(st) != 1 || subtle.ConstantTimeCompare([]byte(st[0]), []byte(l.State)) != 1 {
		return fmt.Errorf("%w: the state is not the sign-in's", fail.CallbackRefused)
	}
	return nil
}

// providerError is the error of an error response, or nil. Its text came
// through the browser: shown, never trusted, and truncated.
func providerError(q url.Values) error {
	e := q.Get("error")
	if e == "" {
		return nil
	}
	return &TokenError{Code: netx.ProviderText(e), Description: netx.ProviderText(q.Get("error_description")), endpoint: authorizationEndpoint}
}
