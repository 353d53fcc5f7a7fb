package client

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
)

// The families of this package's errors, to test with errors.Is; a
// configuration error matches confidant.ErrConfig. Each family has
// children, which the text says and middleware.StatusCode and
// metrics.Reason tell apart.
var (
	// ErrProviderUnavailable means the provider could not be reached or
	// answered with a server error (network failure, timeout, 5xx, 429).
	// Retrying later may succeed.
	ErrProviderUnavailable error = fail.ProviderUnavailable

	// ErrTokenRequest means the provider refused a request: the token
	// endpoint answered with an OAuth error (a *TokenError in the chain
	// has its code), the refresh token was revoked or has expired
	// (invalid_grant: the user must sign in again), or a pushed
	// authorization request (RFC 9126) was refused.
	ErrTokenRequest error = fail.ProviderRefused

	// ErrInvalidIDToken means the ID token failed verification: signature,
	// algorithm, issuer, audience, azp, expiry, issued-at, nonce, at_hash,
	// a refreshed one naming another identity, or Google's hosted domain
	// (providers.WithHostedDomain).
	ErrInvalidIDToken error = fail.InvalidIDToken

	// ErrInvalidResponse means another answer of the provider was refused:
	// a token response without the id_token OpenID Connect needs, a
	// userinfo response (its sub differs from the ID token's), an
	// authorization response from another issuer (RFC 9207: a mix-up; its
	// code is never redeemed) or whose JWT (JARM) failed its checks, a
	// discovery document that does not parse or names another issuer, a
	// response larger than the SDK reads, a back-channel logout token.
	ErrInvalidResponse error = fail.InvalidResponse

	// ErrNoToken means there is no usable token: no access token, one that
	// has expired, or no refresh token to renew it with.
	ErrNoToken error = fail.NoUsableToken
)

// TokenError is an OAuth 2.0 error response from the provider: the token or
// revocation endpoint's (RFC 6749 section 5.2), or the authorization
// response's that Callback received (section 4.1.2.1: access_denied,
// login_required, …; StatusCode 0). It never holds the request's secrets.
type TokenError struct {
	StatusCode  int    // HTTP status of the response; 0 for an authorization response
	Code        string // the "error" field, e.g. "invalid_grant"
	Description string // the "error_description" field, at most 256 bytes

	endpoint string // which answered, in Error: "" for the token endpoint
}

// authorizationEndpoint is TokenError.endpoint for an authorization
// response's error.
const authorizationEndpoint = "authorization endpoint"

func (e *TokenError) Error() string {
	s := fmt.Sprintf("client: %s answered %d", cmp.Or(e.endpoint, "token endpoint"), e.StatusCode)
	if e.endpoint == authorizationEndpoint {
		s = "client: the provider answered the sign-in with"
	}
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Is makes a TokenError match ErrTokenRequest (not for an authorization
// response: no token was requested), or ErrProviderUnavailable for
// server-side failures, with errors.Is.
func (e *TokenError) Is(target error) bool {
	if e.unavailable() {
		return fail.ProviderUnavailable.Within(target)
	}
	if e.endpoint == authorizationEndpoint {
		return false // no token was requested
	}
	return fail.TokenRequest.Within(target)
}

// unavailable tells a provider that is down (a 5xx, 429 or 408, or the
// codes that say so, with any status) from one that refused the request.
func (e *TokenError) unavailable() bool {
	return transientStatus(e.StatusCode) || e.Code == "temporarily_unavailable" || e.Code == "server_error"
}

func transientStatus(code int) bool {
	return code >= 500 || code == 429 || code == 408
}

// tokenError turns an error from x/oauth2 into one that carries no response
// body (a body may echo secrets) and matches this package's sentinels.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		te := &TokenError{Code: netx.ProviderText(re.ErrorCode), Description: netx.ProviderText(re.ErrorDescription)}
		if re.Response != nil {
			te.StatusCode = re.Response.StatusCode
		}
		return te
	}
	if tooLarge(err) {
		// Kept as unavailable (a refresh keeps the session), and says why.
		return fmt.Errorf("%w: %w: token endpoint", ErrProviderUnavailable, fail.ResponseTooLarge)
	}
	return fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
}

// tooLarge reports whether err comes from a provider response cut off at
// maxResponseBytes. x/oauth2 and go-oidc format the body's read error with
// %v, so its chain is lost but its text is not.
func tooLarge(err error) bool {
	return err != nil && (errors.Is(err, fail.ResponseTooLarge) || strings.Contains(err.Error(), fail.ResponseTooLarge.Error()))
}

// keepTooLarge is wrapped, with fail.ResponseTooLarge back in its chain when
// cause says a response was cut off.
func keepTooLarge(wrapped, cause error) error {
	if !errors.Is(wrapped, fail.ResponseTooLarge) && tooLarge(cause) {
		return fmt.Errorf("%w (%w)", wrapped, fail.ResponseTooLarge)
	}
	return wrapped
}
