// Command oidc signs users in with any OpenID Connect provider found by
// discovery, configured by environment:
//
//	OIDC_ISSUER           issuer URL (required)
//	OIDC_CLIENT_ID        client ID (required); a URL on APP_URL's origin is a client ID
//	                      metadata document, which the app serves at that path (for
//	                      servers that support such documents: no registration by hand;
//	                      OIDC_CLIENT_KEY_FILE, no secret)
//	OIDC_CLIENT_SECRET    client secret (required, unless OIDC_CLIENT_KEY_FILE or
//	                      OIDC_CLIENT_CERT_FILE is set)
//	OIDC_SCOPES           default "openid profile email offline_access"
//	OIDC_CLIENT_AUTH      client_secret_basic, client_secret_post, private_key_jwt,
//	                      tls_client_auth or self_signed_tls_client_auth; default
//	                      from discovery (tls_client_auth when the certificate is
//	                      the only credential)
//	OIDC_CLIENT_KEY_FILE  PEM, PKCS#8 private key (EC P-256, RSA or Ed25519) for private_key_jwt
//	OIDC_CLIENT_KEY_ID    its kid, as registered at the provider
//	OIDC_CLIENT_CERT_FILE, OIDC_CLIENT_CERT_KEY_FILE
//	                      PEM client certificate and its PKCS#8 key, for mutual TLS
//	                      (RFC 8705): presented to the provider (at its
//	                      mtls_endpoint_aliases) and to API_URL; authenticates the
//	                      client with tls_client_auth or self_signed_tls_client_auth;
//	                      without OIDC_DPOP, tokens are bound to it where the
//	                      registration says so
//	OIDC_PAR              true: push authorization requests (RFC 9126) whenever
//	                      the provider offers it (always when it requires it)
//	OIDC_ACR_VALUES       acr_values asked for at sign-in; the ID token's acr must be one
//	OIDC_MAX_AGE          max_age in seconds asked for at sign-in; auth_time is verified
//	OIDC_DPOP             true: DPoP-bound tokens (RFC 9449), proved with a key per sign-in
//	OIDC_TENANTS          comma-separated tenant IDs accepted from a multi-tenant provider
//	                      (OIDC_ISSUER https://login.microsoftonline.com/common/v2.0,
//	                      whose discovery names the issuer template …/{tenantid}/v2.0)
//	OIDC_ANY_TENANT       true: accept EVERY tenant of such a provider instead
//	OIDC_SSF              push or poll: receive the provider's security events (OpenID
//	                      Shared Signals: CAEP, RISC) from the transmitter at
//	                      OIDC_ISSUER's /.well-known/ssf-configuration, on a stream set
//	                      up at start with the app's client-credentials token; pushed
//	                      to APP_URL/auth/ssf (RFC 8935) or long-polled (RFC 8936).
//	                      A session revoked, a credential changed or compromised, an
//	                      account disabled ends sessions; changed claims are renewed;
//	                      a lower assurance than OIDC_ACR_VALUES signs in again
//	OIDC_SSF_PUSH_TOKEN   the push's bearer token (default: derived from SESSION_KEYS)
//	OIDC_SSF_SCOPES       scopes of the token for the transmitter's management API
//	OIDC_RESPONSE_MODE    form_post: the provider POSTs the authorization response to the
//	                      callback (default: query parameters of a redirect); jwt,
//	                      query.jwt or form_post.jwt: a signed response (JARM)
//	OIDC_FAPI             2.0: the FAPI 2.0 Security Profile (needs OIDC_CLIENT_KEY_FILE
//	                      or OIDC_CLIENT_CERT_FILE, and OIDC_DPOP=true or the
//	                      certificate for certificate-bound tokens; PAR on);
//	                      2.0-message-signing: with JAR and JARM too (signed with
//	                      OIDC_CLIENT_KEY_FILE)
//	API_RESOURCE          the resource indicator (RFC 8707) or audience of API_URL's own
//	                      token (default: API_URL gets the sign-in token)
//	API_SCOPES            the scopes of that token
//	API_AUTH_SERVERS      API_URL describes itself (RFC 9728): the authorization servers
//	                      (issuers, exact strings, comma- or space-separated) it may
//	                      name in its metadata; users connect it once, and its first
//	                      call carries no token (not with API_RESOURCE; API_SCOPES, when
//	                      set, replaces the metadata's scopes). /api sends it a plain
//	                      GET: an MCP server wants an MCP client (see docs/connected.md)
//	API_ALLOW_INTERNAL    true: its metadata may be on a private or link-local address
//	API2_ISSUER           a second API's own authorization server (RFC 8414 metadata, else
//	                      OpenID discovery), which users connect once from /api2;
//	                      with API2_CLIENT_ID, API2_CLIENT_SECRET (the app's registration
//	                      there; redirect URL APP_URL/auth/callback), API2_URL (what
//	                      /api2 calls) and API2_SCOPES (exactly what connecting asks for,
//	                      plus offline_access where the server lists it)
//
// A provider or API on https with a private CA is trusted through the
// system pool: SSL_CERT_FILE, as for any Go program.
//
// and the app's own: APP_URL (default
// http://localhost:8080; register APP_URL/auth/callback as the redirect URL,
// APP_URL/ as the post-logout redirect URL and
// APP_URL/auth/backchannel-logout as the back-channel logout URL; with
// OIDC_SSF=push, the transmitter pushes to APP_URL/auth/ssf),
// LISTEN_ADDR (default :8080), SESSION_KEYS (comma-separated base64 32-byte
// keys; default a random key, sessions end at restart), API_URL (what /api
// calls), REDIS_URL (sessions in Redis, for several instances; with
// SESSION_STORE=cookie, sessions stay in cookies and the instances share the
// deny list and refresh coordination through that Redis; either way, the
// users' sign-in grants are kept there for -worker: BackgroundAccess).
//
// With -worker SUBJECT, it serves nothing: it calls API_URL and API2_URL
// for the user whose ID token's sub at OIDC_ISSUER is SUBJECT, with no
// browser (the web app's REDIS_URL and SESSION_KEYS required: its users'
// grants are kept there, sealed with those keys),
// prints one line per API (NAME URL STATUS, or NAME URL error: not
// connected / revoked / …) and exits 0 when every call answered 200, 3 when
// a grant is missing, 4 when one was revoked (the provider refused it: it
// is deleted, not retried), 1 otherwise.
//
// Routes: / (public), /profile (protected; JSON when asked), /api
// (protected; calls API_URL: when the API needs the user first, to
// connect it, to sign in again with more (RFC 9470: never a lower acr than
// OIDC_ACR_VALUES), or for more scope, a navigation goes there and a JSON
// call gets 401 or 403 with a login_url; a refusal of the API's metadata,
// or of its token, is JSON {"error": reason}), /api2 (protected; calls API2_URL with the
// user's connected grant, connecting it first), POST /api2/disconnect,
// /auth/login, /auth/callback, /auth/logout, /auth/backchannel-logout,
// /auth/connect, /auth/ssf; with REDIS_URL, /sessions (the user's own
// sessions on every instance; JSON {"sessions":[{"id","created","last_seen",
// "device","current"}]} when asked) and POST /sessions/end-all (sign out
// everywhere: every session ended, its refresh token revoked; 303 to /, or
// 204 for JSON).
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/metrics"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/providers"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// main builds the app from the process environment and serves it on
// LISTEN_ADDR. A configuration error is one line on stderr and exit
// status 2.
func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	flags := flag.NewFlagSet("oidc", flag.ExitOnError)
	worker := flags.String("worker", "", "call the APIs for the user with this subject, with no browser, and exit")
	flags.Parse(os.Args[1:])
	if *worker != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		code := runWorker(ctx, os.Getenv, nil, logger, *worker, os.Stdout)
		cancel()
		os.Exit(code)
	}
	app, err := environment(os.Getenv).settings(nil)
	var h http.Handler
	if err == nil {
		// Building the app checks that the provider answers (Auth.Ready):
		// bounded, so a provider that hangs fails the start with a reason.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		h, err = newApp(ctx, os.Getenv, nil, logger)
		cancel()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "oidc: %v\n", err)
		os.Exit(2)
	}
	logger.Info("listening", "addr", app.listenAddr, "url", app.url)
	srv := &http.Server{Addr: app.listenAddr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintf(os.Stderr, "oidc: %v\n", err)
		os.Exit(1)
	}
}

