package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// Example wires an app: a provider, the app's client, a session store and
// the middleware. Require sends a browser that is not signed in to the
// provider, and answers an API call (a request that does not ask for HTML)
// with 401 JSON.
func Example() {
	// client.Discover(ctx, "https://example.eu.auth0.com/") finds these
	// endpoints; here they are given by hand so the example runs offline.
	prov, err := client.NewProvider("example", client.Endpoints{
		Issuer:  "https://id.example.com/",
		AuthURL: "https://id.example.com/authorize", TokenURL: "https://id.example.com/oauth/token",
		JWKSURL: "https://id.example.com/.well-known/jwks.json",
	})
	if err != nil {
		panic(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "my-app",
		ClientSecret: "s3cret", // in production: os.Getenv("CLIENT_SECRET")
		RedirectURL:  "http://localhost:8080/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}})
	if err != nil {
		panic(err)
	}
	// In production: keys, err := session.ParseKeys(os.Getenv("SESSION_KEYS"))
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{session.NewKey()}})
	if err != nil {
		panic(err)
	}
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth) // /auth/login, /auth/callback, /auth/logout
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", middleware.UserFrom(r.Context()).Name)
	})))
	// http.ListenAndServe(":8080", mux)

	browser := httptest.NewRequest("GET", "http://localhost:8080/account", nil)
	browser.Header.Set("Accept", "text/html")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, browser)
	to, _ := url.Parse(rec.Header().Get("Location"))
	fmt.Println(rec.Code, to.Host+to.Path, to.Query().Get("code_challenge_method"))

	api := httptest.NewRequest("GET", "http://localhost:8080/account", nil)
	api.Header.Set("Accept", "application/json")
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, api)
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// 302 id.example.com/authorize S256
	// 401 {"error":"unauthorized","error_description":"sign-in required","login_url":"/auth/login"}
}

// newAuth is the wiring of Example, for the examples below.
func newAuth(cfg middleware.Config) (*middleware.Auth, *session.CookieStore) {
	prov, _ := client.NewProvider("example", client.Endpoints{Issuer: "https://id.example.com/",
		AuthURL: "https://id.example.com/authorize", TokenURL: "https://id.example.com/oauth/token",
		JWKSURL: "https://id.example.com/.well-known/jwks.json"})
	c, _ := client.New(client.Config{Provider: prov, ClientID: "my-app", ClientSecret: "s3cret",
		RedirectURL: "http://localhost:8080/auth/callback"})
	store, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{session.NewKey()}})
	cfg.Clients, cfg.Store = []*client.Client{c}, store
	auth, err := middleware.New(cfg)
	if err != nil {
		panic(err)
	}
	return auth, store
}

// signedIn returns a request that carries a session saved in store: how a
// test of your own handlers signs a user in without a provider.
func signedIn(store session.Store, target string, s *session.Session) *http.Request {
	rec := httptest.NewRecorder()
	if err := store.Save(rec, httptest.NewRequest("GET", target, nil), s); err != nil {
		panic(err)
	}
	r := httptest.NewRequest("GET", target, nil)
	for _, c := range rec.Result().Cookies() {
		r.AddCookie(c)
	}
	return r
}

// A handler behind Require reads the user with UserFrom. A test of the
// handler saves a session in the store and sends its cookie.
func ExampleUserFrom() {
	auth, store := newAuth(middleware.Config{})
	h := auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := middleware.UserFrom(r.Context())
		fmt.Fprintf(w, "%s %s <%s> verified=%v", u.Provider, u.Name, u.Email, u.EmailVerified)
	}))

	r := signedIn(store, "http://localhost:8080/account", &session.Session{ID: "test-session",
		User:        confidant.User{Provider: "example", Subject: "42", Name: "Ada", Email: "ada@example.com", EmailVerified: true},
		AccessToken: "at", Expiry: time.Now().Add(time.Hour)})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 200 example Ada <ada@example.com> verified=true
}

// Require and RequireWith are router middleware, func(http.Handler)
// http.Handler: chi's r.Use(auth.Require) and
// r.With(auth.RequireWith(...)) take them as they are, as does a chain of
// your own.
func ExampleAuth_RequireWith() {
	auth, store := newAuth(middleware.Config{})
	chain := func(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
		for i := len(mws) - 1; i >= 0; i-- {
			h = mws[i](h)
		}
		return h
	}
	admin := chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "admin: %s", middleware.UserFrom(r.Context()).Name)
	}), auth.Require, auth.RequireWith(middleware.Value("roles", "admin")))

	for _, roles := range []string{"admin billing", "billing"} {
		r := signedIn(store, "http://localhost:8080/admin", &session.Session{ID: "test-session",
			User:        confidant.User{Provider: "example", Subject: "42", Name: "Ada"},
			AccessToken: "at", Expiry: time.Now().Add(time.Hour), Values: map[string]string{"roles": roles}})
		r.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		admin.ServeHTTP(rec, r)
		fmt.Printf("roles %q: %d %s\n", roles, rec.Code, strings.SplitN(rec.Body.String(), "\n", 2)[0])
	}
	// Output:
	// roles "admin billing": 200 admin: Ada
	// roles "billing": 403 {"error":"forbidden","error_description":"signed in, but not allowed here"}
}

