package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/sessions"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/cookies"
	"github.com/confidant-go/confidant/internal/dpop"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/internal/seal"
	"github.com/confidant-go/confidant/internal/seam"
	"github.com/confidant-go/confidant/internal/sink"
	"github.com/confidant-go/confidant/session"
)

// Auth serves the sign-in endpoints and wraps handlers that need a user.
// Safe for concurrent use.
type Auth struct {
	cfg       Config
	flows     *seal.Cipher
	sink      sink.Sink
	refresher *refresher

	shared      sharedStore       // non-nil for a server-side store
	denyTTL     time.Duration     // how long a deny-list entry must live
	timeouts    *session.Timeouts // the store's, when it tells them
	pinger      pinger            // the store's readiness check, when it has one
	touchEvery  time.Duration     // save an unchanged session this long after it was last seen (0: never)
	nonces      dpop.Nonces       // the APIs' DPoP nonces
	signers     sync.Map          // DPoP key (PKCS#8) → *dpop.Signer
	nsigners    atomic.Int64
	appMu       sync.Mutex
	appTokens   map[string]*appToken // the app's own tokens, by API (AppClient)
	cookies     seam.CookiePolicy    // Secure and SameSite, from the RedirectURL
	origin      *url.URL             // of the RedirectURL
	hostWarned  atomic.Bool          // a sign-in started on another host was logged
	mountOK     atomic.Bool          // the callback was found routed to the Auth (mounted)
	mountWarned atomic.Bool          // a callback answered by a catch-all route was logged
	flowPrefix  string               // name of the flow cookies, before the slot number
	cop         *http.CrossOriginProtection
	replays     replayCache // logout token IDs seen: in Redis when Redis is configured

	apis       []apiTarget
	clients    []*client.Client             // in order; clients[0] is the default
	byName     map[string]*client.Client    // provider name → client
	callbacks  map[string]*client.Client    // callback path → client
	transports map[string]http.RoundTripper // provider name → the APIs' transport for its client's tokens
	connects   map[string]bool              // callback paths of the connected APIs' clients
	docs       map[string]*client.Client    // client ID metadata documents' paths (cimd.go)
	regs       registrations                // the app's own clients at APIs' servers (register.go)
	grants     *grants                      // the users' grants of connected APIs
	family     *family                      // the users' sign-in grants (Config.BackgroundAccess); nil without
	signals    *receiver                    // Config.SharedSignals; nil without
	marks      session.DenyList             // marks security events leave on sessions: the DenyList, or beside a server-side store's sessions
	reg        registry                     // the users' lists of sessions (sessions.go)
	refs       refStore                     // a server-side store's sessions by reference; nil with cookies
	entries    entryCache                   // the registry's entries opened before (sessions.go)
}

// New validates cfg and returns an Auth.
func New(cfg Config) (*Auth, error) {
	a, err := build(cfg)
	if err != nil {
		return nil, err
	}
	a.warnUnreached()
	return a, nil
}

