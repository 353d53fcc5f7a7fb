package redisstore_test

import (
	"context"
	"net/http"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// Several instances of an app share sessions through Redis. Every instance
// gets the same keys; the deny list and the logout replay cache come with
// the store.
func ExampleNew() {
	keys, err := session.ParseKeys(os.Getenv("SESSION_KEYS")) // the same on every instance
	if err != nil {
		panic(err)
	}
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs: []string{"redis:6379"}, // one node; several for a Cluster; with MasterName for Sentinel
	})
	store, err := redisstore.New(redisstore.Config{Client: rdb, Keys: keys})
	if err != nil {
		panic(err)
	}

	prov, err := client.Discover(context.Background(), "https://example.eu.auth0.com/")
	if err != nil {
		panic(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: os.Getenv("CLIENT_ID"), ClientSecret: os.Getenv("CLIENT_SECRET"),
		RedirectURL: "https://app.example.com/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}})
	if err != nil {
		panic(err)
	}
	auth, err := middleware.New(middleware.Config{Client: c, Store: store})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth) // also /auth/backchannel-logout: register it at the provider
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := auth.Ready(r.Context()); err != nil { // provider discovery and Redis
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
	// http.ListenAndServe(":8080", mux)
}
