package middleware

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/session"
)

// route indexes the clients by provider name and by callback path, and
// checks that their RedirectURLs fit the routes: under Prefix, one callback
// each, all on the app's one origin.
func (a *Auth) route() error {
	prefix := a.cfg.Prefix
	a.byName, a.callbacks, a.transports = map[string]*client.Client{}, map[string]*client.Client{}, map[string]http.RoundTripper{}
	for _, c := range a.clients {
		name := c.Provider().Name()
		if a.byName[name] != nil {
			return configErr("two clients for provider %q (give one WithName)", name)
		}
		// The APIs' transport for this client's tokens: with a client
		// certificate (mutual TLS), one that presents it.
		t, err := c.Transport(a.cfg.APITransport)
		if err != nil {
			return fmt.Errorf("%w: APITransport, for provider %q's client certificate: %w", fail.MiddlewareConfig, name, err)
		}
		a.transports[name] = netx.Transport(t)
		u, err := url.Parse(plumbingOf(c).RedirectURL())
		if err != nil || !strings.HasPrefix(u.Path, prefix) {
			return configErr("RedirectURL %q of provider %q must be under Prefix %q", plumbingOf(c).RedirectURL(), name, prefix)
		}
		switch route := strings.TrimPrefix(u.Path, prefix); route {
		case "login", "logout", "backchannel-logout", "connect", "ssf":
			return configErr("RedirectURL %q of provider %q is the path of the %s endpoint; use %scallback", plumbingOf(c).RedirectURL(), name, route, prefix)
		}
		if other := a.callbacks[u.Path]; other != nil {
			return configErr("providers %q and %q share the callback %s", other.Provider().Name(), name, u.Path)
		}
		if a.origin == nil {
			a.origin = u
		} else if netx.Origin(u) != netx.Origin(a.origin) {
			return configErr("RedirectURLs %q and %q are on different origins; the browser keeps cookies per origin, so every callback must be on the app's one origin", plumbingOf(a.clients[0]).RedirectURL(), plumbingOf(c).RedirectURL())
		}
		a.byName[name], a.callbacks[u.Path] = c, c
	}
	return nil
}

// transportFor returns the transport of API calls made with the tokens
// of provider's client (a session's, an API's): the client's certificate
// presented when it has one (Client.Transport).
func (a *Auth) transportFor(provider string) http.RoundTripper {
	if len(a.clients) == 1 && provider == "" {
		provider = a.clients[0].Provider().Name()
	}
	if t := a.transports[provider]; t != nil {
		return t
	}
	return netx.Transport(a.cfg.APITransport)
}

// clientFor returns the client of the provider that signed s in, or nil
// when that provider is no longer configured.
func (a *Auth) clientFor(s *session.Session) *client.Client {
	if len(a.clients) == 1 && s.Provider == "" {
		return a.clients[0]
	}
	return a.byName[s.Provider]
}

