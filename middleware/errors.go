package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/confidant-go/confidant/internal/fail"
)

// The families of this package's errors, to test with errors.Is; a
// configuration error matches confidant.ErrConfig. Each family has
// children, which the text says and StatusCode and metrics.Reason tell
// apart.
var (
	// ErrNotSignedIn means the request has no usable session: none, or one
	// whose access token expired and cannot be refreshed (see
	// Config.KeepExpiredSessions), or one ended elsewhere (sign-out on
	// another instance, back-channel logout) while a request was using
	// it. Status 401.
	ErrNotSignedIn error = fail.NotSignedIn

	// ErrBadRequest means a request to the Auth handler was refused before
	// anything was done: a callback refused before any token request (no
	// state, a state that matches no sign-in attempt of this browser, a
	// callback without any sign-in cookie, an attempt older than FlowTTL,
	// no code: status 400), an endpoint called with the wrong method (GET
	// /auth/logout without AllowGETLogout: 405), or /auth/login?provider=
	// naming no configured provider.
	//
	// A callback without any sign-in cookie most likely means the sign-in
	// started on another host than the RedirectURL's (the app opened at
	// 127.0.0.1 while the RedirectURL says localhost), or cookies are
	// blocked; the error says so.
	ErrBadRequest error = fail.BadRequest

	// ErrProviderError means the provider redirected back with an error
	// (?error=access_denied, …). A *ProviderError is in the chain.
	ErrProviderError error = fail.ProviderError

	// ErrForbidden means a request was refused by a rule, with status
	// 403: a signed-in user does not meet a route's requirements (Claim,
	// Scope, Value; or a claim the provider did not put in the token but
	// points to elsewhere, OpenID Connect Core 5.6.2 _claim_names, as
	// Entra does for a user in more than 200 groups: the user may well
	// hold it); Config.OnSignIn refused a sign-in (its error is in the
	// chain, no session was made); a page of another origin made the
	// browser send a request only the app's own pages may send (sign-out;
	// the BFF proxy without the anti-forgery header): it changed nothing;
	// or a bearer client refused to send the token to a URL that is not a
	// configured API, or to follow an API's redirect to another origin.
	ErrForbidden error = fail.Refused

	// ErrUnavailable means the request failed for now: the session store
	// failed (not a missing or invalid session, which is ErrNotSignedIn),
	// or the access token has expired and the provider could not refresh
	// it. Status 503; retrying later may succeed.
	ErrUnavailable error = fail.Unavailable

	// ErrNotConnected means a call to a connected API (one with a Client
	// of its own) found no grant of the user's for it: never connected,
	// disconnected, or revoked at its provider (then a *client.TokenError
	// is in the chain, and the grant has been deleted). Auth.StepUp
	// starts the connect flow. Status 401.
	ErrNotConnected error = fail.NotConnected
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
func (e *ProviderError) Is(target error) bool { return fail.ProviderError.Within(target) }

type failureKey struct{}

// FailureReason returns why the ErrorHandler was called for r: an error to
// test with errors.Is against this package's and the client package's
// sentinels. It returns nil outside an ErrorHandler.
func FailureReason(r *http.Request) error {
	err, _ := r.Context().Value(failureKey{}).(error)
	return err
}

// StatusCode is the HTTP status the SDK gives err: 400 for a bad request
// (a callback refused before any token request, an unknown provider), 401
// when authentication failed, 403 when a rule or the user refused, 405 for
// a wrong method, 500 for a configuration mistake found while serving
// (confidant.ErrConfig, a session too large), 502 when the provider failed,
// 503 when the session store or a refresh did. A *ProviderError gives 403
// for access_denied, 502 for temporarily_unavailable and server_error,
// otherwise 400; an error of none of the SDK's families, 400.
func StatusCode(err error) int {
	row := fail.Find(err)
	if row == nil {
		return http.StatusBadRequest
	}
	var pe *ProviderError
	if row.Status == 0 && errors.As(err, &pe) {
		switch pe.Code {
		case "access_denied":
			return http.StatusForbidden
		case "temporarily_unavailable", "server_error":
			return http.StatusBadGateway
		}
		return http.StatusBadRequest
	}
	if row.Status == 0 {
		return http.StatusBadRequest
	}
	return row.Status
}

func withFailure(r *http.Request, err error) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), failureKey{}, err))
}

// configErr is a configuration error from New.
func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{fail.MiddlewareConfig}, args...)...)
}
