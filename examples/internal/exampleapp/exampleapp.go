// Package exampleapp is what the provider examples share: reading the
// environment, building the clients, the session store and the middleware,
// and serving the webapp routes.
package exampleapp

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/examples/internal/envconfig"
	"github.com/confidant-go/confidant/examples/internal/webapp"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// Env is what a Setup gets: the environment, the shared settings, and the
// HTTP client for provider calls (nil in production: the defaults).
type Env struct {
	Getenv     envconfig.Getenv
	App        envconfig.App
	Values     map[string]string // the Required variables
	HTTPClient *http.Client
}

// Callback is the redirect URL for a provider: APP_URL/auth/callback, or
// APP_URL/auth/callback/NAME when an app has several providers.
func (e Env) Callback(name string) string {
	if name == "" {
		return e.App.RedirectURL()
	}
	return e.App.RedirectURL() + "/" + name
}

// ProviderOptions passes the test HTTP client on, when there is one.
func (e Env) ProviderOptions(opts ...client.ProviderOption) []client.ProviderOption {
	if e.HTTPClient != nil {
		opts = append(opts, client.WithHTTPClient(e.HTTPClient))
	}
	return opts
}

// Provider is one configured provider of an example.
type Provider struct {
	Client *client.Client
	Label  string // "Google", for the sign-in button
	APIURL string // what /api calls for its users, unless API_URL is set
}

// Options describe an example.
type Options struct {
	Name     string   // for messages: "auth0"
	Title    string   // page title
	Required []string // environment variables that must be set
	Setup    func(ctx context.Context, e Env) ([]Provider, error)
}

// Build reads the environment and returns the app's handler.
func Build(ctx context.Context, o Options, getenv envconfig.Getenv, hc *http.Client, log *slog.Logger) (http.Handler, envconfig.App, error) {
	vals, err := envconfig.Required(getenv, o.Required...)
	if err != nil {
		return nil, envconfig.App{}, err
	}
	app, err := envconfig.LoadApp(getenv)
	if err != nil {
		return nil, app, err
	}
	if app.RandomKey {
		log.Warn("SESSION_KEYS is not set: using a random key; sessions end when the app restarts")
	}
	provs, err := o.Setup(ctx, Env{Getenv: getenv, App: app, Values: vals, HTTPClient: hc})
	if err != nil {
		return nil, app, err
	}
	var store session.Store
	if app.RedisURL != "" {
		// Several instances: sessions, refresh locks and back-channel
		// logout shared through Redis.
		opt, err := redis.ParseURL(app.RedisURL)
		if err != nil {
			return nil, app, fmt.Errorf("REDIS_URL: %w", err)
		}
		if app.RandomKey {
			return nil, app, fmt.Errorf("REDIS_URL needs SESSION_KEYS shared by every instance")
		}
		store, err = redisstore.New(redisstore.Config{Client: redis.NewClient(opt), Keys: app.SessionKeys})
		if err != nil {
			return nil, app, err
		}
	} else if store, err = session.NewCookieStore(session.CookieConfig{Keys: app.SessionKeys}); err != nil {
		return nil, app, err
	}
	cfg := middleware.Config{Store: store, Logger: log}
	wc := webapp.Config{Title: o.Title, APIURLs: map[string]string{}}
	for _, p := range provs {
		cfg.Clients = append(cfg.Clients, p.Client)
		name := p.Client.Provider().Name()
		wc.Providers = append(wc.Providers, webapp.ProviderLink{Name: name, Label: p.Label})
		wc.APIURLs[name] = p.APIURL
		if app.APIURL != "" {
			wc.APIURLs[name] = app.APIURL
		}
		if u := wc.APIURLs[name]; u != "" {
			// The user's token goes to this API only, and only for users
			// of this provider.
			cfg.APIs = append(cfg.APIs, middleware.API{Name: name + "-api", BaseURL: u, Provider: name})
		}
	}
	if len(provs) > 1 {
		cfg.LoginPage = "/signin"
	}
	if hc != nil {
		cfg.APITransport = hc.Transport
	}
	auth, err := middleware.New(cfg)
	if err != nil {
		return nil, app, err
	}
	wc.Auth = auth
	return webapp.New(wc), app, nil
}

// Main runs the example: a configuration error is one line on stderr and
// exit status 2.
func Main(o Options) {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	h, app, err := Build(context.Background(), o, os.Getenv, nil, log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", o.Name, err)
		os.Exit(2)
	}
	log.Info("listening", "addr", app.ListenAddr, "url", app.AppURL)
	srv := &http.Server{Addr: app.ListenAddr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", o.Name, err)
		os.Exit(1)
	}
}
