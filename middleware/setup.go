package middleware

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/session"
)

// Setup makes an Auth from cfg with what New would need built for it, and
// checks that the provider answers. It is where an app starts, on any
// router: with Issuer (or Provider), ClientID, ClientSecret, AppURL and
// Keys set, it discovers the provider, registers the app as a client with the redirect
// URL AppURL + Prefix + "callback" (default AppURL/auth/callback) and the
// scopes openid, profile, email and offline_access (for a refresh token;
// a preset's own with Provider),
// and keeps sessions in encrypted cookies sealed with Keys. Every other
// field of cfg counts as it does for New. The app mounts the returned Auth
// (an http.Handler serving sign-in, callback, sign-out and back-channel
// logout under Prefix) on its router: mux.Handle("/auth/", auth) with
// net/http, r.Handle("/auth/*", auth) with chi,
// e.Any("/auth/*", echo.WrapHandler(auth)) with echo,
// r.Any("/auth/*path", gin.WrapH(auth)) with gin.
//
// The app grows in the same Config: set Store (redisstore.New) and Setup
// uses it instead of cookies; set Clients (several providers, FAPI, PAR,
// DPoP, …: anything client.Config holds) and Setup uses them instead of
// Issuer, Provider, ClientID, ClientSecret and AppURL, which must then be
// empty.
//
// Setup returns an error that names the mistake for what is missing or
// wrong (an empty value, a key that is not 32 bytes, an issuer that cannot
// be reached or names itself differently, …), so that the app stops at
// start rather than fail its users later. New makes an Auth from a Config
// with Clients and Store and does no I/O: for tests, and apps that build
// each part themselves.
func Setup(ctx context.Context, cfg Config) (*Auth, error) {
	if err := cfg.setupMissing(); err != nil {
		return nil, err
	}
	if len(cfg.Clients) == 0 {
		c, err := cfg.setupClient(ctx)
		if err != nil {
			return nil, err
		}
		cfg.Clients = []*client.Client{c}
		cfg.Issuer, cfg.ClientID, cfg.ClientSecret, cfg.AppURL, cfg.Provider = "", "", "", "", nil
	}
	if cfg.Store == nil {
		store, err := session.NewCookieStore(session.CookieConfig{Keys: cfg.Keys, Now: cfg.Now})
		if err != nil {
			hint := " (make one with: openssl rand -base64 32)"
			if strings.Contains(err.Error(), "openssl") {
				hint = ""
			}
			return nil, fmt.Errorf("%w: Setup: Keys: %w%s", fail.MiddlewareConfig, err, hint)
		}
		cfg.Store, cfg.Keys = store, nil // the flow cookies share its cipher
	}
	auth, err := build(cfg)
	if err != nil {
		return nil, err
	}
	if err := auth.Ready(ctx); err != nil {
		return nil, fmt.Errorf("middleware: Setup: %w", err)
	}
	return auth, nil
}

// setupMissing names, all at once, what Setup needs and cfg lacks.
func (cfg *Config) setupMissing() error {
	var missing []string
	if len(cfg.Clients) == 0 {
		for name, v := range map[string]string{"ClientID": cfg.ClientID, "ClientSecret": cfg.ClientSecret, "AppURL": cfg.AppURL} {
			if v == "" {
				missing = append(missing, name)
			}
		}
		switch {
		case cfg.Issuer == "" && cfg.Provider == nil:
			missing = append(missing, "Issuer (or Provider)")
		case cfg.Issuer != "" && cfg.Provider != nil:
			return configErr("Setup: Issuer and Provider both set: Provider is the provider (for an issuer with options, client.Discover(ctx, issuer, opts...)); leave Issuer empty")
		}
	}
	if cfg.Store == nil && len(cfg.Keys) == 0 {
		missing = append(missing, "Keys (session.ParseKeys(os.Getenv(\"SESSION_KEYS\")); make one with: openssl rand -base64 32)")
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return configErr("Setup: %s not set", strings.Join(missing, ", "))
	}
	return nil
}

// setupClient discovers Issuer and makes the app's client there.
func (cfg *Config) setupClient(ctx context.Context) (*client.Client, error) {
	app, err := url.Parse(cfg.AppURL)
	if err != nil || app.Host == "" || (app.Scheme != "http" && app.Scheme != "https") || (app.Path != "" && app.Path != "/") || app.RawQuery != "" {
		return nil, configErr("Setup: AppURL %q: want the app's scheme and host, e.g. http://localhost:8080 or https://app.example.com", cfg.AppURL)
	}
	prefix := cmp.Or(cfg.Prefix, "/auth/")
	if !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") {
		return nil, configErr("Prefix %q must start and end with /", prefix)
	}
	prov, scopes := cfg.Provider, []string{"openid", "profile", "email", "offline_access"}
	if prov == nil {
		var err error
		if prov, err = client.Discover(ctx, cfg.Issuer); err != nil {
			return nil, err
		}
		if !providerOf(prov).IsOIDC() {
			// Discover found RFC 8414 metadata without jwks_uri: no ID
			// token, so no user to sign in.
			return nil, configErr("Setup: Issuer %q is an OAuth 2.0 authorization server without OpenID Connect (its RFC 8414 metadata has no jwks_uri): it cannot sign users in; for a plain OAuth 2.0 provider, give Provider (client.OAuth2) instead", cfg.Issuer)
		}
	} else if providerOf(prov).HasScopes() {
		scopes = nil // the preset's
	}
	return client.New(client.Config{Provider: prov, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		RedirectURL: app.Scheme + "://" + app.Host + prefix + "callback", Scopes: scopes, Now: cfg.Now})
}