// HTTPClient calls an API with the signed-in user's access token, refreshed
// first when it is about to expire. The token goes only to the APIs named in
// Config.APIs.
func ExampleAuth_HTTPClient() {
	orders := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "orders for %s", r.Header.Get("Authorization"))
	}))
	defer orders.Close()

	auth, store := newAuth(middleware.Config{APIs: []middleware.API{{Name: "orders", BaseURL: orders.URL + "/"}}})
	h := auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := auth.HTTPClient(r).Get(orders.URL + "/v1/orders")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)

		_, err = auth.HTTPClient(r).Get("https://elsewhere.example/")
		fmt.Fprintf(w, "; elsewhere: %v", errors.Is(err, middleware.ErrForbidden))
	}))

	r := signedIn(store, "http://localhost:8080/orders", &session.Session{ID: "test-session",
		User: confidant.User{Provider: "example", Subject: "42"}, AccessToken: "at-123", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Body.String())
	// Output: orders for Bearer at-123; elsewhere: true
}

// An ErrorHandler renders the app's own page for a failed sign-in:
// FailureReason says why (match it with errors.Is) and StatusCode which
// status to answer.
func ExampleFailureReason() {
	auth, _ := newAuth(middleware.Config{
		ErrorHandler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err := middleware.FailureReason(r)
			w.WriteHeader(middleware.StatusCode(err))
			switch {
			case errors.Is(err, middleware.ErrBadRequest):
				fmt.Fprint(w, "That sign-in link is not valid in this browser. Sign in again.")
			default:
				fmt.Fprint(w, "Sign-in failed.")
			}
		}),
	})
	// A callback that no sign-in of this browser started.
	rec := httptest.NewRecorder()
	auth.ServeHTTP(rec, httptest.NewRequest("GET", "http://localhost:8080/auth/callback?state=forged&code=x", nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 400 That sign-in link is not valid in this browser. Sign in again.
}

// OnEvent receives every step (or set Logger for log lines). No event
// carries a token, code, state or cookie value.
func ExampleConfig_events() {
	auth, _ := newAuth(middleware.Config{
		OnEvent: func(_ context.Context, e event.Event) {
			fmt.Println(e.Kind, e.Provider)
		},
	})
	r := httptest.NewRequest("GET", "http://localhost:8080/auth/login?return_to=/account", nil)
	auth.ServeHTTP(httptest.NewRecorder(), r)
	// Output: login.started example
}

// ExampleSetup starts an app as the README's quick start does, here on a
// ServeMux with a provider in-process: Setup takes no router, so the Auth
// mounts the same way on chi, gin or echo. A handler reads the user and
// what it may know of the session (SessionFrom: no token, no key).
func ExampleSetup() {
	ada := confidanttest.User{Subject: "ada", Name: "Ada"}
	op, err := confidanttest.Start(confidanttest.Options{Users: []confidanttest.User{ada}})
	if err != nil {
		panic(err)
	}
	defer op.Close()
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	id, secret := op.Register(appURL + "/auth/callback")

	keys, err := session.ParseKeys("kmU4ozbpwBq2t2TbJd5JqzrLPJhDlJ4ROc4X2UmbLxs=") // os.Getenv("SESSION_KEYS")
	if err != nil {
		panic(err)
	}
	auth, err := middleware.Setup(context.Background(), middleware.Config{
		Issuer: op.Issuer, ClientID: id, ClientSecret: secret, AppURL: appURL, Keys: keys,
	})
	if err != nil {
		panic(err) // says what is missing or wrong
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := middleware.SessionFrom(r.Context())
		fmt.Fprintf(w, "%s, signed in: %v, scopes %v", s.Name, !s.SignedInAt.IsZero(), s.Scopes)
	})))
	srv.Config.Handler = mux
	srv.Start()
	defer srv.Close()

	browser := confidanttest.Browser()
	if _, err := op.SignIn(browser, appURL+"/account", ada); err != nil {
		panic(err)
	}
	resp, err := browser.Get(appURL + "/account")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output:
	// Ada, signed in: true, scopes [openid profile email offline_access]
}
