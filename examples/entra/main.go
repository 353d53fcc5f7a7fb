// Command entra signs users in with Microsoft Entra ID, configured by
// environment:
//
//	ENTRA_TENANT          the app's tenant ID (its users only), or organizations,
//	                      common or consumers (required)
//	ENTRA_CLIENT_ID       the app registration's Application (client) ID (required)
//	ENTRA_CLIENT_SECRET   a client secret of it (required)
//	ENTRA_TENANTS         with organizations or common: the tenant IDs accepted,
//	                      comma-separated (9188040d-6c67-4c5b-b112-36a304b66dad for
//	                      personal accounts)
//	ENTRA_ANY_TENANT      true: accept EVERY tenant instead
//	ENTRA_ADMIN_GROUP     the object ID of a group whose members may open /admin
//
// plus APP_URL, LISTEN_ADDR, SESSION_KEYS, API_URL (default: Microsoft
// Graph's userinfo) and REDIS_URL as in every example. See the README for
// the portal steps.
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

func main() { envconfig.Run("entra", newApp) }

// newApp is the whole app: provider, client, session store, middleware and
// routes.
func newApp(ctx context.Context, env envconfig.Env) (http.Handler, error) {
	vars, err := env.Required("ENTRA_TENANT", "ENTRA_CLIENT_ID", "ENTRA_CLIENT_SECRET")
	if err != nil {
		return nil, err
	}
	app, err := env.App()
	if err != nil {
		return nil, err
	}

	// The provider: one tenant, or the tenants a multi-tenant app accepts.
	var opts []client.ProviderOption
	if t := env.Get("ENTRA_TENANTS"); t != "" {
		opts = append(opts, providers.WithTenants(strings.Split(t, ",")...))
	}
	if env.Get("ENTRA_ANY_TENANT") == "true" {
		opts = append(opts, providers.WithAnyTenant())
	}
	prov, err := providers.Entra(vars["ENTRA_TENANT"], env.ProviderOptions(opts...)...)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{
		Provider: prov, ClientID: vars["ENTRA_CLIENT_ID"], ClientSecret: vars["ENTRA_CLIENT_SECRET"],
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
	apiURL := cmp.Or(app.APIURL, "https://graph.microsoft.com/oidc/userinfo")
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
	pages := webapp.Pages{Title: "confidant · Entra ID"}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/{$}", auth.Optional(pages.Home()))
	mux.Handle("/profile", auth.Require(pages.Profile()))
	mux.Handle("/api", auth.Require(pages.API(func(r *http.Request) (string, *http.Response, error) {
		resp, err := auth.HTTPClient(r).Get(apiURL)
		return apiURL, resp, err
	})))
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Key the user's records on the tenant and object IDs: the same
		// in every app registration of the tenant, and never the e-mail.
		u := middleware.UserFrom(r.Context())
		id, ok := providers.EntraIDOf(u)
		if !ok {
			http.Error(w, "no tid and oid in the sign-in: is the profile scope granted?", http.StatusForbidden)
			return
		}
		fmt.Fprintf(w, "account: %s %s\n", u.Provider, id)
	})))
	if group := env.Get("ENTRA_ADMIN_GROUP"); group != "" {
		// Groups come in the ID token once the registration's token
		// configuration adds the groups claim. A user in more than 200
		// gets a pointer to Microsoft Graph instead: say so, rather than
		// "not a member".
		mux.Handle("/admin", auth.RequireWith(middleware.Claim("groups", group))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "admin: %s\n", middleware.UserFrom(r.Context()).Name)
		})))
	}
	return mux, nil
}
