package middleware

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/session"
)

// Config configures an Auth. New copies it. Zero fields get the defaults
// written beside them.
type Config struct {
	// Issuer, ClientID, ClientSecret and AppURL are what Setup makes the
	// app's client from, when Clients is empty: the OpenID Connect
	// provider's issuer URL (discovered), the app's registration there (a
	// confidential, "web", client), and where the browser reaches the app
	// (scheme and host, e.g. http://localhost:8080; register AppURL +
	// "/auth/callback" as the redirect URL and AppURL + "/" as the
	// sign-out URL). New does no discovery: it takes Clients, and refuses
	// these.
	// Default: none; Setup requires them (Provider may replace Issuer)
	// when Clients is empty.
	Issuer       string
	ClientID     string
	ClientSecret string
	AppURL       string

	// Provider is for Setup instead of Issuer: a preset (providers.Google(),
	// providers.GitHub(), providers.Auth0(domain), …) or a provider discovered
	// with options (client.Discover(ctx, issuer, client.WithName("acme")):
	// a stable name that survives a domain move). Scopes are the preset's;
	// for a provider without its own, openid, profile, email and
	// offline_access, as with Issuer. New refuses it.
	// Default: none.
	Provider *client.Provider

	// Clients run the protocol with the providers: one for most apps
	// (Clients: []*client.Client{c}), several to let users choose. With
	// several, each needs a unique provider name and its own RedirectURL
	// path under Prefix (e.g. /auth/callback/google);
	// /auth/login?provider=NAME starts a sign-in with one of them, and the
	// session remembers which one, so refresh, the API client and logout go
	// to it. The first one is the default. Setup makes one from Issuer,
	// ClientID, ClientSecret and AppURL when it is empty.
	// Required; by New, not by Setup.
	Clients []*client.Client

	// LoginPage, when set, is where Require sends browsers that are not
	// signed in (with ?return_to=), e.g. a page that lets the user choose
	// a provider.
	// Default: none (straight to the default provider's sign-in).
	LoginPage string

	// Store keeps sessions. Setup keeps them in encrypted cookies
	// (session.NewCookieStore) sealed with Keys when it is nil.
	// Required; by New, not by Setup.
	Store session.Store

	// Keys are the app's 32-byte AES-256 keys (the first seals, all open;
	// "new,old" while rotating), read from text with session.ParseKeys
	// (make one with: openssl rand -base64 32). They seal the sign-in flow
	// cookies, and, with Setup and no Store, the session cookies. Setup
	// without a Store requires them, and so does New with a Store of the
	// app's own.
	// Default: the Store's keys, when it is one of this module's stores
	// (they share their cipher).
	Keys [][]byte

	// Prefix is the path under which login, callback and logout are
	// served. The Client's RedirectURL should point at Prefix +
	// "callback".
	// Default: "/auth/".
	Prefix string

	// AfterLogin is where a sign-in lands when it carries no return-to.
	// Default: "/".
	AfterLogin string

	// AfterLogout is the app path the user ends on after signing out.
	// Default: "/".
	AfterLogout string

	// PostLogoutRedirectURL is the absolute URL sent to the provider's
	// end_session endpoint as post_logout_redirect_uri; register it at the
	// provider.
	// Default: AfterLogout on the origin of the first Client's RedirectURL.
	PostLogoutRedirectURL string

	// AllowGETLogout lets GET /auth/logout sign the user out. A GET can be
	// triggered by any page (an <img> tag), so without it only POST signs
	// out.
	// Default: off.
	AllowGETLogout bool

	// TrustedOrigins are origins ("http://localhost:5173") besides the
	// app's own whose pages may act as the signed-in user: sign them out,
	// read SessionInfo, call every API through Proxy with the user's
	// token, and open WebSockets through Proxy that carry it. Name only
	// origins you serve yourself: a development server that proxies to
	// the app and rewrites the Host header (Vite's server.proxy with
	// changeOrigin). A dev server that keeps the Host header, or a browser
	// that sends Sec-Fetch-Site, needs none. Every such check (sign-out,
	// Proxy, SessionInfo) is the same one: Sec-Fetch-Site, then Origin
	// against the Host and these origins (http.CrossOriginProtection).
	// Default: none (the app's own origin only).
	TrustedOrigins []string

	// FlowTTL is how long a sign-in attempt may take.
	// Default: 10m.
	FlowTTL time.Duration

	// MaxFlows bounds the number of sign-in attempts a browser may have in
	// progress; the oldest is dropped beyond it. Each attempt has a cookie
	// of under 1 KB in one of MaxFlows slots, so the bound holds even for
	// attempts started at the same moment (which then may replace one
	// another: that tab's callback is refused and it signs in again).
	// Default: 8; at most 100.
	MaxFlows int

	// ErrorHandler is called when a request fails (bad callback, provider
	// error, store failure, …); FailureReason(r) tells why and
	// StatusCode(err) suggests a status.
	// Default: a small HTML page with the reason, the status, and a "sign
	// in again" link.
	ErrorHandler http.Handler

	// RefreshLeeway: a session's access token is refreshed before the
	// handler runs when it expires within this leeway, but never more than
	// half the token's lifetime ahead.
	// Default: 1m.
	RefreshLeeway time.Duration

	// ClaimsMaxAge is how old the user's claims (what Claim and Value
	// requirements decide on, and UserFrom's Claims) may get. A refresh
	// that brings an ID token replaces them with the provider's current
	// ones, userinfo's asked again with FetchUserInfo; a provider whose
	// refreshes bring no ID token (Google's, GitHub's) leaves them as they
	// were at sign-in. With ClaimsMaxAge, a session whose claims are older
	// is refreshed before the handler runs; when that refresh brings no ID
	// token, the provider's userinfo (or a plain OAuth 2.0 provider's user
	// API) is asked, whether or not FetchUserInfo is set, and its answer
	// becomes the user's claims (of the sign-in's ID token, only the
	// claims that describe the sign-in stay: iss, aud, auth_time, acr, sid;
	// a claim that only the ID token carried is gone). When userinfo cannot
	// answer, the claims are kept and asked for again after another
	// ClaimsMaxAge. A session without a refresh token (a GitHub OAuth App's
	// tokens that never expire) is not renewed this way.
	// Default: 0 (claims change only with an ID token).
	ClaimsMaxAge time.Duration

	// RefreshTimeout bounds one refresh, however many requests wait for it.
	// Default: 10s.
	RefreshTimeout time.Duration

	// RetryAfter is the Retry-After given with a 503 when the token has
	// expired and the provider cannot refresh it; also how long such a
	// failure is remembered before the provider is asked again.
	// Default: 5s.
	RetryAfter time.Duration

	// OnRefreshError decides what a failed refresh does to the request.
	// Default: DefaultRefreshPolicy.
	OnRefreshError func(err error, s *session.Session, now time.Time) RefreshAction

	// KeepExpiredSessions keeps a session whose access token has expired
	// and cannot be refreshed (no refresh token) until the store's idle
	// and absolute timeouts, for apps that only need to know who the user
	// is. Without it, such a session is not signed in any more, so
	// navigations go through sign-in again and API calls get 401.
	// Default: off.
	KeepExpiredSessions bool

	// SilentSignIn lets an Optional page that a browser opens without a
	// session try a sign-in without any page at the provider (prompt=none),
	// once per browser session: a user still signed in at the provider
	// comes back signed in, any other comes back not signed in (the
	// provider's login_required and the like are not errors). Sign-out
	// stops it for the rest of the browser session. OpenID Connect
	// providers only.
	// Default: off.
	SilentSignIn bool

	// OnSignIn sees every completed sign-in, with the verified user and
	// tokens, before the session is made: to refuse it (return an error:
	// the ErrorHandler gets ErrForbidden with it, status 403, and no
	// session is made), to provision the user, and to keep a few values
	// of the app's own in the session (SignedIn.Values; read them with
	// SessionFrom(ctx).Values, require them with Value). It runs on the
	// callback's request.
	// Default: none.
	OnSignIn func(ctx context.Context, s *SignedIn) error

	// DenyList ends cookie sessions that sign-out, back-channel logout or
	// EndUserSessions named (a cookie store cannot reach the cookies). Its
	// entries live as long as the store's sessions can (its MaxLifetime).
	// With several instances and a cookie store, share one
	// (redisstore.DenyList). Unused with a server-side store
	// (redisstore.Store), whose sessions are deleted.
	// Default: a MemoryDenyList, for one app instance; none with a
	// server-side store.
	DenyList session.DenyList

	// LogoutTokenMaxAge is how old a back-channel logout token's iat may
	// be.
	// Default: 5m.
	LogoutTokenMaxAge time.Duration

	// SharedSignals receives the sign-in provider's security events
	// (OpenID Shared Signals Framework 1.0: CAEP and RISC) and acts on
	// them: sessions revoked, credentials changed or compromised,
	// accounts disabled, claims or assurance changed. Auth.Ready sets up
	// the stream at the provider's transmitter.
	// Default: none.
	SharedSignals *SharedSignals

	// APIs are the APIs that HTTPClient may call with the user's access
	// token: the token goes to their BaseURLs and nowhere else.
	// Default: none (HTTPClient sends nothing).
	APIs []API

	// BackgroundAccess keeps each user's sign-in grants (a copy of each
	// browser session with a refresh token; jobs use the latest) so
	// that Auth.ClientFor calls the APIs that take the sign-in provider's
	// tokens too, not only connected ones. A kept grant is sealed with the
	// session keys where connected APIs' grants are (Redis with a
	// redisstore Store or DenyList, else this process's memory), is one
	// refresh-token family with its browser session (refreshed once
	// between them, across instances), outlives that session's expiry, and
	// ends with its sign-out, EndUserSessions, or the provider's refusal.
	// Default: off (the refresh token lives in the session only).
	BackgroundAccess bool

	// APITransport sends the requests of HTTPClient, AppClient, ClientFor
	// and Proxy, as given.
	// Default: one transport for the process, shared by all of them and
	// by the calls to the providers: http.DefaultTransport's settings
	// (proxy from the environment, timeouts, HTTP/2 over TLS) with 256
	// idle connections kept per host, not 2, so that calls running at
	// once reuse connections instead of dialing; or, while the app has
	// replaced http.DefaultTransport (a tracing wrapper, its own
	// transport, a test's mock), that one, at each request.
	APITransport http.RoundTripper

	// APITimeout bounds each call made with HTTPClient, redirects and
	// the response body included.
	// Default: 30s.
	APITimeout time.Duration

	// OnEvent receives an event for every step (see package event): for
	// metrics, tracing or a live view of the flow.
	// Default: none.
	OnEvent event.Hook

	// Logger receives one line per failure and per sign-in and sign-out
	// (and per step at Debug). Never a token, code or secret.
	// slog.New(slog.DiscardHandler) logs nothing.
	// Default: failures only (Warn and above, but not a visitor who is
	// merely not signed in or not allowed), to slog's default logger.
	Logger *slog.Logger

	// Now is the clock.
	// Default: time.Now.
	Now func() time.Time
}

