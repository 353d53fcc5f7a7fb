// Command cognito signs users in with an Amazon Cognito user pool,
// configured by environment:
//
//	COGNITO_REGION         the pool's region, e.g. eu-west-1 (required)
//	COGNITO_USER_POOL_ID   the user pool ID, e.g. eu-west-1_AbCdEf123 (required)
//	COGNITO_CLIENT_ID      the app client's ID (required)
//	COGNITO_CLIENT_SECRET  its secret (required)
//	COGNITO_ADMIN_GROUP    a group whose members may open /admin
//
// plus APP_URL, LISTEN_ADDR, SESSION_KEYS, API_URL (default: the pool's
// userInfo) and REDIS_URL as in every example. See the README for the
// console steps.
package main

import (
	"cmp"
	"context"
	"fmt"
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

func main() { envconfig.Run("cognito", newApp) }

// newApp is the whole app: provider, client, session store, middleware and
// routes.
func newApp(ctx context.Context, env envconfig.Env) (http.Handler, error) {
	vars, err := env.Required("COGNITO_REGION", "COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID", "COGNITO_CLIENT_SECRET")
	if err != nil {
		return nil, err
	}
	app, err := env.App()
	if err != nil {
		return nil, err
	}

	// The provider, and the app's registration there.
	prov, err := providers.Cognito(vars["COGNITO_REGION"], vars["COGNITO_USER_POOL_ID"], env.ProviderOptions()...)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{
		Provider: prov, ClientID: vars["COGNITO_CLIENT_ID"], ClientSecret: vars["COGNITO_CLIENT_SECRET"],
		RedirectURL: app.Callback(""),
		Scopes:      []string{"openid", "profile", "email"},
	})
	if err != nil {
		return nil, err
	}
	// Userinfo lives on the pool's domain, which discovery names.
	ep, err := prov.Endpoints(ctx)
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
	apiURL := cmp.Or(app.APIURL, ep.UserInfoURL)
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
	pages := webapp.Pages{Title: "confidant · Amazon Cognito"}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/{$}", auth.Optional(pages.Home()))
	mux.Handle("/profile", auth.Require(pages.Profile()))
	mux.Handle("/api", auth.Require(pages.API(func(r *http.Request) (string, *http.Response, error) {
		resp, err := auth.HTTPClient(r).Get(apiURL)
		return apiURL, resp, err
	})))
	if group := env.Get("COGNITO_ADMIN_GROUP"); group != "" {
		// A user's groups are in the ID token's cognito:groups.
		mux.Handle("/admin", auth.RequireWith(middleware.Claim("cognito:groups", group))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "admin: %s\n", middleware.UserFrom(r.Context()).Name)
		})))
	}
	return mux, nil
}
