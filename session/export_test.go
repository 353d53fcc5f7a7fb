package session

import (
	"net/url"

	"github.com/confidant-go/confidant/internal/seam"
)

// BindOrigin is the store's BindOrigin, reached as the middleware reaches
// it: through internal/seam.
func BindOrigin(st *CookieStore, origin *url.URL, app string) (seam.CookiePolicy, error) {
	return seam.Of(st).(interface {
		BindOrigin(origin *url.URL, app string) (seam.CookiePolicy, error)
	}).BindOrigin(origin, app)
}

// TimeoutsOf is the store's Timeouts, reached through internal/seam.
func TimeoutsOf(st *CookieStore) Timeouts {
	return seam.Of(st).(interface{ Timeouts() Timeouts }).Timeouts()
}
