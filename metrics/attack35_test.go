package metrics_test

import (
	"fmt"
	"testing"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/metrics"
	"github.com/confidant-go/confidant/middleware"
)

// TestAttack35RevokedRefreshReason: a refresh refused with invalid_grant is
// what client.redeem returns, fail.RefreshRevoked wrapping the provider's
// *TokenError. The one table has a row for it (refresh_revoked, the reason
// a dashboard alerts on for mass revocation), but the *TokenError in the
// chain matches TokenRequest, whose row comes first: the revocation is
// recorded as token_request, indistinguishable from a refused code.
func TestAttack35RevokedRefreshReason(t *testing.T) {
	err := fmt.Errorf("%w: %w", fail.RefreshRevoked, &client.TokenError{StatusCode: 400, Code: "invalid_grant"})
	if got := metrics.Reason(err); got != "refresh_revoked" {
		t.Errorf("metrics.Reason(revoked refresh) = %q, want refresh_revoked", got)
	}
	if got := middleware.StatusCode(err); got != 400 {
		t.Logf("StatusCode %d", got)
	}
}
