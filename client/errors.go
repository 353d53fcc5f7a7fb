package client

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/internal/netx"
)

var (
	// ErrConfig is wrapped by every configuration error returned by New and
	// NewProvider.
	ErrConfig = errors.New("client: invalid configuration")

	// ErrDiscovery means the provider's discovery document was refused: it
	// could not be parsed or names another issuer. Retrying will not help.
	ErrDiscovery = errors.New("client: discovery failed")

	// ErrProviderUnavailable means the provider could not be reached or
	// answered with a server error (network failure, timeout, 5xx, 429).
	// Retrying later may succeed.
	ErrProviderUnavailable = errors.New("client: provider unavailable")

	// ErrTokenRequest means the token endpoint refused a request (an OAuth
	// error response such as invalid_grant). A *TokenError with the
	// provider's error code is in the chain.
	ErrTokenRequest = errors.New("client: token request refused")

	// ErrNoIDToken means an OpenID Connect token response carried no id_token.
	ErrNoIDToken = errors.New("client: no id_token in token response")

	// ErrInvalidIDToken means the ID token failed verification: signature,
	// algorithm, issuer, audience, azp, expiry or issued-at. It is the
	// family of ErrNonceMismatch, ErrAccessTokenHash, ErrIdentityChanged and
	// ErrHostedDomain.
	ErrInvalidIDToken = errors.New("client: invalid id_token")

	// ErrNonceMismatch means the ID token's nonce is not the one sent with
	// the authorization request.
	ErrNonceMismatch = fmt.Errorf("%w: nonce mismatch", ErrInvalidIDToken)

	// ErrAccessTokenHash means the ID token's at_hash does not match the
	// access token it came with.
	ErrAccessTokenHash = fmt.Errorf("%w: at_hash mismatch", ErrInvalidIDToken)

	// ErrUserInfo means the userinfo response was refused, for instance
	// because its sub differs from the ID token's.
	ErrUserInfo = errors.New("client: invalid userinfo response")

	// ErrTokenExpired means an access token has expired and cannot be used.
	ErrTokenExpired = errors.New("client: access token expired")

	// ErrNoToken means there is no access token to use.
	ErrNoToken = errors.New("client: no access token")

	// ErrNotSupported means the provider does not offer what was asked
	// (for instance revocation without a revocation endpoint).
	ErrNotSupported = errors.New("client: not supported by provider")
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
	if target == ErrProviderUnavailable {
		return e.unavailable()
	}
	return target == ErrTokenRequest && !e.unavailable() && e.endpoint != authorizationEndpoint
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
		return fmt.Errorf("%w: %w: token endpoint", ErrProviderUnavailable, ErrResponseTooLarge)
	}
	return fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
}

// tooLarge reports whether err comes from a provider response cut off at
// maxResponseBytes. x/oauth2 and go-oidc format the body's read error with
// %v, so its chain is lost but its text is not.
func tooLarge(err error) bool {
	return err != nil && (errors.Is(err, ErrResponseTooLarge) || strings.Contains(err.Error(), ErrResponseTooLarge.Error()))
}

// keepTooLarge is wrapped, with ErrResponseTooLarge back in its chain when
// cause says a response was cut off.
func keepTooLarge(wrapped, cause error) error {
	if !errors.Is(wrapped, ErrResponseTooLarge) && tooLarge(cause) {
		return fmt.Errorf("%w (%w)", wrapped, ErrResponseTooLarge)
	}
	return wrapped
}
