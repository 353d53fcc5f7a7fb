// Command minimal is the smallest complete app: sign-in with any OpenID
// Connect provider, a protected page, an API call with the user's token,
// and sign-out. The README shows it whole.
//
//	OIDC_ISSUER=https://example.eu.auth0.com/ OIDC_CLIENT_ID=… OIDC_CLIENT_SECRET=… \
//	SESSION_KEYS=$(openssl rand -base64 32) go run ./examples/minimal
package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

func main() {
	// Stops on Ctrl-C.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	prov, err := client.Discover(ctx, os.Getenv("OIDC_ISSUER")) // or providers.Auth0(domain), providers.Google(), providers.GitHub()
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.New(client.Config{
		Provider:     prov,
		ClientID:     os.Getenv("OIDC_CLIENT_ID"),
		ClientSecret: os.Getenv("OIDC_CLIENT_SECRET"),
		RedirectURL:  "http://localhost:8080/auth/callback", // registered at the provider; https in production
		Scopes:       []string{"openid", "profile", "email", "offline_access"},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Base64 32-byte keys: `openssl rand -base64 32`. "new,old" rotates.
	keys, err := session.ParseKeys(os.Getenv("SESSION_KEYS"))
	if err != nil {
		log.Fatal(err)
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{
		Clients: []*client.Client{c},
		Store:   store,
		// The only place the user's access token is sent.
		APIs:   []middleware.API{{Name: "orders", BaseURL: "https://api.example.com/"}},
		Logger: slog.Default(), // sign-ins and sign-outs (Info), failures (Warn); Debug adds every step; never a token, code or secret
	})
	if err != nil {
		log.Fatal(err)
	}
	// Stop now, with the reason, if the provider cannot be reached (a typo
	// in OIDC_ISSUER), rather than answer every user with a 502 later.
	if err := auth.Ready(ctx); err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/auth/", auth) // /auth/login, /auth/callback, /auth/logout
	mux.Handle("/{$}", auth.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := middleware.UserFrom(r.Context()); u != nil {
			fmt.Fprintf(w, `<p>Hello %s. <a href="/account">Account</a></p>
<form method="post" action="/auth/logout"><button>Sign out</button></form>`, html.EscapeString(u.Name))
			return
		}
		fmt.Fprint(w, `<a href="/auth/login?return_to=/account">Sign in</a>`)
	})))
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := middleware.UserFrom(r.Context()) // never nil behind Require
		fmt.Fprintf(w, "%s at %s, e-mail %s (verified: %v)\n", u.Subject, u.Provider, u.Email, u.EmailVerified)
	})))
	mux.Handle("/orders", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := auth.HTTPClient(r).Get("https://api.example.com/orders") // Bearer token, refreshed when due
		if err != nil {
			http.Error(w, "orders: "+err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})))

	srv := &http.Server{Addr: ":8080", Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	log.Print("open http://localhost:8080")
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
