package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/sessions"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/clientx"
	"github.com/confidant-go/confidant/internal/cookies"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/internal/seal"
	"github.com/confidant-go/confidant/session"
)

// Config configures an Auth. New copies it. Zero fields get the defaults
// written beside them.
type Config struct {
	// Client runs the protocol with the provider. Required unless Clients
	// is set.
	Client *client.Client

	// Clients are several providers in one app. Each needs a unique
	// provider name and its own RedirectURL path under Prefix (e.g.
	// /auth/callback/google); /auth/login?provider=NAME starts a sign-in
	// with one of them, and the session remembers which one, so refresh,
	// the API client and logout go to it. Client, when also set, is added
	// first. The first one is the default.
	Clients []*client.Client

	// LoginPage, when set, is where Require sends browsers that are not
	// signed in (with ?return_to=), e.g. a page that lets the user choose
	// a provider. Default: straight to the default provider.
	LoginPage string

	// Store keeps sessions. Required.
	Store session.Store

	// Keys seal the login flow cookies (32-byte AES-256 keys, first seals,
	// all open). Default: the Store's keys when it is one of this module's
	// stores (they share their cipher).
	Keys [][]byte

	// Prefix is the path under which login, callback and logout are
	// served. Default "/auth/". The Client's RedirectURL should point at
	// Prefix + "callback".
	Prefix string

	// AfterLogin is where a sign-in lands when it carries no return-to.
	// Default "/".
	AfterLogin string

	// AfterLogout is the app path the user ends on after signing out.
	// Default "/".
	AfterLogout string

	// PostLogoutRedirectURL is the absolute URL sent to the provider's
	// end_session endpoint as post_logout_redirect_uri; register it at the
	// provider. Default: AfterLogout on the origin of the Client's
	// RedirectURL.
	PostLogoutRedirectURL string

	// AllowGETLogout lets GET /auth/logout sign the user out. Off by
	// default: a GET can be triggered by any page (an <img> tag), so only
	// POST signs out.
	AllowGETLogout bool

	// FlowTTL is how long a sign-in attempt may take. Default 10 minutes.
	FlowTTL time.Duration

	// MaxFlows bounds the number of sign-in attempts a browser may have in
	// progress; the oldest is dropped beyond it. Each attempt has a cookie
	// of under 1 KB in one of MaxFlows slots, so the bound holds even for
	// attempts started at the same moment (which then may replace one
	// another: that tab's callback is refused and it signs in again).
	// Default 8, at most 100.
	MaxFlows int

	// ErrorHandler is called when a request fails (bad callback, provider
	// error, store failure, …); FailureReason(r) tells why and
	// StatusCode(err) suggests a status. Default: a small HTML page with
	// the reason, the status, and a "sign in again" link.
	ErrorHandler http.Handler

	// RefreshLeeway: a session's access token is refreshed before the
	// handler runs when it expires within this leeway, but never more than
	// half the token's lifetime ahead. Default 1 minute.
	RefreshLeeway time.Duration

	// RefreshTimeout bounds one refresh, however many requests wait for it.
	// Default 10 seconds.
	RefreshTimeout time.Duration

	// RetryAfter is the Retry-After given with a 503 when the token has
	// expired and the provider cannot refresh it; also how long such a
	// failure is remembered before the provider is asked again. Default 5
	// seconds.
	RetryAfter time.Duration

	// OnRefreshError decides what a failed refresh does to the request.
	// Default DefaultRefreshPolicy.
	OnRefreshError func(err error, s *session.Session, now time.Time) RefreshAction

	// KeepExpiredSessions keeps a session whose access token has expired
	// and cannot be refreshed (no refresh token) until the store's idle
	// and absolute timeouts, for apps that only need to know who the user
	// is. Off by default: such a session is not signed in any more, so
	// navigations go through sign-in again and API calls get 401.
	KeepExpiredSessions bool

	// DenyList ends cookie sessions that sign-out, back-channel logout or
	// EndUserSessions named (a cookie store cannot reach the cookies). Its
	// entries live as long as the store's sessions can (its MaxLifetime).
	// Default: a MemoryDenyList, for one app instance; with several
	// instances and a cookie store, share one (redisstore.DenyList).
	// Unused with a server-side store (redisstore.Store), whose sessions
	// are deleted.
	DenyList session.DenyList

	// LogoutTokenMaxAge is how old a back-channel logout token's iat may
	// be. Default 5 minutes.
	LogoutTokenMaxAge time.Duration

	// APIs are the APIs that HTTPClient may call with the user's access
	// token: the token goes to their BaseURLs and nowhere else. Without
	// APIs, HTTPClient sends nothing.
	APIs []API

	// APITransport sends the requests of HTTPClient. Default
	// http.DefaultTransport.
	APITransport http.RoundTripper

	// APITimeout bounds each call made with HTTPClient, redirects and
	// the response body included. Default 30 seconds.
	APITimeout time.Duration

	// OnEvent receives an event for every step (see package event): for
	// metrics, tracing or a live view of the flow. Default: none.
	OnEvent event.Hook

	// Logger receives one line per failure and per sign-in and sign-out.
	// Never a token, code or secret. Default: no logging.
	Logger *slog.Logger

	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Auth serves the sign-in endpoints and wraps handlers that need a user.
// Safe for concurrent use.
type Auth struct {
	cfg       Config
	flows     *seal.Cipher
	sink      event.Sink
	refresher *refresher

	shared     session.SharedStore  // non-nil for a server-side store
	denyTTL    time.Duration        // how long a deny-list entry must live
	touchEvery time.Duration        // save an unchanged session this long after it was last seen (0: never)
	cookies    session.CookiePolicy // Secure and SameSite, from the RedirectURL
	origin     *url.URL             // of the RedirectURL
	hostWarned atomic.Bool          // a sign-in started on another host was logged
	flowPrefix string               // name of the flow cookies, before the slot number
	cop        *http.CrossOriginProtection
	replays    session.ReplayCache // logout token IDs seen: in Redis when Redis is configured

	apis      []apiTarget
	clients   []*client.Client          // in order; clients[0] is the default
	byName    map[string]*client.Client // provider name → client
	callbacks map[string]*client.Client // callback path → client
}

// New validates cfg and returns an Auth.
func New(cfg Config) (*Auth, error) {
	if cfg.Store == nil {
		return nil, configErr("Config.Store is required")
	}
	clients := slices.Clone(cfg.Clients)
	if cfg.Client != nil {
		clients = append([]*client.Client{cfg.Client}, clients...)
	}
	if len(clients) == 0 {
		return nil, configErr("Config.Client or Config.Clients is required")
	}
	cfg.Client, cfg.Clients = nil, nil
	var flows *seal.Cipher
	var err error
	switch {
	case len(cfg.Keys) > 0:
		if flows, err = seal.New(cfg.Keys); err != nil {
			return nil, configErr("Config.Keys: %w", err)
		}
	default:
		cs, ok := cfg.Store.(seal.Holder)
		if !ok {
			return nil, configErr("Config.Keys is required with this Store")
		}
		flows = cs.Cipher()
	}
	cfg.Keys = nil
	if cfg.Prefix == "" {
		cfg.Prefix = "/auth/"
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || !strings.HasSuffix(cfg.Prefix, "/") {
		return nil, configErr("Prefix %q must start and end with /", cfg.Prefix)
	}
	if cfg.AfterLogin == "" {
		cfg.AfterLogin = "/"
	}
	if cfg.AfterLogout == "" {
		cfg.AfterLogout = "/"
	}
	if _, ok := sanitizeReturnTo(cfg.AfterLogin); !ok {
		return nil, configErr("AfterLogin %q must be a local path", cfg.AfterLogin)
	}
	if _, ok := sanitizeReturnTo(cfg.AfterLogout); !ok {
		return nil, configErr("AfterLogout %q must be a local path", cfg.AfterLogout)
	}
	if cfg.LoginPage != "" {
		if _, ok := sanitizeReturnTo(cfg.LoginPage); !ok {
			return nil, configErr("LoginPage %q must be a local path", cfg.LoginPage)
		}
	}
	byName, callbacks := map[string]*client.Client{}, map[string]*client.Client{}
	for _, c := range clients {
		name := c.Provider().Name()
		if byName[name] != nil {
			return nil, configErr("two clients for provider %q (give one WithName)", name)
		}
		u, err := url.Parse(c.RedirectURL())
		if err != nil || !strings.HasPrefix(u.Path, cfg.Prefix) {
			return nil, configErr("RedirectURL %q of provider %q must be under Prefix %q", c.RedirectURL(), name, cfg.Prefix)
		}
		switch strings.TrimPrefix(u.Path, cfg.Prefix) {
		case "login", "logout", "backchannel-logout":
			return nil, configErr("RedirectURL %q of provider %q is the path of the %s endpoint; use %scallback", c.RedirectURL(), name, strings.TrimPrefix(u.Path, cfg.Prefix), cfg.Prefix)
		}
		if callbacks[u.Path] != nil {
			return nil, configErr("providers %q and %q share the callback %s", callbacks[u.Path].Provider().Name(), name, u.Path)
		}
		byName[name], callbacks[u.Path] = c, c
	}
	if cfg.PostLogoutRedirectURL == "" {
		u, err := url.Parse(clients[0].RedirectURL())
		if err != nil {
			return nil, configErr("client RedirectURL: %w", err)
		}
		cfg.PostLogoutRedirectURL = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: cfg.AfterLogout}).String()
	}
	for name, d := range map[string]time.Duration{"FlowTTL": cfg.FlowTTL, "RefreshLeeway": cfg.RefreshLeeway,
		"RefreshTimeout": cfg.RefreshTimeout, "RetryAfter": cfg.RetryAfter, "LogoutTokenMaxAge": cfg.LogoutTokenMaxAge, "APITimeout": cfg.APITimeout} {
		if d < 0 {
			return nil, configErr("%s is negative (%s); leave it zero for the default", name, d)
		}
	}
	if cfg.MaxFlows > 100 {
		return nil, configErr("MaxFlows is %d; use at most 100 (each attempt is a cookie, and browsers keep about 180 cookies per site)", cfg.MaxFlows)
	}
	if cfg.MaxFlows < 0 {
		return nil, configErr("MaxFlows is negative (%d); leave it zero for the default", cfg.MaxFlows)
	}
	if cfg.FlowTTL <= 0 {
		cfg.FlowTTL = 10 * time.Minute
	}
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = 8
	}
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = http.HandlerFunc(defaultErrorPage(cfg.Prefix + "login"))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RefreshLeeway <= 0 {
		cfg.RefreshLeeway = time.Minute
	}
	if cfg.RefreshTimeout <= 0 {
		cfg.RefreshTimeout = 10 * time.Second
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 5 * time.Second
	}
	if cfg.OnRefreshError == nil {
		cfg.OnRefreshError = DefaultRefreshPolicy
	}
	sink := event.Sink{Logger: cfg.Logger, Hook: cfg.OnEvent}
	withEvents := clientx.WithEvents.(func(*client.Client, event.Sink) *client.Client)
	for i, c := range clients {
		clients[i] = withEvents(c, sink)
	}
	for _, cc := range clients {
		byName[cc.Provider().Name()] = cc
	}
	for path, c := range callbacks {
		callbacks[path] = byName[c.Provider().Name()]
	}
	providers := map[string]bool{}
	for name := range byName {
		providers[name] = true
	}
	apis, err := parseAPIs(cfg.APIs, providers)
	if err != nil {
		return nil, err
	}
	cfg.APIs = nil
	if cfg.APITimeout <= 0 {
		cfg.APITimeout = 30 * time.Second
	}
	shared, _ := cfg.Store.(session.SharedStore)
	if shared == nil && cfg.DenyList == nil {
		cfg.DenyList = &session.MemoryDenyList{Now: cfg.Now}
	}
	if cfg.LogoutTokenMaxAge <= 0 {
		cfg.LogoutTokenMaxAge = 5 * time.Minute
	}
	origin, _ := url.Parse(clients[0].RedirectURL())
	for _, c := range clients[1:] {
		if u, _ := url.Parse(c.RedirectURL()); netx.Origin(u) != netx.Origin(origin) {
			return nil, configErr("RedirectURLs %q and %q are on different origins; the browser keeps cookies per origin, so every callback must be on the app's one origin", clients[0].RedirectURL(), c.RedirectURL())
		}
	}
	// Cookie security comes from the RedirectURL's scheme, never from a
	// request's Host or X-Forwarded-Proto.
	policy := session.CookiePolicy{Secure: strings.EqualFold(origin.Scheme, "https"), SameSite: http.SameSiteLaxMode}
	if b, ok := cfg.Store.(session.OriginBinder); ok {
		if policy, err = b.BindOrigin(origin); err != nil {
			return nil, configErr("Store: %w", err)
		}
	}
	var replays session.ReplayCache = newJTICache(cfg.Now)
	if rc, ok := cfg.Store.(session.ReplayCache); ok {
		replays = rc
	} else if rc, ok := cfg.DenyList.(session.ReplayCache); ok {
		replays = rc
	}
	denyTTL := 30 * 24 * time.Hour
	var touchEvery time.Duration
	if t, ok := cfg.Store.(session.Timed); ok {
		to := t.Timeouts()
		denyTTL = to.Absolute + time.Minute // and a little clock skew
		// Often enough to keep the idle timeout accurate, rarely enough
		// not to write on every request.
		touchEvery = max(time.Second, min(to.Idle/24, 5*time.Minute))
	}
	cop := http.NewCrossOriginProtection()
	cop.AddTrustedOrigin(origin.Scheme + "://" + origin.Host)
	if cfg.Logger != nil {
		for _, c := range clients {
			if err := c.Provider().DiscoveryError(); err != nil {
				cfg.Logger.Warn("confidant: the provider could not be reached at start; discovery is retried on first use (Auth.Ready reports it)",
					"provider", c.Provider().Name(), "err", err)
			}
		}
	}
	a := &Auth{cfg: cfg, denyTTL: denyTTL, touchEvery: touchEvery, cop: cop, cookies: policy, origin: origin,
		flowPrefix: cookies.Name(flowBase, policy.Secure, &sessions.Options{Path: "/"}), flows: flows, sink: sink, shared: shared, replays: replays,
		apis: apis, clients: clients, byName: byName, callbacks: callbacks}
	a.refresher = &refresher{clientFor: a.clientFor, shared: shared, now: cfg.Now, sink: sink, policy: cfg.OnRefreshError,
		leeway: cfg.RefreshLeeway, timeout: cfg.RefreshTimeout, retryAfter: cfg.RetryAfter,
		flights: map[tokenKey]*flight{}, done: map[tokenKey]*outcome{}, max: maxOutcomes}
	return a, nil
}