// ServeHTTP serves Prefix+"login" (its query: return_to, provider, the
// client's LoginParams, and scope, added to the client's Scopes, never in
// place of them, when the app's step-up answer asked for it in this
// browser within a minute), Prefix+"logout",
// Prefix+"backchannel-logout" (register it at the provider as the
// back-channel logout URI), Prefix+"ssf" (with Config.SharedSignals, where
// the transmitter pushes security events), each client's callback (the path of its
// RedirectURL, usually Prefix+"callback") and, with connected APIs (an
// API with a Client or AuthorizationServers),
// Prefix+"connect?api=NAME&return_to=PATH", where a
// signed-in user connects one (Auth.StepUp sends browsers there), and
// their clients' callbacks (which may be the sign-in's).
// Mount it at Prefix (mux.Handle("/auth/", auth)); behind
// http.StripPrefix("/auth", auth) it serves the same routes.
//
// A sign-in client whose ClientID is a URL on the app's origin is
// identified by a client ID metadata document (the OAuth Client ID
// Metadata Document draft; for authorization servers that support it, in
// place of a registration by hand): ServeHTTP serves it at that URL's
// path (its redirect URIs, its grant types, private_key_jwt with the
// public half of the client's PrivateKey, its logout URIs); mount the
// Auth there too when the path is not under Prefix
// (mux.Handle("/oauth/client.json", auth)). New refuses such a client with
// a ClientSecret (the draft forbids shared secrets) or without a
// PrivateKey.
func (a *Auth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if c := a.docs[path]; c != nil {
		a.serveMetadataDoc(w, r, c)
		return
	}
	if !strings.HasPrefix(path, a.cfg.Prefix) {
		// Mounted behind http.StripPrefix: the routes are relative.
		path = strings.TrimSuffix(a.cfg.Prefix, "/") + "/" + strings.TrimPrefix(path, "/")
		if c := a.docs[path]; c != nil {
			a.serveMetadataDoc(w, r, c)
			return
		}
	}
	if a.connects[path] {
		if t := a.connectFlow(r, path); t != nil || a.callbacks[path] == nil {
			if t == nil {
				// No connect flow of this browser has this state.
				a.fail(w, r, fail.StateMismatch)
				return
			}
			a.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				a.connectCallback(w, r, t)
			})).ServeHTTP(w, withRoute(r, "callback"))
			return
		}
	}
	if c := a.callbacks[path]; c != nil {
		a.callback(w, withRoute(r, "callback"), c)
		return
	}
	switch route := strings.TrimPrefix(path, a.cfg.Prefix); route {
	case "connect":
		if a.connects == nil {
			http.NotFound(w, r)
			return
		}
		a.Require(http.HandlerFunc(a.connect)).ServeHTTP(w, withRoute(r, route))
	case "login":
		a.login(w, withRoute(r, route))
	case "backchannel-logout":
		a.backchannelLogout(w, withRoute(r, route))
	case "ssf":
		if a.signals == nil || a.signals.poll {
			http.NotFound(w, r)
			return
		}
		a.signals.serve(w, withRoute(r, route))
	case "logout":
		a.logout(w, withRoute(r, route))
	default:
		http.NotFound(w, r)
	}
}

// routeKey holds which of the Auth's routes a request is on, for the
// route attribute of its rejected events (absent on the app's own routes).
type routeKey struct{}

func withRoute(r *http.Request, route string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), routeKey{}, route))
}

// LoginPath is the path of the login endpoint, for links and forms.
func (a *Auth) LoginPath() string { return a.cfg.Prefix + "login" }

// LogoutPath is the path of the logout endpoint, for a POST form.
func (a *Auth) LogoutPath() string { return a.cfg.Prefix + "logout" }

// routeConnects indexes the connected APIs' callbacks, which must be under
// Prefix on the app's origin, and not one of the Auth's other routes (a
// sign-in's callback may be shared: the flow cookie tells them apart).
func (a *Auth) routeConnects() error {
	for _, t := range a.apis {
		var raw string
		switch {
		case t.conn != nil:
			raw = plumbingOf(t.conn).RedirectURL()
		case t.disc != nil && t.disc.own != nil:
			raw = plumbingOf(t.disc.own).RedirectURL()
		case t.disc != nil:
			// Connected with a sign-in client, at its callback.
			for path := range a.callbacks {
				if a.connects == nil {
					a.connects = map[string]bool{}
				}
				a.connects[path] = true
			}
			continue
		default:
			continue
		}
		u, _ := url.Parse(raw)
		if netx.Origin(u) != netx.Origin(a.origin) || !strings.HasPrefix(u.Path, a.cfg.Prefix) {
			return configErr("API %q: the Client's RedirectURL %q must be under Prefix %q on the app's origin %s", t.name, raw, a.cfg.Prefix, netx.Origin(a.origin))
		}
		switch route := strings.TrimPrefix(u.Path, a.cfg.Prefix); route {
		case "login", "logout", "backchannel-logout", "connect", "ssf":
			return configErr("API %q: the Client's RedirectURL %q is the path of the %s endpoint; use %scallback", t.name, raw, route, a.cfg.Prefix)
		}
		if a.connects == nil {
			a.connects = map[string]bool{}
		}
		a.connects[u.Path] = true
	}
	return nil
}
