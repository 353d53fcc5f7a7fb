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

// transit is how long a token must still be good for when it is sent: the
// time a call takes to reach the API, and some disagreement between
// clocks.
const transit = time.Second

// Usable reports whether a token that expires at expiry, obtained at issued
// (zero when unknown), can still be sent at now, when its refresh failed:
// it must be good for a second more (a quarter of its lifetime, if that is
// shorter), or it would expire on its way to the API. A zero expiry is
// usable.
func Usable(now, issued, expiry time.Time) bool {
	if expiry.IsZero() {
		return true
	}
	m := transit
	if !issued.IsZero() {
		m = min(m, expiry.Sub(issued)/4)
	}
	return now.Add(m).Before(expiry)
}
