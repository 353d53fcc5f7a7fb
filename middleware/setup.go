package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/session"
)

// SetupConfig is what Setup needs: the provider, the app's registration
// there, where the app runs, and its session keys.
type SetupConfig struct {
	// Issuer is an OpenID Connect provider's issuer URL, discovered
	// (client.Discover). Or set Provider (a preset: client.Auth0,
	// client.Google, client.Entra, …) instead.
	Issuer   string
	Provider *client.Provider

	// ClientID and ClientSecret are the app's registration at the
	// provider, a confidential ("web") client.
	ClientID     string
	ClientSecret string

	// AppURL is where the browser reaches the app (scheme and host, e.g.
	// http://localhost:8080). Register AppURL + "/auth/callback" as the
	// redirect URL, and AppURL + "/" as the sign-out URL.
	AppURL string

	// SessionKeys are the keys of the encrypted session cookies, as
	// session.ParseKeys reads them: base64, "new,old" while rotating.
	// Make one with: openssl rand -base64 32.
	SessionKeys string

	// Scopes are asked for at sign-in. Default with Issuer: openid,
	// profile, email and offline_access (for a refresh token); with
	// Provider, the preset's.
	Scopes []string

	// APIs are the only places the user's access token is sent (see
	// Config.APIs).
	APIs []API

	// Logger: see Config.Logger (default: failures, to slog's default
	// logger).
	Logger *slog.Logger
}

// Setup is the one-call path: it discovers the provider (or takes the
// preset), registers the app as a client, keeps sessions in encrypted
// cookies, makes the Auth, mounts its routes (/auth/login, /auth/callback,
// /auth/logout, /auth/backchannel-logout) on mux, and checks that the
// provider answers. Wrap the app's handlers with the returned Auth's
// Require and Optional. mux is an *http.ServeMux, or any router with
// Handle(pattern, handler) (chi).
//
// Setup returns an error that names the mistake for what is missing or
// wrong (an empty variable, a key that is not 32 bytes, an issuer that
// cannot be reached, …), so that the app stops at start rather than fail
// its users later. For control over each part (the store on Redis, refresh
// policy, several providers), build them yourself: client.New,
// session.NewCookieStore or redisstore.New, New, and mux.Handle("/auth/", auth).
func Setup(ctx context.Context, mux interface{ Handle(string, http.Handler) }, cfg SetupConfig) (*Auth, error) {
	var missing []string
	for name, v := range map[string]string{"ClientID": cfg.ClientID, "ClientSecret": cfg.ClientSecret, "AppURL": cfg.AppURL, "SessionKeys": cfg.SessionKeys} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if cfg.Issuer == "" && cfg.Provider == nil {
		missing = append(missing, "Issuer (or Provider)")
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, configErr("Setup: %s not set", strings.Join(missing, ", "))
	}
	app, err := url.Parse(cfg.AppURL)
	if err != nil || app.Host == "" || (app.Scheme != "http" && app.Scheme != "https") || (app.Path != "" && app.Path != "/") || app.RawQuery != "" {
		return nil, configErr("Setup: AppURL %q: want the app's scheme and host, e.g. http://localhost:8080 or https://app.example.com", cfg.AppURL)
	}
	keys, err := session.ParseKeys(cfg.SessionKeys)
	if err != nil {
		return nil, fmt.Errorf("%w: Setup: SessionKeys: %w", fail.MiddlewareConfig, err)
	}
	prov, scopes := cfg.Provider, cfg.Scopes
	if prov == nil {
		if prov, err = client.Discover(ctx, cfg.Issuer); err != nil {
			return nil, err
		}
		if scopes == nil {
			scopes = []string{"openid", "profile", "email", "offline_access"}
		}
	}
	base := app.Scheme + "://" + app.Host
	c, err := client.New(client.Config{Provider: prov, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		RedirectURL: base + "/auth/callback", Scopes: scopes})
	if err != nil {
		return nil, err
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: keys})
	if err != nil {
		return nil, err
	}
	auth, err := New(Config{Clients: []*client.Client{c}, Store: store, APIs: cfg.APIs, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	mux.Handle(auth.cfg.Prefix, auth)
	if err := auth.Ready(ctx); err != nil {
		return nil, fmt.Errorf("middleware: Setup: %w", err)
	}
	return auth, nil
}
