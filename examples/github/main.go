// Command github signs users in with GitHub (plain OAuth 2.0), configured
// by environment:
//
//	GITHUB_CLIENT_ID      client ID of an OAuth App or GitHub App (required)
//	GITHUB_CLIENT_SECRET  its client secret (required)
//	GITHUB_BASE_URL       a GitHub Enterprise Server, e.g. https://github.example.com
//
// plus APP_URL, LISTEN_ADDR, SESSION_KEYS, API_URL (default: GitHub's
// GET /user) and REDIS_URL as in every example. See the README for the settings steps.
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

func main() { envconfig.Run("github", newApp) }

// newApp is the whole app: provider, client, session store, middleware and
// routes.
func newApp(ctx context.Context, env envconfig.Env) (http.Handler, error) {
	vars, err := env.Required("GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET")
	if err != nil {
		return nil, err
	}
	app, err := env.App()
	if err != nil {
		return nil, err
	}

	// The provider, and the app's registration there.
	var opts []client.ProviderOption
	defaultAPI := "https://api.github.com/user"
	if base := env.Get("GITHUB_BASE_URL"); base != "" {
		opts = append(opts, providers.WithBaseURL(base))
		defaultAPI = base + "/api/v3/user"
	}
	prov, err := providers.GitHub(env.ProviderOptions(opts...)...)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{
		Provider: prov, ClientID: vars["GITHUB_CLIENT_ID"], ClientSecret: vars["GITHUB_CLIENT_SECRET"],
		RedirectURL: app.Callback(""),
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
	apiURL := cmp.Or(app.APIURL, defaultAPI)
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
	pages := webapp.Pages{Title: "confidant · GitHub"}
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