// newApp is the whole app: provider, client, session store, middleware and
// routes, configured by env. hc, when not nil, makes the calls to the
// provider and to the API (tests route them to emulated providers); nil
// is the SDK's defaults.
func newApp(ctx context.Context, env environment, hc *http.Client, logger *slog.Logger) (http.Handler, error) {
	b, err := build(ctx, env, hc, logger)
	if err != nil {
		return nil, err
	}
	return b.handler, nil
}

// built is the app as newApp and runWorker use it.
type built struct {
	handler  http.Handler
	auth     *middleware.Auth
	provider string      // the sign-in provider's name (confidant.User.Provider)
	apis     [][2]string // name and URL of API_URL and API2_URL, when set
}

// build is newApp, with what a worker needs.
func build(ctx context.Context, env environment, hc *http.Client, logger *slog.Logger) (*built, error) {
	required := []string{"OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"}
	if env.get("OIDC_CLIENT_KEY_FILE") != "" || env.get("OIDC_CLIENT_CERT_FILE") != "" {
		required = required[:2]
	} else if id := env.get("OIDC_CLIENT_ID"); strings.HasPrefix(id, "https://") || strings.HasPrefix(id, "http://") {
		// A client ID metadata document: a key, never a secret.
		required = []string{"OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_KEY_FILE"}
	}
	vars, err := env.required(required...)
	if err != nil {
		return nil, err
	}
	app, err := env.settings(logger)
	if err != nil {
		return nil, err
	}

	// The provider, and the app's registration there.
	var popts []client.ProviderOption
	if hc != nil {
		popts = append(popts, client.WithHTTPClient(hc))
	}
	if t := env.get("OIDC_TENANTS"); t != "" {
		popts = append(popts, providers.WithTenants(strings.Split(t, ",")...))
	}
	if env.get("OIDC_ANY_TENANT") == "true" {
		popts = append(popts, providers.WithAnyTenant())
	}
	prov, err := client.Discover(ctx, vars["OIDC_ISSUER"], popts...)
	if err != nil {
		return nil, err
	}
	ccfg := client.Config{
		Provider: prov, ClientID: vars["OIDC_CLIENT_ID"], ClientSecret: env.get("OIDC_CLIENT_SECRET"),
		RedirectURL:  strings.TrimSuffix(app.url, "/") + "/auth/callback",
		Scopes:       scopes(env.get("OIDC_SCOPES"), "openid", "profile", "email", "offline_access"),
		PAR:          env.get("OIDC_PAR") == "true",
		DPoP:         env.get("OIDC_DPOP") == "true",
		ResponseMode: env.get("OIDC_RESPONSE_MODE"),
		FAPI:         env.get("OIDC_FAPI"),
	}
	// Asked for at every sign-in, and verified in the ID token.
	for param, name := range map[string]string{"acr_values": "OIDC_ACR_VALUES", "max_age": "OIDC_MAX_AGE"} {
		if v := env.get(name); v != "" {
			if ccfg.AuthParams == nil {
				ccfg.AuthParams = url.Values{}
			}
			ccfg.AuthParams.Set(param, v)
		}
	}
	// private_key_jwt: the key signs a short-lived assertion instead of
	// sending a secret (here from a file; any crypto.Signer, e.g. a KMS key).
	if f := env.get("OIDC_CLIENT_KEY_FILE"); f != "" {
		key, err := privateKey("OIDC_CLIENT_KEY_FILE", f)
		if err != nil {
			return nil, err
		}
		ccfg.PrivateKey = &client.PrivateKey{Key: key, KeyID: env.get("OIDC_CLIENT_KEY_ID")}
	}
	// Mutual TLS: the certificate goes with every call to the provider
	// and to the API (its key: any crypto.Signer, e.g. in an HSM).
	if f := env.get("OIDC_CLIENT_CERT_FILE"); f != "" {
		keyFile := env.get("OIDC_CLIENT_CERT_KEY_FILE")
		if keyFile == "" {
			return nil, fmt.Errorf("OIDC_CLIENT_CERT_FILE needs OIDC_CLIENT_CERT_KEY_FILE, the certificate's private key")
		}
		cert, err := tls.LoadX509KeyPair(f, keyFile)
		if err != nil {
			return nil, fmt.Errorf("OIDC_CLIENT_CERT_FILE, OIDC_CLIENT_CERT_KEY_FILE: %w", err)
		}
		ccfg.ClientCertificate = &cert
	}
	if ccfg.AuthStyle, err = authStyle(env.get("OIDC_CLIENT_AUTH")); err != nil {
		return nil, err
	}
	c, err := client.New(ccfg)
	if err != nil {
		return nil, err
	}

	// Sessions: in encrypted cookies, or in Redis when several instances
	// share them.
	// With SESSION_STORE=cookie and REDIS_URL, sessions stay in cookies
	// and the instances share the deny list and refresh coordination
	// through Redis.
	var store session.Store
	var deny session.DenyList
	cookieStore := env.get("SESSION_STORE") == "cookie"
	switch kind := env.get("SESSION_STORE"); kind {
	case "", "cookie", "redis":
	default:
		return nil, fmt.Errorf("SESSION_STORE=%q: want cookie or redis", kind)
	}
	if app.redisURL != "" {
		opt, err := redis.ParseURL(app.redisURL)
		if err != nil {
			return nil, err
		}
		rdb := redis.NewClient(opt)
		if cookieStore {
			deny = &redisstore.DenyList{Client: rdb}
		} else if store, err = redisstore.New(redisstore.Config{Client: rdb, Keys: app.sessionKeys}); err != nil {
			return nil, err
		}
	}
	if store == nil {
		if store, err = session.NewCookieStore(session.CookieConfig{Keys: app.sessionKeys}); err != nil {
			return nil, err
		}
	}

	// The middleware. The user's access token goes to API_URL and nowhere
	// else.
	// With Redis, the users' sign-in grants are kept there too, for the
	// worker (-worker).
	cfg := middleware.Config{Clients: []*client.Client{c}, Store: store, DenyList: deny, Logger: logger,
		BackgroundAccess: app.redisURL != ""}
	if app.apiURL != "" {
		api := middleware.API{Name: "api", BaseURL: app.apiURL,
			Resource: env.get("API_RESOURCE"), Scopes: scopes(env.get("API_SCOPES"))}
		// An API that describes itself: only the servers named here may
		// get the user's consent for it.
		api.AuthorizationServers = scopes(env.get("API_AUTH_SERVERS"))
		api.AllowInternal = env.get("API_ALLOW_INTERNAL") == "true"
		cfg.APIs = []middleware.API{api}
	}
	// The second API, on an authorization server of its own: each user
	// connects it once, and the grant is kept for the user.
	api2, err := connectedAPI(ctx, env, app.url, popts)
	if err != nil {
		return nil, err
	}
	if api2 != nil {
		cfg.APIs = append(cfg.APIs, *api2)
	}
	if hc != nil {
		cfg.APITransport = hc.Transport
	}
	// The provider's security events, acted on as they arrive.
	switch v := env.get("OIDC_SSF"); v {
	case "":
	case "push", "poll":
		cfg.SharedSignals = &middleware.SharedSignals{Poll: v == "poll", PushToken: env.get("OIDC_SSF_PUSH_TOKEN"),
			Scopes: scopes(env.get("OIDC_SSF_SCOPES"))}
	default:
		return nil, fmt.Errorf("OIDC_SSF=%q: want push or poll", v)
	}
	auth, err := middleware.New(cfg)
	if err != nil {
		return nil, err
	}
	// Fail now, with the reason, when the provider cannot be reached (a
	// typo in its host): not with a 502 for every user later.
	if err := auth.Ready(ctx); err != nil {
		return nil, err
	}

	// The routes, each a page (or JSON, for a request that asks for it).
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	appOrigin, _ := url.Parse(app.url)
	if u, err := url.Parse(env.get("OIDC_CLIENT_ID")); err == nil && u.IsAbs() && appOrigin != nil &&
		u.Scheme == appOrigin.Scheme && u.Host == appOrigin.Host && !strings.HasPrefix(u.Path, "/auth/") {
		// The client ID is the URL of the app's client metadata
		// document: the Auth serves it there.
		mux.Handle(u.Path, auth)
	}
	mux.Handle("/{$}", auth.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		show(w, r, map[string]any{})
	})))
	mux.Handle("/profile", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims := middleware.UserFrom(r.Context()).Claims
		var pretty bytes.Buffer
		json.Indent(&pretty, claims, "", "  ")
		show(w, r, map[string]any{"Claims": pretty.String(), "JSON": json.RawMessage(claims)})
	})))
	mux.Handle("/api", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, body := 0, "no API_URL configured"
		if app.apiURL != "" {
			// The user's access token, refreshed when due (or, for an
			// API that describes itself, its own token once connected).
			resp, err := auth.HTTPClient(r).Get(app.apiURL)
			if auth.StepUp(w, r, err) { // the user must connect it, or sign in again
				return
			}
			if err != nil && wantsJSON(r) {
				// Refused (the API's metadata, or its answer to the
				// token), or unreachable: the reason, for the page.
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Cache-Control", "no-store")
				w.WriteHeader(middleware.StatusCode(err))
				json.NewEncoder(w).Encode(map[string]any{"error": metrics.Reason(err), "error_description": err.Error(),
					"status": 0, "body": err.Error()})
				return
			}
			if err != nil {
				body = err.Error()
			} else {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
				resp.Body.Close()
				status, body = resp.StatusCode, string(b)
			}
		}
		show(w, r, map[string]any{"API": app.apiURL, "Status": status, "Body": body,
			"JSON": map[string]any{"status": status, "body": body}})
	})))
	if api2 != nil {
		mux.Handle("/api2", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			resp, err := auth.HTTPClient(r).Get(api2.BaseURL)
			if auth.StepUp(w, r, err) { // not connected yet: connect, and come back
				return
			}
			status, body := 0, ""
			if err != nil {
				body = err.Error()
			} else {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
				resp.Body.Close()
				status, body = resp.StatusCode, string(b)
			}
			show(w, r, map[string]any{"API": api2.BaseURL, "Status": status, "Body": body, "Connected": true,
				"JSON": map[string]any{"status": status, "body": body}})
		})))
		// Same-origin POSTs only: a cross-site form cannot disconnect.
		disconnect := auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				w.Header().Set("Allow", "POST")
				http.Error(w, "POST only", http.StatusMethodNotAllowed)
				return
			}
			u := middleware.UserFrom(r.Context())
			if err := auth.Disconnect(r.Context(), u.Provider, u.Subject, "api2"); err != nil {
				// The grant is deleted even when the provider could not
				// revoke it.
				logger.Warn("api2: disconnect", "err", err)
			}
			http.Redirect(w, r, "/api2", http.StatusSeeOther)
		}))
		mux.Handle("/api2/disconnect", http.NewCrossOriginProtection().Handler(disconnect))
	}
	if app.redisURL != "" {
		// The user's own sessions, on every instance, and "sign out
		// everywhere" (same-origin POSTs only).
		mux.Handle("/sessions", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			list, err := auth.Sessions(r)
			if err != nil {
				http.Error(w, err.Error(), middleware.StatusCode(err))
				return
			}
			out := []map[string]any{}
			for _, s := range list {
				out = append(out, map[string]any{"id": s.ID, "created": s.Created, "last_seen": s.LastSeen,
					"device": s.Device, "current": s.Current})
			}
			show(w, r, map[string]any{"Sessions": list, "JSON": map[string]any{"sessions": out}})
		})))
		endAll := auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				w.Header().Set("Allow", "POST")
				http.Error(w, "POST only", http.StatusMethodNotAllowed)
				return
			}
			u := middleware.UserFrom(r.Context())
			if err := auth.EndUserSessions(r.Context(), u.Provider, u.Subject); err != nil {
				http.Error(w, err.Error(), middleware.StatusCode(err))
				return
			}
			if wantsJSON(r) {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			http.Redirect(w, r, "/", http.StatusSeeOther)
		}))
		mux.Handle("/sessions/end-all", http.NewCrossOriginProtection().Handler(endAll))
	}
	out := &built{handler: mux, auth: auth, provider: c.Provider().Name()}
	if app.apiURL != "" {
		out.apis = append(out.apis, [2]string{"api", app.apiURL})
	}
	if api2 != nil {
		out.apis = append(out.apis, [2]string{"api2", api2.BaseURL})
	}
	return out, nil
}

