// Command google signs users in with Google, configured by environment:
//
//	GOOGLE_CLIENT_ID      OAuth client ID of type "Web application" (required)
//	GOOGLE_CLIENT_SECRET  its client secret (required)
//	GOOGLE_HOSTED_DOMAIN  only accept accounts of this Workspace domain
//
// plus APP_URL, LISTEN_ADDR, SESSION_KEYS, API_URL (default: Google's
// userinfo endpoint) and REDIS_URL as in every example. It asks for a refresh token the
// Google way (access_type=offline, prompt=consent). See the README for the
// console steps.
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

func main() { envconfig.Run("google", newApp) }

// newApp is the whole app: provider, client, session store, middleware and
// routes.
func newApp(ctx context.Context, env envconfig.Env) (http.Handler, error) {
	vars, err := env.Required("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET")
	if err != nil {
		return nil, err
	}
	app, err := env.App()
	if err != nil {
		return nil, err
	}

	// The provider, and the app's registration there.
	var opts []client.ProviderOption
	if hd := env.Get("GOOGLE_HOSTED_DOMAIN"); hd != "" {
		opts = append(opts, providers.WithHostedDomain(hd))
	}
	prov, err := providers.Google(env.ProviderOptions(opts...)...)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{
		Provider: prov, ClientID: vars["GOOGLE_CLIENT_ID"], ClientSecret: vars["GOOGLE_CLIENT_SECRET"],
		RedirectURL: app.Callback(""),
		Scopes:      []string{"openid", "profile", "email", "offline_access"}, // offline_access: Google's access_type=offline
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
	apiURL := cmp.Or(app.APIURL, "https://openidconnect.googleapis.com/v1/userinfo")
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
	pages := webapp.Pages{Title: "confidant · Google"}
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
