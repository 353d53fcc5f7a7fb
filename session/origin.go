package session

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/confidant-go/confidant/internal/cookies"
	"github.com/confidant-go/confidant/internal/fail"
)

// CookiePolicy is what a store decided about its cookies for the app's
// origin.
type CookiePolicy struct {
	Secure   bool          // the Secure attribute (and a __Host- or __Secure- name)
	SameSite http.SameSite // the SameSite attribute
}

// OriginBinder is implemented by stores whose cookie attributes follow the
// app's origin. middleware.New calls BindOrigin with the origin of the
// client's RedirectURL before serving: https gives Secure cookies with the
// __Host- prefix whatever a request's Host or X-Forwarded-Proto say; plain
// http gives cookies without Secure (development on loopback) unless
// Options.Secure is set. A store that was never bound uses Secure cookies.
//
// app names the app (the middleware passes its origin and client IDs):
// the store binds every session it seals to it, so that two apps sharing
// keys (and cookie names, or a Redis) do not accept each other's sessions.
// Binding one store to origins that need different attributes, or to two
// apps, is an error.
type OriginBinder interface {
	BindOrigin(origin *url.URL, app string) (CookiePolicy, error)
}

// bindOrigin fixes sec for origin and gives the store's policy.
func bindOrigin(sec *cookies.Security, origin *url.URL, sameSite http.SameSite) (CookiePolicy, error) {
	secure, err := sec.Bind(origin)
	if err != nil {
		return CookiePolicy{}, fmt.Errorf("%w: %w", fail.SessionConfig, err)
	}
	return CookiePolicy{Secure: secure, SameSite: sameSite}, nil
}