// runWorker is -worker: it calls each API for the user subject with no
// browser and returns the exit status.
func runWorker(ctx context.Context, env environment, hc *http.Client, logger *slog.Logger, subject string, out io.Writer) int {
	if env.get("REDIS_URL") == "" || env.get("SESSION_KEYS") == "" {
		fmt.Fprintln(os.Stderr, "oidc: -worker needs the web app's REDIS_URL, where it keeps the users' grants, and its SESSION_KEYS, which seal them")
		return 2
	}
	b, err := build(ctx, env, hc, logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "oidc: %v\n", err)
		return 2
	}
	hcUser := b.auth.ClientFor(b.provider, subject)
	missing, revoked, failed := false, false, false
	for _, api := range b.apis {
		name, u := api[0], api[1]
		resp, err := hcUser.Get(u)
		var te *client.TokenError
		switch {
		case errors.Is(err, middleware.ErrNotConnected) && errors.As(err, &te):
			revoked = true // the provider refused the grant: deleted, not retried
			fmt.Fprintf(out, "%s %s error: revoked\n", name, u)
		case errors.Is(err, middleware.ErrNotConnected):
			missing = true
			fmt.Fprintf(out, "%s %s error: not connected\n", name, u)
		case err != nil:
			failed = true
			fmt.Fprintf(out, "%s %s error: %v\n", name, u, err)
		default:
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			failed = failed || resp.StatusCode != http.StatusOK
			fmt.Fprintf(out, "%s %s %d\n", name, u, resp.StatusCode)
		}
	}
	switch {
	case revoked:
		return 4
	case missing:
		return 3
	case failed || len(b.apis) == 0:
		return 1
	}
	return 0
}