// clientFor returns the client of the provider that signed s in, or nil
// when that provider is no longer configured.
func (a *Auth) clientFor(s *session.Session) *client.Client {
	if len(a.clients) == 1 && s.Provider == "" {
		return a.clients[0]
	}
	return a.byName[s.Provider]
}

// ServeHTTP serves Prefix+"login", Prefix+"logout",
// Prefix+"backchannel-logout" (register it at the provider as the
// back-channel logout URI) and each client's callback (the path of its
// RedirectURL, usually Prefix+"callback").
// Mount it at Prefix (mux.Handle("/auth/", auth)); behind
// http.StripPrefix("/auth", auth) it serves the same routes.
func (a *Auth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if !strings.HasPrefix(path, a.cfg.Prefix) {
		// Mounted behind http.StripPrefix: the routes are relative.
		path = strings.TrimSuffix(a.cfg.Prefix, "/") + "/" + strings.TrimPrefix(path, "/")
	}
	if c := a.callbacks[path]; c != nil {
		a.callback(w, r, c)
		return
	}
	switch strings.TrimPrefix(path, a.cfg.Prefix) {
	case "login":
		a.login(w, r)
	case "backchannel-logout":
		a.backchannelLogout(w, r)
	case "logout":
		a.logout(w, r)
	default:
		http.NotFound(w, r)
	}
}

