package middleware

// APIs that describe themselves (API.AuthorizationServers, RFC 9728): the
// configuration names the API's URL and the authorization servers the app
// trusts; the API's protected resource metadata names its resource, its
// servers and its scopes. Once read, the API's token is asked for its
// resource (RFC 8707) at the first of its servers the app trusts and can
// use: at a sign-in provider, with the session's own grant (a refresh
// grant, as for API.Resource; a sign-in that covers the resource when the
// grant does not), so that the API's token and the session live and end
// together; elsewhere, as a connected API (grants.go), granted once per
// user. Until then its calls carry no token: the sign-in token never
// reaches an API the app only knows by URL.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/internal/prm"
)

// discovery is the state of an API that describes itself.
type discovery struct {
	resource string   // API.BaseURL, as configured: the metadata's resource
	allowed  []string // API.AuthorizationServers
	scopes   []string // API.Scopes: replace the metadata's
	internal bool     // API.AllowInternal
	provider string   // API.Provider
	own      *client.Client
	ownRT    http.RoundTripper
	hc       *http.Client // metadata fetches (prm.Client)

	mu     sync.Mutex
	found  *apiTarget    // the API as its metadata says, once read
	murl   string        // where its metadata was read
	at     time.Time     // when
	flight chan struct{} // a read in progress: the others wait for it
}

// rediscoverAfter is how long metadata once read is used before it is read
// again (from the URL it came from).
const rediscoverAfter = time.Hour

// describable checks an API with AuthorizationServers and fills in t.
func describable(t *apiTarget, api API, providers map[string]*client.Client) error {
	if api.Resource != "" || api.TokenExchange {
		return configErr("API %q: AuthorizationServers with Resource or TokenExchange: an API that describes itself is its own resource (BaseURL), its token from a grant of its own", api.Name)
	}
	for _, as := range api.AuthorizationServers {
		u, err := url.Parse(as)
		if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || !netx.SecureOrLoopback(u) {
			return configErr("API %q: AuthorizationServers: %q is not an issuer identifier (an https URL, http only on a loopback host, without query or fragment)", api.Name, as)
		}
	}
	d := &discovery{resource: api.BaseURL, allowed: slices.Clone(api.AuthorizationServers), scopes: slices.Clone(api.Scopes),
		internal: api.AllowInternal, provider: api.Provider}
	if api.Client != nil {
		// A registration by hand at one of the servers.
		var probe apiTarget
		if err := connectable(&probe, API{Name: api.Name, Client: api.Client}, providers); err != nil {
			return err
		}
		if iss := providerOf(api.Client.Provider()).Issuer(); !slices.Contains(d.allowed, iss) {
			return configErr("API %q: the Client's issuer %q is not one of AuthorizationServers", api.Name, iss)
		}
		d.own = api.Client
	}
	t.disc = d
	return nil
}

// setUp gives d what New knows: the events of its client, the transports.
func (d *discovery) setUp(cfg Config) error {
	var tc *tls.Config
	if ht, ok := cfg.APITransport.(*http.Transport); ok {
		tc = ht.TLSClientConfig
	}
	// Loopback only for an API on loopback (development): an API on the
	// network does not make the app read its own host's services.
	loopback := false
	if u, err := url.Parse(d.resource); err == nil {
		loopback = netx.IsLoopbackHost(u.Hostname())
	}
	d.hc = prm.Client(d.internal, loopback || d.internal, tc)
	if d.own == nil {
		return nil
	}
	d.own = plumbingOf(d.own).WithEvents(cfg.Logger, cfg.OnEvent)
	rt, err := d.own.Transport(cfg.APITransport)
	if err != nil {
		return err
	}
	d.ownRT = netx.Transport(rt)
	return nil
}

