// Package lifetime decides when a token is due for refresh. The middleware's
// refresh owner and the client's standalone token source share it.
package lifetime

import "time"

// Due reports whether a token that expires at expiry, obtained at issued
// (zero when unknown), should be refreshed at now: when it expires within
// leeway, but never more than half its lifetime ahead, so that providers
// issuing short-lived tokens do not cause a refresh on every request. A
// zero expiry never is due.
func Due(now, issued, expiry time.Time, leeway time.Duration) bool {
	if expiry.IsZero() {
		return false
	}
	if !issued.IsZero() {
		if half := expiry.Sub(issued) / 2; half < leeway {
			leeway = half
		}
	}
	return !now.Add(leeway).Before(expiry)
}