// connectedAPI is the API2_* API, or nil when API2_ISSUER is not set.
func connectedAPI(ctx context.Context, env environment, appURL string, popts []client.ProviderOption) (*middleware.API, error) {
	if env.get("API2_ISSUER") == "" {
		return nil, nil
	}
	vars, err := env.required("API2_ISSUER", "API2_CLIENT_ID", "API2_CLIENT_SECRET", "API2_URL")
	if err != nil {
		return nil, err
	}
	prov, err := client.Discover(ctx, vars["API2_ISSUER"], append(popts, client.WithName("api2"))...)
	if err != nil {
		return nil, fmt.Errorf("API2_ISSUER: %w", err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: vars["API2_CLIENT_ID"], ClientSecret: vars["API2_CLIENT_SECRET"],
		RedirectURL: strings.TrimSuffix(appURL, "/") + "/auth/callback"})
	if err != nil {
		return nil, fmt.Errorf("API2: %w", err)
	}
	return &middleware.API{Name: "api2", BaseURL: vars["API2_URL"], Client: c, Scopes: scopes(env.get("API2_SCOPES"))}, nil
}

// show answers with the page, for the signed-in user if any, or with
// data["JSON"] to a request that accepts JSON and not HTML.
// wantsJSON reports whether r asks for JSON rather than a page.
func wantsJSON(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/json") && !strings.Contains(a, "text/html")
}

