package redisstore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// Several instances of an app share sessions through Redis. Every instance
// gets the same keys; the deny list and the logout replay cache come with
// the store. (The provider here is one in the process, as confidanttest
// starts it; in production client.Discover with your issuer.)
func ExampleNew() {
	op, err := confidanttest.Start(confidanttest.Options{})
	if err != nil {
		panic(err)
	}
	defer op.Close()
	id, secret := op.Register("https://app.example.com/auth/callback")

	keys := [][]byte{session.NewKey()} // in production: session.ParseKeys(os.Getenv("SESSION_KEYS")), the same on every instance
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs: []string{exampleRedis}, // "redis:6379"; several for a Cluster; with MasterName for Sentinel
	})
	defer rdb.Close()
	store, err := redisstore.New(redisstore.Config{Client: rdb, Keys: keys})
	if err != nil {
		panic(err)
	}

	prov, err := client.Discover(context.Background(), op.Issuer)
	if err != nil {
		panic(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: id, ClientSecret: secret,
		RedirectURL: "https://app.example.com/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}})
	if err != nil {
		panic(err)
	}
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store})
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

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	fmt.Println("healthz:", rec.Code)
	// Output: healthz: 200
}
