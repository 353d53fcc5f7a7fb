// Command auth0 signs users in with an Auth0 tenant, configured by
// environment:
//
//	AUTH0_DOMAIN         tenant domain, e.g. example.eu.auth0.com (required)
//	AUTH0_CLIENT_ID      client ID of a "Regular Web Application" (required)
//	AUTH0_CLIENT_SECRET  its client secret (required)
//	AUTH0_AUDIENCE       API identifier, for JWT access tokens to your API
//	AUTH0_SCOPES         default "openid profile email offline_access"
//
// plus APP_URL, LISTEN_ADDR, SESSION_KEYS, API_URL and REDIS_URL as in every example.
// /auth/login passes Auth0's organization and invitation parameters on, so
// organization invitation links can point at it. See the README for the
// dashboard steps.
package main

import (
	"cmp"
	"context"
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

func main() { envconfig.Run("auth0", newApp) }

// newApp is the whole app: provider, client, session store, middleware and
// routes.
func newApp(ctx context.Context, env envconfig.Env) (http.Handler, error) {
	vars, err := env.Required("AUTH0_DOMAIN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET")
	if err != nil {
		return nil, err
	}
	app, err := env.App()
	if err != nil {
		return nil, err
	}

	// The provider, and the app's registration there.
	var opts []client.ProviderOption
	if aud := env.Get("AUTH0_AUDIENCE"); aud != "" {
		opts = append(opts, providers.WithAudience(aud)) // JWT access tokens for your API
	}
	prov, err := providers.Auth0(vars["AUTH0_DOMAIN"], env.ProviderOptions(opts...)...)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{
		Provider: prov, ClientID: vars["AUTH0_CLIENT_ID"], ClientSecret: vars["AUTH0_CLIENT_SECRET"],
		RedirectURL: app.Callback(""),
		// "Client Secret (Post)" is Auth0's default authentication
		// method for Regular Web Applications.
		AuthStyle: client.AuthStylePost,
		Scopes:    envconfig.Scopes(env.Get("AUTH0_SCOPES"), "openid", "profile", "email", "offline_access"),
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

	// The middleware. The user's access token goes to the API and nowhere
	// else.
	apiURL := cmp.Or(app.APIURL, "")
	cfg := middleware.Config{Clients: []*client.Client{c}, Store: store, Logger: env.Logger}
	if apiURL != "" {
		cfg.APIs = []middleware.API{{Name: "api", BaseURL: apiURL}}
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
	pages := webapp.Pages{Title: "confidant · Auth0"}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/{$}", auth.Optional(pages.Home()))
	mux.Handle("/profile", auth.Require(pages.Profile()))
	mux.Handle("/api", auth.Require(pages.API(func(r *http.Request) (string, *http.Response, error) {
		if apiURL == "" {
			return "", nil, nil
		}
		resp, err := auth.HTTPClient(r).Get(apiURL)
		return apiURL, resp, err
	})))
	return mux, nil
}
