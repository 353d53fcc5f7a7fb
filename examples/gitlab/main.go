// Command gitlab signs users in with GitLab (gitlab.com, or a self-managed
// instance), configured by environment:
//
//	GITLAB_CLIENT_ID      the application's ID (required)
//	GITLAB_CLIENT_SECRET  its secret (required)
//	GITLAB_URL            a self-managed instance, e.g. https://gitlab.example.com
//	                      (default https://gitlab.com)
//	GITLAB_GROUP          a group's full path (e.g. acme/ops) whose members may
//	                      open /ops
//
// plus APP_URL, LISTEN_ADDR, SESSION_KEYS, API_URL (default: GitLab's
// userinfo) and REDIS_URL as in every example. See the README for the steps
// at GitLab.
package main

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/examples/internal/envconfig"
	"github.com/confidant-go/confidant/examples/internal/webapp"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/providers"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

func main() { envconfig.Run("gitlab", newApp) }

// newApp is the whole app: provider, client, session store, middleware and
// routes.
func newApp(ctx context.Context, env envconfig.Env) (http.Handler, error) {
	vars, err := env.Required("GITLAB_CLIENT_ID", "GITLAB_CLIENT_SECRET")
	if err != nil {
		return nil, err
	}
	app, err := env.App()
	if err != nil {
		return nil, err
	}

	// The provider, and the app's registration there.
	var opts []client.ProviderOption
	base := "https://gitlab.com"
	if u := env.Get("GITLAB_URL"); u != "" {
		opts, base = append(opts, providers.WithBaseURL(u)), strings.TrimSuffix(u, "/")
	}
	prov, err := providers.GitLab(env.ProviderOptions(opts...)...)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{
		Provider: prov, ClientID: vars["GITLAB_CLIENT_ID"], ClientSecret: vars["GITLAB_CLIENT_SECRET"],
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
	apiURL := cmp.Or(app.APIURL, base+"/oauth/userinfo")
	cfg := middleware.Config{Clients: []*client.Client{c}, Store: store, Logger: env.Logger,
		APIs: []middleware.API{{Name: "api", BaseURL: apiURL}}}
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
	pages := webapp.Pages{Title: "confidant · GitLab"}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/{$}", auth.Optional(pages.Home()))
	mux.Handle("/profile", auth.Require(pages.Profile()))
	mux.Handle("/api", auth.Require(pages.API(func(r *http.Request) (string, *http.Response, error) {
		resp, err := auth.HTTPClient(r).Get(apiURL)
		return apiURL, resp, err
	})))
	if group := env.Get("GITLAB_GROUP"); group != "" {
		// GitLab's groups are in userinfo, which the preset reads.
		mux.Handle("/ops", auth.RequireWith(middleware.Claim("groups", group))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "ops: %s\n", middleware.UserFrom(r.Context()).Name)
		})))
	}
	return mux, nil
}
