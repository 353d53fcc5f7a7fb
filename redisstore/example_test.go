package redisstore_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// Example runs two instances of an app behind a load balancer, each with
// the same configuration: the same keys and the same Redis. A user signs
// in through both (the sign-in starts on one and comes back to the other)
// and either serves them from the session in Redis; the browser's cookie
// holds only the session's ID. The provider is one in the process (package
// confidanttest); in production, your issuer. Redis is the one REDIS_URL
// names (go test starts a redis-server for it).
func Example() {
	ada := confidanttest.User{Subject: "ada", Name: "Ada Lovelace"}
	op, err := confidanttest.Start(confidanttest.Options{Users: []confidanttest.User{ada}})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	lb := httptest.NewUnstartedServer(nil) // the load balancer, at the app's URL
	appURL := "http://" + lb.Listener.Addr().String()
	id, secret := op.Register(appURL + "/auth/callback")
	keys := [][]byte{session.NewKey()} // session.ParseKeys(os.Getenv("SESSION_KEYS")): the same on every instance

	// instance is what each instance does at start.
	var clients []*redis.Client
	defer func() {
		for _, rdb := range clients {
			rdb.Close()
		}
	}()
	instance := func(name string) http.Handler {
		opt, err := redis.ParseURL(os.Getenv("REDIS_URL")) // "redis://redis:6379/0"
		if err != nil {
			log.Fatal(err)
		}
		rdb := redis.NewClient(opt) // redis.NewUniversalClient for a Cluster or Sentinel
		clients = append(clients, rdb)
		store, err := redisstore.New(redisstore.Config{Client: rdb, Keys: keys})
		if err != nil {
			log.Fatal(err)
		}
		auth, err := middleware.Setup(context.Background(), middleware.Config{Issuer: op.Issuer, ClientID: id,
			ClientSecret: secret, AppURL: appURL, Store: store}) // Setup pings Redis too
		if err != nil {
			log.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/auth/", auth)
		mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s, served by %s", middleware.UserFrom(r.Context()).Name, name)
		})))
		return mux
	}
	instances := []http.Handler{instance("a"), instance("b")}
	var next atomic.Int64
	lb.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		instances[next.Add(1)%2].ServeHTTP(w, r) // round robin
	})
	lb.Start()
	defer lb.Close()

	browser := confidanttest.Browser()
	resp, err := op.SignIn(browser, appURL+"/account", ada)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in:", resp.StatusCode, resp.Header.Get("Location"))
	for range 2 {
		resp, err := browser.Get(appURL + "/account")
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	for _, c := range browser.Jar.Cookies(resp.Request.URL) {
		if c.Name == "confidant_sid" { // redisstore.Config.Name's default (__Host- with https)
			fmt.Println("cookie:", c.Name, len(c.Value), "bytes")
		}
	}
	// Output:
	// signed in: 302 /account
	// 200 Ada Lovelace, served by b
	// 200 Ada Lovelace, served by a
	// cookie: confidant_sid 22 bytes
}

// New makes the Store that every instance of an app is given, on its
// Redis. Every instance gets the same keys; the deny list and the logout
// replay cache come with the store, and the app's health check (Ready)
// pings Redis as well as the provider.
func ExampleNew() {
	op, err := confidanttest.Start(confidanttest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	id, secret := op.Register("https://app.example.com/auth/callback")

	opt, err := redis.ParseURL(os.Getenv("REDIS_URL")) // "redis://redis:6379/0"
	if err != nil {
		log.Fatal(err)
	}
	rdb := redis.NewClient(opt) // redis.NewUniversalClient for a Cluster or Sentinel
	defer rdb.Close()
	keys := [][]byte{session.NewKey()} // session.ParseKeys(os.Getenv("SESSION_KEYS")), the same on every instance
	store, err := redisstore.New(redisstore.Config{Client: rdb, Keys: keys})
	if err != nil {
		log.Fatal(err)
	}

	auth, err := middleware.Setup(context.Background(), middleware.Config{Issuer: op.Issuer, ClientID: id,
		ClientSecret: secret, AppURL: "https://app.example.com", Store: store})
	if err != nil {
		log.Fatal(err)
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
