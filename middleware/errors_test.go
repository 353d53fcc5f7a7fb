package middleware_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// TestErrorFamilies: every error of a family matches its parent with
// errors.Is (also wrapped, as the SDK returns them), no other family's,
// and StatusCode gives the family's status.
func TestErrorFamilies(t *testing.T) {
	families := []struct {
		parent   error
		status   int
		children []error
	}{
		{fail.BadCallback, http.StatusBadRequest, []error{fail.StateMissing, fail.StateMismatch,
			fail.FlowCookieMissing, fail.StateExpired, fail.CodeMissing}},
		{middleware.ErrNotSignedIn, http.StatusUnauthorized, []error{fail.SessionExpired, fail.SessionEnded}},
		{client.ErrInvalidIDToken, http.StatusUnauthorized, []error{fail.NonceMismatch, fail.AccessTokenHash,
			fail.IdentityChanged, fail.HostedDomain}},
	}
	for _, f := range families {
		for _, c := range append(f.children, f.parent) {
			err := fmt.Errorf("during the callback: %w", c)
			if !errors.Is(err, f.parent) {
				t.Errorf("%v: not in %v", c, f.parent)
			}
			if got := middleware.StatusCode(err); got != f.status {
				t.Errorf("%v: StatusCode %d, want %d", c, got, f.status)
			}
			for _, other := range families {
				if other.parent != f.parent && errors.Is(err, other.parent) {
					t.Errorf("%v: also in %v", c, other.parent)
				}
			}
		}
	}
	if errors.Is(fail.StateExpired, fail.StateMismatch) || errors.Is(fail.StateMismatch, fail.FlowCookieMissing) {
		t.Error("siblings match each other")
	}
}

// TestStatusCodeFromTheTable (issue 35): StatusCode, the error page and
// metrics.Reason read one table. Where the three disagreed, the table
// decides: every configuration error is 500 (client's and session's were
// 400), a session store that is away 503 (session.ErrUnavailable was 400),
// an anti-forgery refusal 403 (the BFF answered 403, StatusCode 400).
func TestStatusCodeFromTheTable(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"client config", fail.ClientConfig, http.StatusInternalServerError},
		{"session config", fail.SessionConfig, http.StatusInternalServerError},
		{"middleware config", fail.MiddlewareConfig, http.StatusInternalServerError},
		{"the family", confidant.ErrConfig, http.StatusInternalServerError},
		{"session unavailable", session.ErrUnavailable, http.StatusServiceUnavailable},
		{"session store", fail.SessionStore, http.StatusServiceUnavailable},
		{"refresh unavailable", fail.RefreshUnavailable, http.StatusServiceUnavailable},
		{"anti-forgery", fail.AntiForgery, http.StatusForbidden},
		{"cross origin", fail.CrossOrigin, http.StatusForbidden},
		{"method", fail.MethodNotAllowed, http.StatusMethodNotAllowed},
		{"unknown provider", fail.UnknownProvider, http.StatusBadRequest},
		{"response issuer", fail.ResponseIssuer, http.StatusBadRequest},
		{"provider down", client.ErrProviderUnavailable, http.StatusBadGateway},
		{"discovery", fail.Discovery, http.StatusBadGateway},
		{"step-up", &middleware.StepUpError{}, http.StatusUnauthorized},
		{"access_denied", &middleware.ProviderError{Code: "access_denied"}, http.StatusForbidden},
		{"server_error", &middleware.ProviderError{Code: "server_error"}, http.StatusBadGateway},
		{"invalid_request", &middleware.ProviderError{Code: "invalid_request"}, http.StatusBadRequest},
		{"issuer before the provider's error", fmt.Errorf("%w: %w", fail.ResponseIssuer, &middleware.ProviderError{Code: "access_denied"}), http.StatusBadRequest},
		{"invalid_grant", &client.TokenError{StatusCode: 400, Code: "invalid_grant"}, http.StatusBadRequest},
		{"a refused pushed request", fmt.Errorf("%w: %w", fail.PushedRequest, &client.TokenError{StatusCode: 401, Code: "invalid_client"}), http.StatusBadGateway},
		{"a 503 of the token endpoint", &client.TokenError{StatusCode: 503}, http.StatusBadGateway},
		{"none of the SDK's", errors.New("x"), http.StatusBadRequest},
	} {
		if got := middleware.StatusCode(fmt.Errorf("wrapped: %w", c.err)); got != c.want {
			t.Errorf("%s: StatusCode %d, want %d", c.name, got, c.want)
		}
	}
}

// TestTypedErrorsMatchTheirFamily: the typed errors match their child and
// its family with errors.Is, and no other family.
func TestTypedErrorsMatchTheirFamily(t *testing.T) {
	for _, c := range []struct {
		err     error
		matches []error
		not     []error
	}{
		{&client.TokenError{StatusCode: 400, Code: "invalid_grant"}, []error{fail.TokenRequest, client.ErrTokenRequest}, []error{client.ErrProviderUnavailable, fail.RefreshRevoked}},
		{&client.TokenError{StatusCode: 502}, []error{client.ErrProviderUnavailable}, []error{client.ErrTokenRequest, fail.TokenRequest}},
		{&middleware.ProviderError{Code: "access_denied"}, []error{middleware.ErrProviderError}, []error{middleware.ErrBadRequest, middleware.ErrForbidden}},
		{&middleware.StepUpError{}, []error{client.ErrInsufficientAuthentication}, []error{middleware.ErrForbidden, middleware.ErrNotSignedIn}},
	} {
		for _, m := range c.matches {
			if !errors.Is(c.err, m) {
				t.Errorf("%T %v: does not match %v", c.err, c.err, m)
			}
		}
		for _, m := range c.not {
			if errors.Is(c.err, m) {
				t.Errorf("%T %v: matches %v", c.err, c.err, m)
			}
		}
	}
}