// discovered is t as a connected API when its metadata has been read in
// this process, nil otherwise. Metadata older than rediscoverAfter is read
// again from where it came from; when that fails, what was read stays in
// use (and is tried again a minute later).
func (a *Auth) discovered(ctx context.Context, t *apiTarget) *apiTarget {
	d := t.disc
	d.mu.Lock()
	found, murl, at := d.found, d.murl, d.at
	d.mu.Unlock()
	if found == nil || a.cfg.Now().Sub(at) < rediscoverAfter {
		return found
	}
	if nt, err := a.discover(ctx, t, murl); err == nil {
		return nt
	}
	d.mu.Lock()
	if d.found == found {
		d.at = a.cfg.Now().Add(time.Minute - rediscoverAfter)
	}
	d.mu.Unlock()
	return found
}

// connectedTarget is t as a connected API: itself, or, for an API that
// describes itself, what its metadata says; when it has not been read in
// this process, the API's 401 to a call without a token (one call) says
// where it is, else its well-known URL.
func (a *Auth) connectedTarget(ctx context.Context, t *apiTarget) (*apiTarget, error) {
	if t.disc == nil {
		return t, nil
	}
	if nt := a.discovered(ctx, t); nt != nil {
		return nt, nil
	}
	return a.discoverFrom(ctx, t, a.probe(ctx, t))
}

// probe calls t's BaseURL without a token and returns the headers of its
// 401, or nil.
func (a *Auth) probe(ctx context.Context, t *apiTarget) http.Header {
	ctx, cancel := context.WithTimeout(ctx, prm.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.disc.resource, nil)
	if err != nil {
		return nil
	}
	resp, err := netx.Transport(a.cfg.APITransport).RoundTrip(req)
	if err != nil {
		return nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return nil
	}
	return resp.Header
}

// discoverFrom reads t's metadata from where the API's 401 challenge h
// names it (nil: its well-known URL). A challenge's scope is not used:
// it is what one call, of one user, was refused for, not the API's.
func (a *Auth) discoverFrom(ctx context.Context, t *apiTarget, h http.Header) (*apiTarget, error) {
	murl := prm.FromChallenge(h)
	if murl == "" {
		var err error
		if murl, err = prm.WellKnown(t.disc.resource); err != nil {
			return nil, fmt.Errorf("API %q: %w", t.name, err)
		}
	}
	return a.discover(ctx, t, murl)
}

// discover reads t's metadata at murl, one read at a time (the others
// wait for it and take what it read), and makes t an API whose token
// comes from the first of its servers the app trusts and can use (a
// trusted server without a registration is passed over), asking for
// API.Scopes, else the metadata's scopes_supported.
func (a *Auth) discover(ctx context.Context, t *apiTarget, murl string) (*apiTarget, error) {
	d := t.disc
	for {
		d.mu.Lock()
		f := d.flight
		if f == nil {
			d.flight = make(chan struct{})
			d.mu.Unlock()
			break
		}
		d.mu.Unlock()
		select {
		case <-f:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: API %q: %w", fail.MetadataTimeout, t.name, ctx.Err())
		}
		d.mu.Lock()
		found, at := d.found, d.at
		d.mu.Unlock()
		if found != nil && a.cfg.Now().Sub(at) < time.Minute {
			return found, nil // read just now, by the call waited for
		}
	}
	defer func() {
		d.mu.Lock()
		close(d.flight)
		d.flight = nil
		d.mu.Unlock()
	}()
	m, err := prm.Fetch(ctx, d.hc, murl, d.resource)
	if err == nil {
		scopes := d.scopes
		if len(scopes) == 0 {
			scopes = m.ScopesSupported
		}
		var nt *apiTarget
		if nt, err = a.firstUsable(ctx, t, m, scopes); err == nil {
			d.mu.Lock()
			d.found, d.murl, d.at = nt, murl, a.cfg.Now()
			d.mu.Unlock()
			a.emit(ctx, event.Event{Kind: event.APIRequest, Attrs: []slog.Attr{slog.String("api_name", t.name),
				slog.String("metadata", hostPath(murl)), slog.String("authorization_server", nt.issuer), slog.Any("scopes", scopes)}})
			return nt, nil
		}
	}
	a.emit(ctx, event.Event{Kind: event.Rejected, Err: err, Attrs: []slog.Attr{slog.String("api_name", t.name), slog.String("metadata", hostPath(murl))}})
	return nil, fmt.Errorf("API %q: %w", t.name, err)
}

