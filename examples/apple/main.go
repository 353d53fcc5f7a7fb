// Command apple signs users in with Sign in with Apple, configured by
// environment:
//
//	APPLE_SERVICES_ID   the Services ID, Apple's client ID (required)
//	APPLE_TEAM_ID       the Team ID (required)
//	APPLE_KEY_ID        the Key ID of the Sign in with Apple key (required)
//	APPLE_KEY_FILE      that key's .p8 file, as downloaded (required)
//
// plus APP_URL, LISTEN_ADDR, SESSION_KEYS, API_URL and REDIS_URL as in every
// example. The client secret is a JWT the app signs with the key and renews
// itself. Apple answers by form_post, and sends the user's name once, on
// the first sign-in: OnSignIn here shows where an app would store it. See
// the README for the developer-portal steps.
package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/examples/internal/envconfig"
	"github.com/confidant-go/confidant/examples/internal/webapp"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/providers"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

func main() { envconfig.Run("apple", newApp) }

// newApp is the whole app: provider, client, session store, middleware and
// routes.
func newApp(ctx context.Context, env envconfig.Env) (http.Handler, error) {
	vars, err := env.Required("APPLE_SERVICES_ID", "APPLE_TEAM_ID", "APPLE_KEY_ID", "APPLE_KEY_FILE")
	if err != nil {
		return nil, err
	}
	app, err := env.App()
	if err != nil {
		return nil, err
	}
	key, err := envconfig.PrivateKey("APPLE_KEY_FILE", vars["APPLE_KEY_FILE"])
	if err != nil {
		return nil, err
	}

	// The provider, and the app's registration there: the client secret
	// is signed with the key, as Apple requires.
	prov, err := providers.Apple(env.ProviderOptions()...)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{
		Provider: prov, ClientID: vars["APPLE_SERVICES_ID"], RedirectURL: app.Callback(""),
		SecretJWT: &client.SecretJWT{Key: key, KeyID: vars["APPLE_KEY_ID"], Issuer: vars["APPLE_TEAM_ID"]},
	})
	if err != nil {
		return nil, err
	}

	// Sessions: in encrypted cookies, or in Redis when several instances
	// share them.
	var store session.Store
	if app.RedisURL != "" {
		opt, err := redis.ParseURL(app.RedisURL)
		if err != nil {
			return nil, err
		}
		store, err = redisstore.New(redisstore.Config{Client: redis.NewClient(opt), Keys: app.SessionKeys})
		if err != nil {
			return nil, err
		}
	} else if store, err = session.NewCookieStore(session.CookieConfig{Keys: app.SessionKeys}); err != nil {
		return nil, err
	}

	// The middleware. Apple sends the user's name on the first sign-in
	// only: store it in your own records here.
	cfg := middleware.Config{Clients: []*client.Client{c}, Store: store, Logger: env.Logger,
		OnSignIn: func(ctx context.Context, in *middleware.SignedIn) error {
			if env.Logger != nil && in.User.Name != "" {
				env.Logger.Info("apple: a first sign-in; keep the name now", slog.String("sub", in.User.Subject))
			}
			return nil
		}}
	if app.APIURL != "" {
		cfg.APIs = []middleware.API{{Name: "api", BaseURL: app.APIURL}}
	}
	if env.HTTPClient != nil {
		cfg.APITransport = env.HTTPClient.Transport
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

	// The routes.
	pages := webapp.Pages{Title: "confidant · Sign in with Apple"}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/{$}", auth.Optional(pages.Home()))
	mux.Handle("/profile", auth.Require(pages.Profile()))
	mux.Handle("/api", auth.Require(pages.API(func(r *http.Request) (string, *http.Response, error) {
		if app.APIURL == "" {
			return "", nil, nil
		}
		resp, err := auth.HTTPClient(r).Get(app.APIURL)
		return app.APIURL, resp, err
	})))
	return mux, nil
}
