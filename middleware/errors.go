package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/session"
)

var (
	// ErrConfig is wrapped by every configuration error New returns; the
	// message names the field and the reason. A mistake only a request can
	// show (the Auth handler not mounted, HTTPClient called outside
	// Require and Optional) wraps it too, with status 500.
	ErrConfig = errors.New("middleware: invalid configuration")

	// ErrNotSignedIn means the request has no usable session. It is the
	// family of ErrSessionExpired and ErrSessionEnded.
	ErrNotSignedIn = errors.New("middleware: not signed in")

	// ErrBadCallback is the family of every callback refused before any
	// token request: ErrStateMissing, ErrStateMismatch,
	// ErrFlowCookieMissing, ErrStateExpired and ErrCodeMissing wrap it.
	// StatusCode gives them 400.
	ErrBadCallback = errors.New("middleware: bad callback")

	// ErrStateMissing means the callback carried no state parameter.
	ErrStateMissing = fmt.Errorf("%w: no state", ErrBadCallback)

	// ErrStateMismatch means the callback's state matches no sign-in
	// attempt of this browser: unknown, forged, or already used.
	ErrStateMismatch = fmt.Errorf("%w: unknown or reused state", ErrBadCallback)

	// ErrFlowCookieMissing means the callback came without any sign-in
	// cookie: the sign-in most likely started on another host than the
	// RedirectURL's (the app opened at 127.0.0.1 while the RedirectURL
	// says localhost), or cookies are blocked. errors.Is(err,
	// ErrStateMismatch) holds too. A callback that the browser says was
	// not reached from another site (Sec-Fetch-Site same-origin or none:
	// a link on the app's own page, or typed) is not one: it is
	// ErrStateMismatch alone.
	ErrFlowCookieMissing = fmt.Errorf("%w: the browser sent no sign-in cookie with the callback; was the sign-in started on another host than the RedirectURL's (127.0.0.1 and localhost are different hosts to a browser)?", ErrStateMismatch)

	// ErrStateExpired means the sign-in attempt took longer than FlowTTL.
	ErrStateExpired = fmt.Errorf("%w: sign-in attempt expired", ErrBadCallback)

	// ErrCodeMissing means the callback carried a valid state but no code.
	ErrCodeMissing = fmt.Errorf("%w: no code", ErrBadCallback)

	// ErrProviderError means the provider redirected back with an error
	// (?error=access_denied, …). A *ProviderError is in the chain.
	ErrProviderError = errors.New("middleware: provider returned an error")

	// ErrMethodNotAllowed means an auth endpoint was called with the wrong
	// method (e.g. GET /auth/logout without AllowGETLogout).
	ErrMethodNotAllowed = errors.New("middleware: method not allowed")

	// ErrUnknownProvider means /auth/login?provider= named no configured
	// provider.
	ErrUnknownProvider = errors.New("middleware: unknown provider")

	// ErrSignInRefused means Config.OnSignIn refused a sign-in; its error
	// is in the chain. No session was made. Status 403.
	ErrSignInRefused = errors.New("middleware: sign-in refused")

	// ErrForbidden means a signed-in user does not meet a route's
	// requirements (Claim, Scope, Value). Status 403.
	ErrForbidden = errors.New("middleware: not allowed")

	// ErrDistributedClaim means a Claim requirement met a claim that the
	// provider did not put in the token but points to elsewhere (OpenID
	// Connect Core 5.6.2 _claim_names; Entra's groups of a user in more
	// than 200): the request got 403, but the user may well hold it. It
	// wraps ErrForbidden.
	ErrDistributedClaim = fmt.Errorf("%w: the claim is held elsewhere (a distributed claim)", ErrForbidden)

	// ErrCrossOrigin means a page of another origin made the browser send
	// a request that only the app's own pages may send (sign-out): it was
	// refused with 403 and changed nothing.
	ErrCrossOrigin = errors.New("middleware: cross-origin request refused")

	// ErrSessionStore means the session store failed (not a missing or
	// invalid session, which is ErrNotSignedIn).
	ErrSessionStore = errors.New("middleware: session store failure")
)

// ProviderError is an error the provider sent to the callback (RFC 6749
// section 4.1.2.1).
type ProviderError struct {
	Code        string // "error", e.g. "access_denied" (at most 256 bytes)
	Description string // "error_description", at most 256 bytes, control characters replaced
}

func (e *ProviderError) Error() string {
	if e.Description != "" {
		return fmt.Sprintf("middleware: provider returned %s: %s", e.Code, e.Description)
	}
	return "middleware: provider returned " + e.Code
}

// Is makes a ProviderError match ErrProviderError.
func (e *ProviderError) Is(target error) bool { return target == ErrProviderError }

type failureKey struct{}

// FailureReason returns why the ErrorHandler was called for r: an error to
// test with errors.Is against this package's and the client package's
// sentinels. It returns nil outside an ErrorHandler.
func FailureReason(r *http.Request) error {
	err, _ := r.Context().Value(failureKey{}).(error)
	return err
}

// StatusCode is the HTTP status the SDK gives err: 400 for a bad callback,
// 401 when authentication failed, 403 when the user denied access, 405 for a
// wrong method, 500 for a configuration mistake found while serving (ErrConfig), 502 when the provider failed, 503 when the session store did.
func StatusCode(err error) int {
	var pe *ProviderError
	switch {
	case errors.Is(err, ErrBadCallback), errors.Is(err, client.ErrResponseIssuer): // before ProviderError: not this provider's answer
		return http.StatusBadRequest
	case errors.As(err, &pe):
		if pe.Code == "access_denied" {
			return http.StatusForbidden
		}
		if pe.Code == "temporarily_unavailable" || pe.Code == "server_error" {
			return http.StatusBadGateway
		}
		return http.StatusBadRequest
	case errors.Is(err, ErrMethodNotAllowed):
		return http.StatusMethodNotAllowed
	case errors.Is(err, ErrCrossOrigin), errors.Is(err, ErrSignInRefused), errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, session.ErrTooLarge), errors.Is(err, ErrConfig):
		return http.StatusInternalServerError // a configuration problem: retrying never helps
	case errors.Is(err, ErrSessionStore), errors.Is(err, ErrRefreshUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, client.ErrProviderUnavailable), errors.Is(err, client.ErrDiscovery), errors.Is(err, client.ErrPushedRequest):
		return http.StatusBadGateway
	case errors.Is(err, ErrNotSignedIn),
		errors.Is(err, client.ErrInvalidIDToken), errors.Is(err, client.ErrUserInfo),
		errors.Is(err, client.ErrNoIDToken), errors.Is(err, client.ErrInsufficientAuthentication):
		return http.StatusUnauthorized
	}
	return http.StatusBadRequest
}

func withFailure(r *http.Request, err error) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), failureKey{}, err))
}

// configErr is a configuration error from New.
func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// ErrRefreshUnavailable is the failure reason of a 503 given because the
// access token has expired and the provider could not refresh it.
var ErrRefreshUnavailable = errors.New("middleware: token refresh unavailable")

// ErrSessionExpired means the session's access token expired and it has no
// refresh token to renew it: the user is not signed in any more (see
// Config.KeepExpiredSessions). It wraps ErrNotSignedIn.
var ErrSessionExpired = fmt.Errorf("%w: access token expired and cannot be refreshed", ErrNotSignedIn)

// ErrSessionEnded means the session was ended elsewhere (sign-out on
// another instance, back-channel logout) while a request was using it. It
// wraps ErrNotSignedIn.
var ErrSessionEnded = fmt.Errorf("%w: session ended", ErrNotSignedIn)