func show(w http.ResponseWriter, r *http.Request, data map[string]any) {
	w.Header().Set("Cache-Control", "no-store")
	if data["JSON"] != nil && wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(data["JSON"])
		return
	}
	data["User"] = middleware.UserFrom(r.Context())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	page.Execute(w, data)
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>confidant · OpenID Connect</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}pre{background:#f6f6f6;padding:.8rem;overflow:auto}</style>
</head><body>
<p><a href="/">Home</a> · <a href="/profile">Profile</a> · <a href="/api">Call the API</a></p>
{{with .User}}<h1 id="profile-name">{{.Name}}</h1>
<p>Subject <code id="sub">{{.Subject}}</code> at <code>{{.Provider}}</code>, e-mail <span id="email">{{.Email}}</span>.</p>
<form method="post" action="/auth/logout"><button id="logout" type="submit">Sign out</button></form>
{{else}}<p id="status">You are signed out.</p><p><a id="login" href="/auth/login?return_to=/profile">Sign in</a></p>{{end}}
{{with .Claims}}<h2>Claims</h2><pre id="claims">{{.}}</pre>{{end}}
{{if .Body}}<h2>GET <code>{{.API}}</code> with the access token answered</h2>
<p>Status <b id="api-status">{{.Status}}</b></p><pre id="api-body">{{.Body}}</pre>{{end}}
{{if .Connected}}<form method="post" action="/api2/disconnect"><button id="disconnect" type="submit">Disconnect</button></form>{{end}}
{{with .Sessions}}<h2>Your sessions</h2><ul id="sessions">{{range .}}<li>{{.Device}}, signed in {{.Created.Format "2006-01-02 15:04"}}, last seen {{.LastSeen.Format "15:04"}}{{if .Current}} (this one){{end}}</li>{{end}}</ul>
<form method="post" action="/sessions/end-all"><button id="end-all" type="submit">Sign out everywhere</button></form>{{end}}
</body></html>`))
