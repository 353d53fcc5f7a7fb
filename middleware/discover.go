package middleware

// APIs that describe themselves (API.AuthorizationServers, RFC 9728): the
// configuration names the API's URL and the authorization servers the app
// trusts; the API's protected resource metadata names its resource, its
// servers and its scopes. Once read, the API is a connected API at the
// first server of its own that the app trusts (grants.go does the rest):
// its token asked for its resource (RFC 8707), granted once per user. Until
// then its calls carry no token: the sign-in token never reaches an API
// the app only knows by URL.

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
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
	own      *client.Client
	ownRT    http.RoundTripper
	hc       *http.Client // metadata fetches (prm.Client)

	mu    sync.Mutex
	found *apiTarget // the API as a connected API, once read
	murl  string     // where its metadata was read
	at    time.Time  // when
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
	d := &discovery{resource: api.BaseURL, allowed: slices.Clone(api.AuthorizationServers), scopes: slices.Clone(api.Scopes), internal: api.AllowInternal}
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
	d.hc = prm.Client(d.internal, tc)
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
	if nt, err := a.discover(ctx, t, murl, found.op.scopes); err == nil {
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
// names it (nil: its well-known URL), with the challenge's scope.
func (a *Auth) discoverFrom(ctx context.Context, t *apiTarget, h http.Header) (*apiTarget, error) {
	murl := prm.FromChallenge(h)
	if murl == "" {
		var err error
		if murl, err = prm.WellKnown(t.disc.resource); err != nil {
			return nil, fmt.Errorf("API %q: %w", t.name, err)
		}
	}
	return a.discover(ctx, t, murl, challengeScope(h))
}

// challengeScope is the scope a 401's Bearer (or DPoP) challenge names.
func challengeScope(h http.Header) []string {
	for _, v := range h.Values("WWW-Authenticate") {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
		if strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "DPoP") {
			if s := strings.Fields(netx.AuthParams(rest)["scope"]); len(s) > 0 {
				return s
			}
		}
	}
	return nil
}

// discover reads t's metadata at murl and makes t a connected API at the
// first of its servers the app trusts, asking for scopes (else the
// metadata's).
func (a *Auth) discover(ctx context.Context, t *apiTarget, murl string, scopes []string) (*apiTarget, error) {
	d := t.disc
	m, err := prm.Fetch(ctx, d.hc, murl, d.resource)
	if err == nil {
		var as string
		if as, err = m.Trusted(d.allowed); err == nil {
			if len(d.scopes) > 0 {
				scopes = d.scopes
			} else if len(scopes) == 0 {
				scopes = m.ScopesSupported
			}
			var nt *apiTarget
			if nt, err = a.targetAt(t, as, scopes); err == nil {
				d.mu.Lock()
				d.found, d.murl, d.at = nt, murl, a.cfg.Now()
				d.mu.Unlock()
				a.emit(ctx, event.Event{Kind: event.APIRequest, Attrs: []slog.Attr{slog.String("api_name", t.name),
					slog.String("metadata", hostPath(murl)), slog.String("authorization_server", as), slog.Any("scopes", scopes)}})
				return nt, nil
			}
		}
	}
	a.emit(ctx, event.Event{Kind: event.Rejected, Err: err, Attrs: []slog.Attr{slog.String("api_name", t.name), slog.String("metadata", hostPath(murl))}})
	return nil, fmt.Errorf("API %q: %w", t.name, err)
}

// targetAt is t as a connected API at authorization server as (one of
// t's AuthorizationServers): with the sign-in client whose issuer it is,
// else with the API's own Client.
func (a *Auth) targetAt(t *apiTarget, as string, scopes []string) (*apiTarget, error) {
	d := t.disc
	if !slices.Contains(d.allowed, as) {
		return nil, fmt.Errorf("%w: %q is no longer one of API %q's AuthorizationServers", fail.UntrustedServer, as, t.name)
	}
	nt := *t
	nt.issuer = as
	nt.op = refreshOp{api: t.name, resource: d.resource, scopes: slices.Clone(scopes)}
	switch {
	case d.own != nil && providerOf(d.own.Provider()).Issuer() == as:
		nt.conn, nt.connRT = d.own, d.ownRT
	default:
		for _, c := range a.clients {
			if providerOf(c.Provider()).Issuer() != as {
				continue
			}
			p := plumbingOf(c)
			if p.DPoP() || p.ResponseMode() != "" {
				return nil, configErr("API %q: its authorization server %q is the sign-in provider, whose client uses DPoP or a response mode: give the API a Client of its own there", t.name, as)
			}
			nt.conn, nt.connRT = c, a.transportFor(c.Provider().Name())
			break
		}
	}
	if nt.conn == nil {
		return nil, configErr("API %q: its metadata names the authorization server %q, which the app trusts but has no registration at: give the API a Client registered there", t.name, as)
	}
	u, _ := url.Parse(plumbingOf(nt.conn).RedirectURL())
	nt.callback = u.Path
	return &nt, nil
}