// firstUsable is t at the first of m's authorization servers that the app
// trusts and has (or can make) a client for.
func (a *Auth) firstUsable(ctx context.Context, t *apiTarget, m *prm.Metadata, scopes []string) (*apiTarget, error) {
	var errs []error
	for _, as := range m.AuthorizationServers {
		if !slices.Contains(t.disc.allowed, as) {
			continue
		}
		nt, err := a.targetAt(ctx, t, as, scopes)
		if err == nil {
			return nt, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		_, err := m.Trusted(t.disc.allowed)
		return nil, err
	}
	return nil, errors.Join(errs...)
}

// refused notes that the API refused the token t was given, refreshed:
// its metadata is read again on the next call.
func (a *Auth) refused(t *apiTarget) {
	d := t.disc
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.found == t {
		d.found = nil
	}
}

// moved reads the metadata of t (read before) again when the API refused
// t's token with a 401 that names it (h: its headers), and reports
// ErrNotConnected when it names another authorization server now: the
// user's token comes from there, and none is asked of the old one. One
// read per refusal at most (and one at a time).
func (a *Auth) moved(ctx context.Context, t *apiTarget, h http.Header) error {
	murl := prm.FromChallenge(h)
	if murl == "" || t.issuer == "" {
		return nil
	}
	d := t.disc
	d.mu.Lock()
	if d.found == t {
		d.found = nil // read again, not waited for as fresh
	}
	d.mu.Unlock()
	nt, err := a.discover(ctx, t, murl)
	if err != nil || nt.issuer == t.issuer {
		return nil
	}
	return &notConnectedError{api: t.name}
}

// targetAt is t as a connected API at authorization server as (one of
// t's AuthorizationServers): with the sign-in client whose issuer it is,
// else with the API's own Client, else with the app's own registration
// there (register.go).
func (a *Auth) targetAt(ctx context.Context, t *apiTarget, as string, scopes []string) (*apiTarget, error) {
	d := t.disc
	if !slices.Contains(d.allowed, as) {
		return nil, fmt.Errorf("%w: %q is no longer one of API %q's AuthorizationServers", fail.UntrustedServer, as, t.name)
	}
	nt := *t // t itself, or t as read before
	nt.issuer, nt.provider, nt.conn, nt.connRT, nt.callback = as, d.provider, nil, nil, ""
	nt.op = refreshOp{api: t.name, resource: d.resource, scopes: slices.Clone(scopes)}
	for _, c := range a.clients {
		if providerOf(c.Provider()).Issuer() == as && (d.provider == "" || d.provider == c.Provider().Name()) {
			// A sign-in provider: the session's own grant, for the users
			// of that provider only.
			nt.provider = c.Provider().Name()
			return &nt, nil
		}
	}
	if d.own != nil && providerOf(d.own.Provider()).Issuer() == as {
		nt.conn, nt.connRT = d.own, d.ownRT
	}
	if nt.conn == nil {
		// No registration by hand: the app's metadata document, or a
		// dynamic registration.
		c, err := a.registeredAt(ctx, as)
		if err != nil {
			return nil, fmt.Errorf("API %q: %w", t.name, err)
		}
		rt, err := c.Transport(a.cfg.APITransport)
		if err != nil {
			return nil, err
		}
		nt.conn, nt.connRT = c, netx.Transport(rt)
	}
	u, _ := url.Parse(plumbingOf(nt.conn).RedirectURL())
	nt.callback = u.Path
	return &nt, nil
}

// signInPath reports whether t (a read API that describes itself) takes
// its token from the session's grant at a sign-in provider.
func (t *apiTarget) signInPath() bool { return t.disc != nil && t.issuer != "" && t.conn == nil }

// unread reports whether t is an API that describes itself whose metadata
// has not been read (no token may go to it).
func (t *apiTarget) unread() bool { return t.disc != nil && t.issuer == "" }
