// Command yourapp is an app as a user of confidant writes one, in a module
// of its own: an account page for everyone signed in and an admin page for
// the "admins" group, with users the app provisions at sign-in.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"sync"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// Config is what the app needs from its environment.
type Config struct {
	Issuer, ClientID, ClientSecret, BaseURL string
	SessionKeys                             [][]byte
}

// Accounts are the app's own users, keyed on (provider, subject).
type Accounts struct {
	mu      sync.Mutex
	Blocked map[string]bool // subjects the app refuses
	known   map[[2]string]int
}

// errBlocked refuses a sign-in.
var errBlocked = errors.New("yourapp: this account is blocked")

// Provision records a user at sign-in, or refuses a blocked one.
func (a *Accounts) Provision(ctx context.Context, in *middleware.SignedIn) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.Blocked[in.User.Subject] {
		return errBlocked
	}
	if a.known == nil {
		a.known = map[[2]string]int{}
	}
	a.known[[2]string{in.User.Provider, in.User.Subject}]++
	return nil
}

// SignIns is how many times the user signed in.
func (a *Accounts) SignIns(provider, subject string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.known[[2]string{provider, subject}]
}

// App is the running app's parts, for main and for tests.
type App struct {
	Handler http.Handler
	Auth    *middleware.Auth
	Client  *client.Client
	Store   session.Store
}

// New builds the app.
func New(ctx context.Context, cfg Config, accounts *Accounts) (*App, error) {
	prov, err := client.Discover(ctx, cfg.Issuer)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		RedirectURL: cfg.BaseURL + "/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}})
	if err != nil {
		return nil, err
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: cfg.SessionKeys})
	if err != nil {
		return nil, err
	}
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, OnSignIn: accounts.Provision})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/account", auth.Require(http.HandlerFunc(account)))
	mux.Handle("/admin", auth.RequireWith(middleware.Claim("groups", "admins"))(http.HandlerFunc(admin)))
	return &App{Handler: mux, Auth: auth, Client: c, Store: store}, nil
}

func account(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "account of %s", middleware.UserFrom(r.Context()).Name)
}

func admin(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "admin: %s", middleware.UserFrom(r.Context()).Name)
}

func main() {
	keys, err := session.ParseKeys(os.Getenv("SESSION_KEYS"))
	if err != nil {
		log.Fatal(err)
	}
	app, err := New(context.Background(), Config{Issuer: os.Getenv("OIDC_ISSUER"), ClientID: os.Getenv("OIDC_CLIENT_ID"),
		ClientSecret: os.Getenv("OIDC_CLIENT_SECRET"), BaseURL: "http://localhost:8080", SessionKeys: keys}, &Accounts{})
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe("localhost:8080", app.Handler))
}