// Ready reports whether the app can sign users in now: every provider's
// discovery (and JWKS location) resolved, and the session store reachable
// when it can tell (redisstore.Store). For a readiness or health endpoint.
func (a *Auth) Ready(ctx context.Context) error {
	var errs []error
	for _, c := range a.clients {
		if _, err := c.Provider().Endpoints(ctx); err != nil {
			errs = append(errs, fmt.Errorf("provider %s: %w", c.Provider().Name(), err))
		}
	}
	if p, ok := a.cfg.Store.(interface{ Ping(context.Context) error }); ok {
		if err := p.Ping(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", ErrSessionStore, err))
		}
	}
	return errors.Join(errs...)
}

// LoginPath is the path of the login endpoint, for links and forms.
func (a *Auth) LoginPath() string { return a.cfg.Prefix + "login" }

// LogoutPath is the path of the logout endpoint, for a POST form.
func (a *Auth) LogoutPath() string { return a.cfg.Prefix + "logout" }

// fail hands err to the ErrorHandler.
func (a *Auth) fail(w http.ResponseWriter, r *http.Request, err error) {
	a.sink.Emit(r.Context(), event.Event{Kind: event.Rejected, Status: StatusCode(err), Err: err,
		Attrs: []slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path)}})
	a.cfg.ErrorHandler.ServeHTTP(w, withFailure(r, err))
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
