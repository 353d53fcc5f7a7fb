// Command multi lets users sign in with Google or GitHub in one app,
// configured by environment:
//
//	GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET  (required)
//	GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET  (required)
//
// plus APP_URL, LISTEN_ADDR, SESSION_KEYS and REDIS_URL as in every example.
// Each provider has its own callback: register APP_URL/auth/callback/google
// at Google and APP_URL/auth/callback/github at GitHub. /signin offers
// both; the session remembers which one signed the user in, so /api and
// sign-out go to it.
package main

import (
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

func main() { envconfig.Run("multi", newApp) }

// The API each provider's users call: the token a provider issued goes to
// that provider's API only.
var apis = map[string]string{
	"google": "https://openidconnect.googleapis.com/v1/userinfo",
	"github": "https://api.github.com/user",
}

// newApp is the whole app: two providers with a callback each, the session
// store, the middleware with a sign-in page to choose from, and routes.
func newApp(ctx context.Context, env envconfig.Env) (http.Handler, error) {
	vars, err := env.Required("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET")
	if err != nil {
		return nil, err
	}
	app, err := env.App()
	if err != nil {
		return nil, err
	}

	// The providers, and the app's registration at each.
	gp, err := providers.Google(env.ProviderOptions()...)
	if err != nil {
		return nil, err
	}
	google, err := client.New(client.Config{
		Provider: gp, ClientID: vars["GOOGLE_CLIENT_ID"], ClientSecret: vars["GOOGLE_CLIENT_SECRET"],
		RedirectURL: app.Callback("google"),
		Scopes:      []string{"openid", "profile", "email", "offline_access"},
	})
	if err != nil {
		return nil, err
	}
	hp, err := providers.GitHub(env.ProviderOptions()...)
	if err != nil {
		return nil, err
	}
	github, err := client.New(client.Config{
		Provider: hp, ClientID: vars["GITHUB_CLIENT_ID"], ClientSecret: vars["GITHUB_CLIENT_SECRET"],
		RedirectURL: app.Callback("github"),
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

	// The middleware: a protected page sends the browser to /signin to
	// choose a provider; the session remembers which one signed the user
	// in, for refresh, /api and sign-out.
	cfg := middleware.Config{Clients: []*client.Client{google, github}, Store: store, Logger: env.Logger, LoginPage: "/signin",
		APIs: []middleware.API{
			{Name: "google-userinfo", BaseURL: apis["google"], Provider: "google"},
			{Name: "github-user", BaseURL: apis["github"], Provider: "github"},
		}}
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
	pages := webapp.Pages{Title: "confidant · Google or GitHub",
		Providers: []webapp.ProviderLink{{Name: "google", Label: "Google"}, {Name: "github", Label: "GitHub"}}}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/{$}", auth.Optional(pages.Home()))
	mux.Handle("/signin", pages.SignIn())
	mux.Handle("/profile", auth.Require(pages.Profile()))
	mux.Handle("/api", auth.Require(pages.API(func(r *http.Request) (string, *http.Response, error) {
		u := apis[middleware.UserFrom(r.Context()).Provider]
		resp, err := auth.HTTPClient(r).Get(u)
		return u, resp, err
	})))
	return mux, nil
}
