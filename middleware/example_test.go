package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// Example starts an app as the README's quick start does, with a provider
// in the process (package confidanttest) so that it runs offline: Setup,
// the /auth/ routes, and a page behind Require. A call that is not signed in
// gets 401 JSON; a browser signs in and the page reads the user and what
// it may know of the session (SessionFrom: no token, no key).
func Example() {
	ada := confidanttest.User{Subject: "ada", Name: "Ada Lovelace"}
	op, err := confidanttest.Start(confidanttest.Options{Users: []confidanttest.User{ada}})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	srv := httptest.NewUnstartedServer(nil) // the app; in production http.ListenAndServe
	appURL := "http://" + srv.Listener.Addr().String()
	id, secret := op.Register(appURL + "/auth/callback")

	keys, err := session.ParseKeys("kmU4ozbpwBq2t2TbJd5JqzrLPJhDlJ4ROc4X2UmbLxs=") // os.Getenv("SESSION_KEYS")
	if err != nil {
		log.Fatal(err)
	}
	auth, err := middleware.Setup(context.Background(), middleware.Config{
		Issuer: op.Issuer, ClientID: id, ClientSecret: secret, AppURL: appURL, Keys: keys,
	})
	if err != nil {
		log.Fatal(err) // says what is missing or wrong
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth) // chi: r.Handle("/auth/*", auth)
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, s := middleware.UserFrom(r.Context()), middleware.SessionFrom(r.Context())
		fmt.Fprintf(w, "%s (%s), scopes %v", u.Name, u.Subject, s.Scopes)
	})))
	srv.Config.Handler = mux
	srv.Start()
	defer srv.Close()

	api, err := http.NewRequest("GET", appURL+"/account", nil)
	if err != nil {
		log.Fatal(err)
	}
	api.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(api)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", string(body))

	browser := confidanttest.Browser()
	if resp, err = op.SignIn(browser, appURL+"/account", ada); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, resp.Header.Get("Location"))
	if resp, err = browser.Get(appURL + "/account"); err != nil {
		log.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 401 {"error":"unauthorized","error_description":"sign-in required","login_url":"/auth/login"}
	// 302 /account
	// 200 Ada Lovelace (ada), scopes [openid profile email offline_access]
}

// New takes the parts built by hand and does no I/O: here a provider whose
// endpoints are given (client.Discover finds them from an issuer URL), the
// app's client and a cookie store. Require sends a browser that is not
// signed in to the provider, with a PKCE S256 challenge, and answers an API
// call (a request that does not ask for HTML) with 401 JSON.
func ExampleNew() {
	prov, err := client.NewProvider("example", client.Endpoints{
		Issuer:  "https://id.example.com/",
		AuthURL: "https://id.example.com/authorize", TokenURL: "https://id.example.com/oauth/token",
		JWKSURL: "https://id.example.com/.well-known/jwks.json",
	})
	if err != nil {
		log.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "my-app",
		ClientSecret: "s3cret", // in production: os.Getenv("CLIENT_SECRET")
		RedirectURL:  "http://localhost:8080/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}})
	if err != nil {
		log.Fatal(err)
	}
	// In production: keys, err := session.ParseKeys(os.Getenv("SESSION_KEYS"))
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{session.NewKey()}})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth) // /auth/login, /auth/callback, /auth/logout
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", middleware.UserFrom(r.Context()).Name)
	})))

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

// A handler behind Require reads the user with UserFrom. A fast test of the
// handler needs no sign-in: confidanttest.SignedIn returns a request that
// carries a session of the app's.
func ExampleUserFrom() {
	op, err := confidanttest.Start(confidanttest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	id, secret := op.Register("http://localhost:8080/auth/callback")
	auth, err := middleware.Setup(context.Background(), middleware.Config{Issuer: op.Issuer, ClientID: id,
		ClientSecret: secret, AppURL: "http://localhost:8080", Keys: [][]byte{session.NewKey()}})
	if err != nil {
		log.Fatal(err)
	}
	h := auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := middleware.UserFrom(r.Context())
		fmt.Fprintf(w, "%s <%s> verified=%v", u.Name, u.Email, u.EmailVerified)
	}))

	r, err := confidanttest.SignedIn(auth, "http://localhost:8080/account",
		confidant.User{Subject: "42", Name: "Ada", Email: "ada@example.com", EmailVerified: true})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 200 Ada <ada@example.com> verified=true
}

