package middleware_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
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
