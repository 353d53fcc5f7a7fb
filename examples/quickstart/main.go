// Command quickstart is the shortest correct app: sign-in with any OpenID
// Connect provider, a protected page, and sign-out, in one call to
// middleware.Setup. The README's first screen shows it whole.
//
//	OIDC_ISSUER=http://127.0.0.1:9999 OIDC_CLIENT_ID=dev-app OIDC_CLIENT_SECRET=dev-secret \
//	SESSION_KEYS=$(openssl rand -base64 32) go run ./examples/quickstart
//
// (with go run ./cmd/devprovider in another terminal, or your provider's
// values; register http://localhost:8080/auth/callback there).
package main

import (
	"context"
	"fmt"
	"html"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

func main() {
	keys, err := session.ParseKeys(os.Getenv("SESSION_KEYS")) // base64; "new,old" while rotating
	if err != nil {
		log.Fatal(err)
	}
	auth, err := middleware.Setup(context.Background(), middleware.Config{
		Issuer:       os.Getenv("OIDC_ISSUER"),
		ClientID:     os.Getenv("OIDC_CLIENT_ID"),
		ClientSecret: os.Getenv("OIDC_CLIENT_SECRET"),
		AppURL:       "http://localhost:8080", // register AppURL/auth/callback at the provider
		Keys:         keys,
	})
	if err != nil {
		log.Fatal(err) // says what is missing or wrong
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth) // login, callback, logout; on any router (docs/routers.md)
	mux.Handle("/{$}", auth.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := middleware.UserFrom(r.Context()); u != nil {
			fmt.Fprintf(w, `Hello %s. <form method="post" action="/auth/logout"><button>Sign out</button></form>`, html.EscapeString(u.Name))
			return
		}
		fmt.Fprint(w, `<a href="/account">Sign in</a>`)
	})))
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := middleware.UserFrom(r.Context()) // never nil behind Require
		fmt.Fprintf(w, "%s at %s\n", u.Subject, u.Provider)
	})))
	srv := &http.Server{Addr: "localhost:8080", Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