// validate refuses what no default can fix: missing parts, negative
// durations, paths that are not local.
func (cfg *Config) validate() error {
	if len(cfg.Clients) == 0 {
		if cfg.Issuer != "" || cfg.Provider != nil {
			return configErr("Config.Clients is required by New, which does no discovery: call Setup to make the client from Issuer (or Provider), ClientID, ClientSecret and AppURL")
		}
		return configErr("Config.Clients is required: the client.Client of the provider to sign in with (or call Setup, which makes it from Issuer, ClientID, ClientSecret and AppURL)")
	}
	if cfg.Provider != nil {
		return configErr("Config.Provider is set with Clients: Setup makes a client from it only when Clients is empty; leave it empty (the client.Config has its Provider)")
	}
	for i, v := range []string{cfg.Issuer, cfg.ClientID, cfg.ClientSecret, cfg.AppURL} {
		if name := [...]string{"Issuer", "ClientID", "ClientSecret", "AppURL (client.Config's RedirectURL)"}[i]; v != "" {
			return configErr("Config.%s is set with Clients: Setup makes a client from it only when Clients is empty; leave it empty (the client.Config has it)", name)
		}
	}
	if cfg.Store == nil {
		return configErr("Config.Store is required (Setup keeps sessions in cookies sealed with Keys when it is nil)")
	}
	if cfg.Prefix != "" && (!strings.HasPrefix(cfg.Prefix, "/") || !strings.HasSuffix(cfg.Prefix, "/")) {
		return configErr("Prefix %q must start and end with /", cfg.Prefix)
	}
	for name, p := range map[string]string{"AfterLogin": cfg.AfterLogin, "AfterLogout": cfg.AfterLogout, "LoginPage": cfg.LoginPage} {
		if _, ok := sanitizeReturnTo(p); p != "" && !ok {
			return configErr("%s %q must be a local path", name, p)
		}
	}
	for name, d := range map[string]time.Duration{"FlowTTL": cfg.FlowTTL, "RefreshLeeway": cfg.RefreshLeeway,
		"RefreshTimeout": cfg.RefreshTimeout, "RetryAfter": cfg.RetryAfter, "ClaimsMaxAge": cfg.ClaimsMaxAge, "LogoutTokenMaxAge": cfg.LogoutTokenMaxAge, "APITimeout": cfg.APITimeout} {
		if d < 0 {
			return configErr("%s is negative (%s); leave it zero for the default", name, d)
		}
	}
	if cfg.MaxFlows > 100 {
		return configErr("MaxFlows is %d; use at most 100 (each attempt is a cookie, and browsers keep about 180 cookies per site)", cfg.MaxFlows)
	}
	if cfg.MaxFlows < 0 {
		return configErr("MaxFlows is negative (%d); leave it zero for the default", cfg.MaxFlows)
	}
	return nil
}