// build is New without its start-up warning, which Setup does not need:
// it checks the provider itself, and fails.
func build(cfg Config) (*Auth, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	clients := slices.Clone(cfg.Clients)
	cfg.Clients = nil
	flows, err := flowCipher(&cfg)
	if err != nil {
		return nil, err
	}
	if err := cfg.setDefaults(clients[0]); err != nil {
		return nil, err
	}
	events := sink.Sink{Logger: cfg.Logger, Hook: cfg.OnEvent}
	if cfg.Logger == nil {
		// Failures are logged unless the app says otherwise.
		cfg.Logger = sink.Failures()
		events.Logger, events.Log = cfg.Logger, worthLogging
	}
	for i, c := range clients {
		clients[i] = plumbingOf(c).WithEvents(cfg.Logger, cfg.OnEvent)
	}
	a := &Auth{cfg: cfg, sink: events, flows: flows, clients: clients, appTokens: map[string]*appToken{}}
	if err := a.route(); err != nil {
		return nil, err
	}
	if a.apis, err = parseAPIs(cfg.APIs, a.byName); err != nil {
		return nil, err
	}
	a.cfg.APIs = nil
	for i := range a.apis {
		if t := &a.apis[i]; t.conn != nil {
			t.conn = plumbingOf(t.conn).WithEvents(cfg.Logger, cfg.OnEvent)
			rt, err := t.conn.Transport(cfg.APITransport)
			if err != nil {
				return nil, fmt.Errorf("%w: APITransport, for API %q's client certificate: %w", fail.MiddlewareConfig, t.name, err)
			}
			t.connRT = netx.Transport(rt)
		}
		if t := &a.apis[i]; t.disc != nil {
			if err := t.disc.setUp(cfg); err != nil {
				return nil, fmt.Errorf("%w: APITransport, for API %q's client certificate: %w", fail.MiddlewareConfig, t.name, err)
			}
		}
	}
	if err := a.routeConnects(); err != nil {
		return nil, err
	}
	if err := a.metadataDocs(); err != nil {
		return nil, err
	}
	if err := a.bindStore(); err != nil {
		return nil, err
	}
	a.bindRegistry()
	a.bindGrants()
	a.flowPrefix = cookies.Name(flowBase, a.cookies.Secure, &sessions.Options{Path: "/"})
	a.cop = http.NewCrossOriginProtection()
	a.cop.AddTrustedOrigin(netx.Origin(a.origin))
	for _, o := range cfg.TrustedOrigins {
		if err := a.cop.AddTrustedOrigin(o); err != nil {
			return nil, configErr("TrustedOrigins: %v", err)
		}
	}
	a.refresher = &refresher{clientFor: a.clientFor, shared: a.shared, now: cfg.Now, sink: events, policy: cfg.OnRefreshError,
		leeway: cfg.RefreshLeeway, claimsMaxAge: cfg.ClaimsMaxAge, timeout: cfg.RefreshTimeout, retryAfter: cfg.RetryAfter,
		flights: map[tokenKey]*flight{}, done: map[tokenKey]*outcome{}, max: maxOutcomes,
		locks: map[string]*sessionLock{}, latest: map[string]*outcome{}}
	if cfg.BackgroundAccess {
		a.family = &family{g: a.grants, now: cfg.Now}
		if a.timeouts != nil {
			a.family.absolute = a.timeouts.Absolute
		}
		a.refresher.fam = a.family
	}
	if err := a.newReceiver(); err != nil {
		return nil, err
	}
	if rc, ok := seam.Of(cfg.DenyList).(refreshCoordinator); ok && a.shared == nil {
		a.refresher.coord = &coordinator{shared: rc, cipher: flows, app: a.appID()}
	} else if a.shared == nil && cfg.Logger != nil {
		cfg.Logger.Info("confidant: sessions are in cookies and Config.DenyList is not shared: refreshes are coordinated within this instance only. " +
			"With several instances and a provider that rotates refresh tokens, two instances can refresh one session at once and the provider then revokes it (users signed out); " +
			"give every instance the same redisstore.DenyList (or keep sessions in redisstore.Store)")
	}
	return a, nil
}

// warnUnreached logs, at New, a provider whose discovery already failed.
func (a *Auth) warnUnreached() {
	if a.cfg.Logger == nil {
		return
	}
	for _, c := range a.clients {
		if err := providerOf(c.Provider()).DiscoveryError(); err != nil {
			a.cfg.Logger.Warn("confidant: the provider could not be reached at start; discovery is retried on first use (Auth.Ready reports it)",
				"provider", c.Provider().Name(), "err", err)
		}
	}
}

// flowCipher is the cipher of the flow cookies: from Config.Keys, or the
// store's own.
func flowCipher(cfg *Config) (*seal.Cipher, error) {
	defer func() { cfg.Keys = nil }()
	if len(cfg.Keys) > 0 {
		c, err := seal.New(cfg.Keys)
		if err != nil {
			return nil, configErr("Config.Keys: %w", err)
		}
		return c, nil
	}
	if c := seal.SharedBy(cfg.Store); c != nil {
		return c, nil
	}
	return nil, configErr("Config.Keys is required with this Store")
}

// appID names the app that sealed sessions and flow cookies are bound to:
// its origin and its default client's ID, so that two apps sharing keys do
// not accept each other's (and adding a provider ends no session).
func (a *Auth) appID() string {
	return netx.Origin(a.origin) + " " + plumbingOf(a.clients[0]).ClientID()
}