// Require and RequireWith are router middleware, func(http.Handler)
// http.Handler: chi's r.Use(auth.Require) and
// r.With(auth.RequireWith(...)) take them as they are, as does a chain of
// your own. Here only users whose "roles" claim holds admin get in.
func ExampleAuth_RequireWith() {
	op, err := confidanttest.Start(confidanttest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	id, secret := op.Register("http://localhost:8080/auth/callback")
	auth, err := middleware.Setup(context.Background(), middleware.Config{Issuer: op.Issuer, ClientID: id,
		ClientSecret: secret, AppURL: "http://localhost:8080", Keys: [][]byte{session.NewKey()}})
	if err != nil {
		log.Fatal(err)
	}
	chain := func(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
		for i := len(mws) - 1; i >= 0; i-- {
			h = mws[i](h)
		}
		return h
	}
	admin := chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "admin: %s", middleware.UserFrom(r.Context()).Name)
	}), auth.Require, auth.RequireWith(middleware.Claim("roles", "admin")))

	for _, roles := range []string{`["admin","billing"]`, `["billing"]`} {
		r, err := confidanttest.SignedIn(auth, "http://localhost:8080/admin",
			confidant.User{Subject: "42", Name: "Ada", Claims: []byte(`{"roles":` + roles + `}`)})
		if err != nil {
			log.Fatal(err)
		}
		r.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		admin.ServeHTTP(rec, r)
		fmt.Printf("roles %s: %d %s\n", roles, rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// roles ["admin","billing"]: 200 admin: Ada
	// roles ["billing"]: 403 {"error":"forbidden","error_description":"signed in, but not allowed here"}
}

// HTTPClient calls an API with the signed-in user's access token, refreshed
// first when it is about to expire. The token goes only to the APIs named in
// Config.APIs: any other URL fails with ErrForbidden before anything is sent.
func ExampleAuth_HTTPClient() {
	orders := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "orders for %q", r.Header.Get("Authorization"))
	}))
	defer orders.Close()
	op, err := confidanttest.Start(confidanttest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	id, secret := op.Register("http://localhost:8080/auth/callback")
	auth, err := middleware.Setup(context.Background(), middleware.Config{Issuer: op.Issuer, ClientID: id,
		ClientSecret: secret, AppURL: "http://localhost:8080", Keys: [][]byte{session.NewKey()},
		APIs: []middleware.API{{Name: "orders", BaseURL: orders.URL + "/"}}})
	if err != nil {
		log.Fatal(err)
	}
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

	// A session of the app's, whose access token is "confidanttest-access-token".
	r, err := confidanttest.SignedIn(auth, "http://localhost:8080/orders", confidant.User{Subject: "42"})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	fmt.Println(rec.Body.String())
	// Output: orders for "Bearer confidanttest-access-token"; elsewhere: true
}

// An ErrorHandler renders the app's own page for a failed sign-in:
// FailureReason says why (match it with errors.Is) and StatusCode which
// status to answer.
func ExampleFailureReason() {
	op, err := confidanttest.Start(confidanttest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	id, secret := op.Register("http://localhost:8080/auth/callback")
	auth, err := middleware.Setup(context.Background(), middleware.Config{Issuer: op.Issuer, ClientID: id,
		ClientSecret: secret, AppURL: "http://localhost:8080", Keys: [][]byte{session.NewKey()},
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
	if err != nil {
		log.Fatal(err)
	}
	// A callback that no sign-in of this browser started.
	rec := httptest.NewRecorder()
	auth.ServeHTTP(rec, httptest.NewRequest("GET", "http://localhost:8080/auth/callback?state=forged&code=x", nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 400 That sign-in link is not valid in this browser. Sign in again.
}

// OnEvent receives every step (or set Logger for log lines). No event
// carries a token, code, state or cookie value: a sign-in attempt is
// known by a hash prefix of its state.
func ExampleConfig_events() {
	op, err := confidanttest.Start(confidanttest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	id, secret := op.Register("http://localhost:8080/auth/callback")
	auth, err := middleware.Setup(context.Background(), middleware.Config{Issuer: op.Issuer, ClientID: id,
		ClientSecret: secret, AppURL: "http://localhost:8080", Keys: [][]byte{session.NewKey()},
		OnEvent: func(_ context.Context, e event.Event) {
			fmt.Println(e.Kind, e.Level(), strings.HasPrefix(e.Flow, "sha256:"))
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	r := httptest.NewRequest("GET", "http://localhost:8080/auth/login?return_to=/account", nil)
	auth.ServeHTTP(httptest.NewRecorder(), r)
	// Output: login.started INFO true
}
