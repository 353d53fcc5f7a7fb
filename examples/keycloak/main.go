// Command keycloak signs users in with a Keycloak realm, configured by
// environment:
//
//	KEYCLOAK_URL            the server, e.g. https://sso.example.com (required)
//	KEYCLOAK_REALM          the realm (required)
//	KEYCLOAK_CLIENT_ID      the client's ID (required)
//	KEYCLOAK_CLIENT_SECRET  its secret, from the client's Credentials tab (required)
//	KEYCLOAK_ADMIN_ROLE     a realm role whose holders may open /admin
//
// plus APP_URL, LISTEN_ADDR, SESSION_KEYS, API_URL (default: the realm's
// userinfo) and REDIS_URL as in every example. See the README for the
// steps in Keycloak's admin console.
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

func main() { envconfig.Run("keycloak", newApp) }

// newApp is the whole app: provider, client, session store, middleware and
// routes.
func newApp(ctx context.Context, env envconfig.Env) (http.Handler, error) {
	vars, err := env.Required("KEYCLOAK_URL", "KEYCLOAK_REALM", "KEYCLOAK_CLIENT_ID", "KEYCLOAK_CLIENT_SECRET")
	if err != nil {
		return nil, err
	}
	app, err := env.App()
	if err != nil {
		return nil, err
	}

	// The provider, and the app's registration there.
	prov, err := providers.Keycloak(vars["KEYCLOAK_URL"], vars["KEYCLOAK_REALM"], env.ProviderOptions()...)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{
		Provider: prov, ClientID: vars["KEYCLOAK_CLIENT_ID"], ClientSecret: vars["KEYCLOAK_CLIENT_SECRET"],
		RedirectURL: app.Callback(""),
		Scopes:      []string{"openid", "profile", "email", "offline_access"},
	})
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(vars["KEYCLOAK_URL"], "/") + "/realms/" + vars["KEYCLOAK_REALM"]

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
	apiURL := cmp.Or(app.APIURL, base+"/protocol/openid-connect/userinfo")
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
	pages := webapp.Pages{Title: "confidant · Keycloak"}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/{$}", auth.Optional(pages.Home()))
	mux.Handle("/profile", auth.Require(pages.Profile()))
	mux.Handle("/api", auth.Require(pages.API(func(r *http.Request) (string, *http.Response, error) {
		resp, err := auth.HTTPClient(r).Get(apiURL)
		return apiURL, resp, err
	})))
	if role := env.Get("KEYCLOAK_ADMIN_ROLE"); role != "" {
		// Realm roles are in realm_access.roles; a client's in
		// resource_access.CLIENT.roles.
		mux.Handle("/admin", auth.RequireWith(middleware.Claim("realm_access.roles", role))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "admin: %s\n", middleware.UserFrom(r.Context()).Name)
		})))
	}
	return mux, nil
}
