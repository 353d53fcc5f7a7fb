// Command oidc signs users in with any OpenID Connect provider found by
// discovery, configured by environment:
//
//	OIDC_ISSUER         issuer URL (required)
//	OIDC_CLIENT_ID      client ID (required)
//	OIDC_CLIENT_SECRET  client secret (required)
//	APP_URL             this app's public URL (default http://localhost:8080);
//	                    register APP_URL/auth/callback as the redirect URL
//	                    and APP_URL/ as the post-logout redirect URL
//	LISTEN_ADDR         address to listen on (default :8080)
//	SESSION_KEYS        comma-separated base64 32-byte keys, first one seals
//	                    (default: a random key, sessions end at restart)
//	OIDC_SCOPES         default "openid profile email offline_access"
//	API_URL             an API that /api calls with the user's access token
//
// Routes: / (public), /profile (protected; JSON when asked), /api
// (protected; calls API_URL), /auth/login, /auth/callback, /auth/logout.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/examples/internal/envconfig"
	"github.com/confidant-go/confidant/examples/internal/webapp"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	h, app, err := setup(context.Background(), os.Getenv, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "oidc:", err)
		os.Exit(2)
	}
	log.Info("listening", "addr", app.ListenAddr, "url", app.AppURL)
	srv := &http.Server{Addr: app.ListenAddr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "oidc:", err)
		os.Exit(1)
	}
}

// setup builds the app from the environment.
func setup(ctx context.Context, getenv envconfig.Getenv, log *slog.Logger) (http.Handler, envconfig.App, error) {
	req, err := envconfig.Required(getenv, "OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET")
	if err != nil {
		return nil, envconfig.App{}, err
	}
	app, err := envconfig.LoadApp(getenv)
	if err != nil {
		return nil, app, err
	}
	if app.RandomKey {
		log.Warn("SESSION_KEYS is not set: using a random key; sessions end when the app restarts")
	}
	prov, err := client.Discover(ctx, req["OIDC_ISSUER"])
	if err != nil {
		return nil, app, err
	}
	c, err := client.New(client.Config{
		Provider: prov, ClientID: req["OIDC_CLIENT_ID"], ClientSecret: req["OIDC_CLIENT_SECRET"],
		RedirectURL: app.RedirectURL(),
		Scopes:      envconfig.Scopes(getenv("OIDC_SCOPES"), "openid", "profile", "email", "offline_access"),
	})
	if err != nil {
		return nil, app, err
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: app.SessionKeys})
	if err != nil {
		return nil, app, err
	}
	auth, err := middleware.New(middleware.Config{Client: c, Store: store, Logger: log})
	if err != nil {
		return nil, app, err
	}
	return webapp.New(webapp.Config{Title: "confidant · " + prov.Name(), Auth: auth, APIURL: app.APIURL}), app, nil
}
