package middleware_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/middleware"
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
		{middleware.ErrBadCallback, http.StatusBadRequest, []error{middleware.ErrStateMissing, middleware.ErrStateMismatch,
			middleware.ErrFlowCookieMissing, middleware.ErrStateExpired, middleware.ErrCodeMissing}},
		{middleware.ErrNotSignedIn, http.StatusUnauthorized, []error{middleware.ErrSessionExpired, middleware.ErrSessionEnded}},
		{client.ErrInvalidIDToken, http.StatusUnauthorized, []error{client.ErrNonceMismatch, client.ErrAccessTokenHash,
			client.ErrIdentityChanged, client.ErrHostedDomain}},
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
	if errors.Is(middleware.ErrStateExpired, middleware.ErrStateMismatch) || errors.Is(middleware.ErrStateMismatch, middleware.ErrFlowCookieMissing) {
		t.Error("siblings match each other")
	}
}
