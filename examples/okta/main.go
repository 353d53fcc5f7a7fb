// Command okta signs users in with Okta, configured by environment:
//
//	OKTA_DOMAIN         the org's domain, e.g. acme.okta.com (required)
//	OKTA_AUTH_SERVER    a custom authorization server's ID (default "default"), or
//	                    org for the org authorization server
//	OKTA_CLIENT_ID      the app integration's Client ID (required)
//	OKTA_CLIENT_SECRET  its Client secret (required)
//	OKTA_ADMIN_GROUP    a group whose members may open /admin (with a groups
//	                    claim added to the authorization server)
//
// plus APP_URL, LISTEN_ADDR, SESSION_KEYS, API_URL (default: the server's
// userinfo) and REDIS_URL as in every example. See the README for the
// admin console steps.
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

func main() { envconfig.Run("okta", newApp) }

// newApp is the whole app: provider, client, session store, middleware and
// routes.
func newApp(ctx context.Context, env envconfig.Env) (http.Handler, error) {
	vars, err := env.Required("OKTA_DOMAIN", "OKTA_CLIENT_ID", "OKTA_CLIENT_SECRET")
	if err != nil {
		return nil, err
	}
	app, err := env.App()
	if err != nil {
		return nil, err
	}

	// The provider: a custom authorization server ("default" unless told
	// otherwise) issues access tokens for your own APIs; the org server's
	// are for Okta's.
	server := cmp.Or(env.Get("OKTA_AUTH_SERVER"), "default")
	if server == "org" {
		server = ""
	}
	prov, err := providers.Okta(vars["OKTA_DOMAIN"], server, env.ProviderOptions()...)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{
		Provider: prov, ClientID: vars["OKTA_CLIENT_ID"], ClientSecret: vars["OKTA_CLIENT_SECRET"],
		RedirectURL: app.Callback(""),
		Scopes:      []string{"openid", "profile", "email", "offline_access"},
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
	// The server's userinfo: /oauth2/v1/userinfo on the org server,
	// /oauth2/SERVER/v1/userinfo on a custom one.
	userinfo := "https://" + strings.TrimSuffix(strings.TrimPrefix(vars["OKTA_DOMAIN"], "https://"), "/") + "/oauth2/v1/userinfo"
	if server != "" {
		userinfo = strings.Replace(userinfo, "/oauth2/v1/", "/oauth2/"+server+"/v1/", 1)
	}
	apiURL := cmp.Or(app.APIURL, userinfo)
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
	pages := webapp.Pages{Title: "confidant · Okta"}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/{$}", auth.Optional(pages.Home()))
	mux.Handle("/profile", auth.Require(pages.Profile()))
	mux.Handle("/api", auth.Require(pages.API(func(r *http.Request) (string, *http.Response, error) {
		resp, err := auth.HTTPClient(r).Get(apiURL)
		return apiURL, resp, err
	})))
	if group := env.Get("OKTA_ADMIN_GROUP"); group != "" {
		// Okta sends groups once the authorization server has a groups
		// claim (Security → API → the server → Claims).
		mux.Handle("/admin", auth.RequireWith(middleware.Claim("groups", group))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "admin: %s\n", middleware.UserFrom(r.Context()).Name)
		})))
	}
	return mux, nil
}
