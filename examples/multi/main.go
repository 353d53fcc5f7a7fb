// Command multi lets users sign in with Google or GitHub in one app,
// configured by environment:
//
//	GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET  (required)
//	GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET  (required)
//	APP_URL       default http://localhost:8080
//	LISTEN_ADDR   default :8080
//	SESSION_KEYS  comma-separated base64 32-byte keys, the newest first
//	              (openssl rand -base64 32); default a random key: sessions
//	              end when the app restarts
//	REDIS_URL     sessions in Redis (redis://host:6379/0), for several
//	              instances; needs SESSION_KEYS
//
// Each provider has its own callback: register APP_URL/auth/callback/google
// at Google and APP_URL/auth/callback/github at GitHub. /signin offers
// both; the session remembers which one signed the user in, so /api and
// sign-out go to it. /profile answers with the user's claims and /api
// with what the provider's API said, as JSON.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/providers"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// Building the app checks that the providers answer: bounded, so one
	// that hangs fails the start with a reason.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	h, err := newApp(ctx, os.Getenv, nil, logger)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "multi: %v\n", err) // a configuration error: exit status 2
		os.Exit(2)
	}
	addr := cmp.Or(os.Getenv("LISTEN_ADDR"), ":8080")
	logger.Info("listening", "addr", addr)
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(os.Stderr, "multi: %v\n", srv.ListenAndServe())
	os.Exit(1)
}

// The API each provider's users call: the token a provider issued goes to
// that provider's API only.
var apis = map[string]string{
	"google": "https://openidconnect.googleapis.com/v1/userinfo",
	"github": "https://api.github.com/user",
}

// newApp is the whole app: two providers with a callback each, the session
// store, the middleware with a sign-in page to choose from, and routes.
// hc, when not nil, makes the calls to the providers and their APIs
// (tests route them to emulators).
func newApp(ctx context.Context, getenv func(string) string, hc *http.Client, logger *slog.Logger) (http.Handler, error) {
	var missing []string
	for _, name := range []string{"GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"} {
		if getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if missing != nil {
		return nil, fmt.Errorf("missing required environment variable(s): %s", strings.Join(missing, ", "))
	}
	appURL := strings.TrimSuffix(cmp.Or(getenv("APP_URL"), "http://localhost:8080"), "/")

	// The providers, and the app's registration at each.
	var opts []client.ProviderOption
	if hc != nil {
		opts = append(opts, client.WithHTTPClient(hc))
	}
	gp, err := providers.Google(opts...)
	if err != nil {
		return nil, err
	}
	google, err := client.New(client.Config{
		Provider: gp, ClientID: getenv("GOOGLE_CLIENT_ID"), ClientSecret: getenv("GOOGLE_CLIENT_SECRET"),
		RedirectURL: appURL + "/auth/callback/google",
		Scopes:      []string{"openid", "profile", "email", "offline_access"},
	})
	if err != nil {
		return nil, err
	}
	hp, err := providers.GitHub(opts...)
	if err != nil {
		return nil, err
	}
	github, err := client.New(client.Config{
		Provider: hp, ClientID: getenv("GITHUB_CLIENT_ID"), ClientSecret: getenv("GITHUB_CLIENT_SECRET"),
		RedirectURL: appURL + "/auth/callback/github",
	})
	if err != nil {
		return nil, err
	}

	// Sessions: in encrypted cookies, or in Redis when several instances
	// share them (and their keys).
	keys := [][]byte{session.NewKey()}
	if v := getenv("SESSION_KEYS"); v != "" {
		if keys, err = session.ParseKeys(v); err != nil {
			return nil, fmt.Errorf("SESSION_KEYS: %w", err) // the error says how to make one
		}
	} else if getenv("REDIS_URL") != "" {
		return nil, errors.New("REDIS_URL needs SESSION_KEYS, the same on every instance")
	} else {
		logger.Warn("SESSION_KEYS is not set: using a random key; sessions end when the app restarts")
	}
	var store session.Store
	if v := getenv("REDIS_URL"); v != "" {
		opt, err := redis.ParseURL(v)
		if err != nil {
			return nil, err
		}
		store, err = redisstore.New(redisstore.Config{Client: redis.NewClient(opt), Keys: keys})
		if err != nil {
			return nil, err
		}
	} else if store, err = session.NewCookieStore(session.CookieConfig{Keys: keys}); err != nil {
		return nil, err
	}

	// The middleware: a protected page sends the browser to /signin to
	// choose a provider; the session remembers which one signed the user
	// in, for refresh, /api and sign-out.
	cfg := middleware.Config{Clients: []*client.Client{google, github}, Store: store, Logger: logger, LoginPage: "/signin",
		APIs: []middleware.API{
			{Name: "google-userinfo", BaseURL: apis["google"], Provider: "google"},
			{Name: "github-user", BaseURL: apis["github"], Provider: "github"},
		}}
	if hc != nil {
		cfg.APITransport = hc.Transport
	}
	auth, err := middleware.New(cfg)
	if err != nil {
		return nil, err
	}
	// Fail now, with the reason, when a provider cannot be reached: not
	// with a 502 for every user later.
	if err := auth.Ready(ctx); err != nil {
		return nil, err
	}

	// The routes.
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/{$}", auth.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store") // it names the user
		page.Execute(w, map[string]any{"User": middleware.UserFrom(r.Context()), "ReturnTo": "/profile"})
	})))
	mux.HandleFunc("/signin", func(w http.ResponseWriter, r *http.Request) {
		page.Execute(w, map[string]any{"ReturnTo": cmp.Or(r.URL.Query().Get("return_to"), "/profile")})
	})
	mux.Handle("/profile", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(middleware.UserFrom(r.Context()).Claims)
	})))
	mux.Handle("/api", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := auth.HTTPClient(r).Get(apis[middleware.UserFrom(r.Context()).Provider]) // the user's token, refreshed when due
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, io.LimitReader(resp.Body, 1<<20))
	})))
	return mux, nil
}

// page is the home page (who is signed in) and the sign-in page (a
// button for each provider, back to ReturnTo).
var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>confidant · Google or GitHub</title></head><body>
{{with .User}}<p id="status">Signed in with {{.Provider}} as <b>{{.Name}}</b> ({{.Email}}).</p>
<p><a href="/profile">Your claims</a> · <a href="/api">What {{.Provider}}'s API says about you</a></p>
<form method="post" action="/auth/logout"><button id="logout" type="submit">Sign out</button></form>
{{else}}<p id="status">You are signed out.</p>
<p><a id="login-google" href="/auth/login?provider=google&amp;return_to={{.ReturnTo}}">Sign in with Google</a></p>
<p><a id="login-github" href="/auth/login?provider=github&amp;return_to={{.ReturnTo}}">Sign in with GitHub</a></p>{{end}}
</body></html>`))
