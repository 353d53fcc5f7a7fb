package seam

import (
	"net/http"
)

// CookiePolicy is what a store decided about its cookies for the app's
// origin, when the middleware bound it (BindOrigin): https gives Secure
// cookies with the __Host- prefix whatever a request's Host or
// X-Forwarded-Proto say; plain http gives cookies without Secure
// (development on loopback) unless the store's Options.Secure is set.
type CookiePolicy struct {
	Secure   bool          // the Secure attribute (and a __Host- or __Secure- name)
	SameSite http.SameSite // the SameSite attribute
}