// bindStore learns what the store offers: cookie attributes for the app's
// origin, a shared server, a replay cache, its timeouts.
func (a *Auth) bindStore() error {
	cfg := &a.cfg
	// Cookie security comes from the RedirectURL's scheme, never from a
	// request's Host or X-Forwarded-Proto.
	a.cookies = seam.CookiePolicy{Secure: strings.EqualFold(a.origin.Scheme, "https"), SameSite: http.SameSiteLaxMode}
	plumbing := seam.Of(cfg.Store) // nil for a store of the app's own
	if b, ok := plumbing.(originBinder); ok {
		var err error
		if a.cookies, err = b.BindOrigin(a.origin, a.appID()); err != nil {
			return configErr("Store: %w", err)
		}
	}
	a.shared, _ = plumbing.(sharedStore)
	if a.shared == nil && cfg.DenyList == nil {
		cfg.DenyList = sessionPlumbing.MemoryDenyList(cfg.Now)
	}
	a.replays = newJTICache(cfg.Now)
	if rc, ok := plumbing.(replayCache); ok {
		a.replays = rc
	} else if rc, ok := seam.Of(cfg.DenyList).(replayCache); ok {
		a.replays = rc
	}
	a.marks = cfg.DenyList
	if m, ok := plumbing.(interface{ Marks() session.DenyList }); ok && a.marks == nil {
		a.marks = m.Marks()
	}
	if a.marks == nil {
		a.marks = sessionPlumbing.MemoryDenyList(cfg.Now)
	}
	a.pinger, _ = plumbing.(pinger)
	if p, ok := cfg.Store.(pinger); ok && a.pinger == nil {
		a.pinger = p
	}
	a.denyTTL = 30 * 24 * time.Hour
	if t, ok := plumbing.(timed); ok {
		to := t.Timeouts()
		a.timeouts = &to
		a.denyTTL = to.Absolute + time.Minute // and a little clock skew
		// Often enough to keep the idle timeout accurate, rarely enough
		// not to write on every request.
		a.touchEvery = max(time.Second, min(to.Idle/24, 5*time.Minute))
	}
	return nil
}

// Ready reports whether the app can sign users in now: every provider's
// discovery (and JWKS location) resolved, and the session store reachable
// when it can tell (redisstore.Store). For a readiness or health endpoint.
// With Config.SharedSignals, the first Ready that finds them so sets up
// the stream at the transmitter (and starts the poller, stopped by
// Close); call it at start.
func (a *Auth) Ready(ctx context.Context) error {
	var errs []error
	for _, c := range a.clients {
		if _, err := c.Provider().Endpoints(ctx); err != nil {
			errs = append(errs, fmt.Errorf("provider %s: %w", c.Provider().Name(), err))
		}
	}
	if a.pinger != nil {
		if err := a.pinger.Ping(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", fail.SessionStore, err))
		}
	}
	if a.signals != nil && len(errs) == 0 {
		if err := a.signals.ready(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// sentPath is the path of r as the browser sent it, for logs: behind
// http.StripPrefix (a BFF proxy mounted at /bff/orders/) r.URL.Path has
// lost its prefix, while RequestURI, which the server sets and StripPrefix
// leaves alone, keeps it, in origin-form or absolute-form. Never its
// query (it may hold a code or a state), and escaped as sent, so that a
// %3F in a path cannot pass for a query in the log.
func sentPath(r *http.Request) string {
	if r.RequestURI != "" {
		if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Opaque == "" {
			if p := u.EscapedPath(); p != "" {
				return p
			}
		}
	}
	return r.URL.EscapedPath()
}

// fail hands err to the ErrorHandler.
func (a *Auth) fail(w http.ResponseWriter, r *http.Request, err error) {
	if StatusCode(err) == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.Itoa(int((a.cfg.RetryAfter+time.Second-1)/time.Second)))
	}
	attrs := []slog.Attr{slog.String("method", r.Method), slog.String("path", sentPath(r))}
	if route, _ := r.Context().Value(routeKey{}).(string); route != "" {
		attrs = append(attrs, slog.String("route", route))
	}
	a.sink.Emit(r.Context(), event.Event{Kind: event.Rejected, Status: StatusCode(err), Err: err, Attrs: attrs})
	a.cfg.ErrorHandler.ServeHTTP(w, withFailure(r, err))
}

// worthLogging picks what the default logger records: failures, but not a
// visitor who is not signed in or not allowed (a 401 for every anonymous
// API call would bury the failures that matter). A cross-origin refusal is
// logged: it names the check and the origin, which is how a misconfigured
// dev server, or an attack, shows.
func worthLogging(e event.Event) bool {
	if e.Kind != event.Rejected {
		return true
	}
	switch {
	case errors.Is(e.Err, ErrNotSignedIn), errors.Is(e.Err, fail.Forbidden), errors.Is(e.Err, fail.MethodNotAllowed),
		errors.Is(e.Err, client.ErrInsufficientAuthentication):
		return false
	}
	var nc *notConnectedError
	if errors.As(e.Err, &nc) && !nc.revoked {
		return false // the way a connect flow starts
	}
	return true
}

// emit sends e to the sink.
func (a *Auth) emit(ctx context.Context, e event.Event) { a.sink.Emit(ctx, e) }

// sessionRef is how events name a session.
func sessionRef(s *session.Session) string {
	if s == nil {
		return ""
	}
	return event.Redact(s.ID)
}