// setDefaults fills the zero fields with the defaults their docs give;
// PostLogoutRedirectURL is on the origin of first's RedirectURL.
func (cfg *Config) setDefaults(first *client.Client) error {
	cfg.Prefix = cmp.Or(cfg.Prefix, "/auth/")
	cfg.AfterLogin = cmp.Or(cfg.AfterLogin, "/")
	cfg.AfterLogout = cmp.Or(cfg.AfterLogout, "/")
	if cfg.PostLogoutRedirectURL == "" {
		u, err := url.Parse(plumbingOf(first).RedirectURL())
		if err != nil {
			return configErr("client RedirectURL: %w", err)
		}
		cfg.PostLogoutRedirectURL = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: cfg.AfterLogout}).String()
	}
	cfg.FlowTTL = cmp.Or(cfg.FlowTTL, 10*time.Minute)
	cfg.MaxFlows = cmp.Or(cfg.MaxFlows, 8)
	if cfg.ErrorHandler == nil {
		u, _ := url.Parse(plumbingOf(first).RedirectURL())
		cfg.ErrorHandler = http.HandlerFunc(defaultErrorPage(cfg.Prefix+"login", u != nil && netx.IsLoopbackHost(u.Hostname())))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.RefreshLeeway = cmp.Or(cfg.RefreshLeeway, time.Minute)
	cfg.RefreshTimeout = cmp.Or(cfg.RefreshTimeout, 10*time.Second)
	cfg.RetryAfter = cmp.Or(cfg.RetryAfter, 5*time.Second)
	if cfg.OnRefreshError == nil {
		cfg.OnRefreshError = DefaultRefreshPolicy
	}
	cfg.APITimeout = cmp.Or(cfg.APITimeout, 30*time.Second)
	cfg.LogoutTokenMaxAge = cmp.Or(cfg.LogoutTokenMaxAge, 5*time.Minute)
	return nil
}
