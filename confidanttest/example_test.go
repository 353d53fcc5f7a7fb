package confidanttest_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// Sign a user in through the whole flow, with a real provider in the
// process, and load a page as that user. The app is built as the README's
// quick start builds it, with the provider's issuer and the registration
// it handed out. In a test, NewProvider(t, …) stops the provider when the
// test ends.
func Example() {
	ada := confidanttest.User{Subject: "ada", Name: "Ada Lovelace", Email: "ada@example.com"}
	op, err := confidanttest.Start(confidanttest.Options{Users: []confidanttest.User{ada}})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	srv := httptest.NewUnstartedServer(nil) // the app, at a URL known before it starts
	appURL := "http://" + srv.Listener.Addr().String()
	id, secret := op.Register(appURL + "/auth/callback")
	auth, err := middleware.Setup(context.Background(), middleware.Config{Issuer: op.Issuer, ClientID: id,
		ClientSecret: secret, AppURL: appURL, Keys: [][]byte{session.NewKey()}})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := middleware.UserFrom(r.Context())
		fmt.Fprintf(w, "hello %s <%s>", u.Name, u.Email)
	})))
	srv.Config.Handler = mux
	srv.Start()
	defer srv.Close()

	browser := confidanttest.Browser()
	resp, err := op.SignIn(browser, appURL+"/account", ada)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("callback:", resp.StatusCode, resp.Header.Get("Location"))
	if resp, err = browser.Get(appURL + "/account"); err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println("account:", resp.StatusCode, string(body))
	fmt.Println("token requests:", op.Requests(confidanttest.Token))
	// Output:
	// callback: 302 /account
	// account: 200 hello Ada Lovelace <ada@example.com>
	// token requests: 1
}

// A fast test of one handler: a request that carries a session of the
// app's, minted in its store, with no sign-in.
func ExampleSignedIn() {
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
	account := auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := middleware.UserFrom(r.Context())
		fmt.Fprintf(w, "hello %s (%s)", u.Name, u.Subject)
	}))

	req, err := confidanttest.SignedIn(auth, "http://localhost:8080/account", confidant.User{Subject: "grace", Name: "Grace Hopper"})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	account.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body)
	// Output: 200 hello Grace Hopper (grace)
}

// What the app does when the provider's token endpoint is down: a 502
// page, and a sign-in that works once it is back.
func ExampleProvider_Fail() {
	ada := confidanttest.User{Subject: "ada"}
	op, err := confidanttest.Start(confidanttest.Options{Users: []confidanttest.User{ada}})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	id, secret := op.Register(appURL + "/auth/callback")
	auth, err := middleware.Setup(context.Background(), middleware.Config{Issuer: op.Issuer, ClientID: id,
		ClientSecret: secret, AppURL: appURL, Keys: [][]byte{session.NewKey()}})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	srv.Config.Handler = mux
	srv.Start()
	defer srv.Close()

	op.Fail(confidanttest.Token, http.StatusServiceUnavailable)
	resp, err := op.SignIn(confidanttest.Browser(), appURL+"/account", ada)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("down:", resp.StatusCode)
	op.Recover()
	if resp, err = op.SignIn(confidanttest.Browser(), appURL+"/account", ada); err != nil {
		log.Fatal(err)
	}
	fmt.Println("back:", resp.StatusCode, resp.Header.Get("Location"))
	fmt.Println("token requests:", op.Requests(confidanttest.Token))
	// Output:
	// down: 502
	// back: 302 /account
	// token requests: 2
}

// Move the app and the provider past the access token's expiry without
// waiting: the app refreshes the token on the next request.
func ExampleClock() {
	ada := confidanttest.User{Subject: "ada", Name: "Ada Lovelace"}
	clock := confidanttest.NewClock()
	op, err := confidanttest.Start(confidanttest.Options{Users: []confidanttest.User{ada}, Clock: clock})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	id, secret := op.Register(appURL + "/auth/callback")
	auth, err := middleware.Setup(context.Background(), middleware.Config{Issuer: op.Issuer, ClientID: id,
		ClientSecret: secret, AppURL: appURL, Keys: [][]byte{session.NewKey()},
		Now: clock.Now, // the app's client, store and middleware share the provider's clock
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", middleware.UserFrom(r.Context()).Name)
	})))
	srv.Config.Handler = mux
	srv.Start()
	defer srv.Close()

	browser := confidanttest.Browser()
	if _, err := op.SignIn(browser, appURL+"/account", ada); err != nil {
		log.Fatal(err)
	}
	clock.Add(10 * time.Minute) // access tokens live 5 minutes by default
	resp, err := browser.Get(appURL + "/account")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	fmt.Println("token requests:", op.Requests(confidanttest.Token), "reuses:", op.RefreshTokenReuses())
	// Output:
	// 200 hello Ada Lovelace
	// token requests: 2 reuses: 0
}

// The user signs out at the provider, which tells the app over the back
// channel: the app's session ends.
func ExampleProvider_LogOut() {
	ada := confidanttest.User{Subject: "ada"}
	op, err := confidanttest.Start(confidanttest.Options{Users: []confidanttest.User{ada}})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	id, secret := op.Register(appURL + "/auth/callback")
	auth, err := middleware.Setup(context.Background(), middleware.Config{Issuer: op.Issuer, ClientID: id,
		ClientSecret: secret, AppURL: appURL, Keys: [][]byte{session.NewKey()}})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth) // serves /auth/backchannel-logout
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	srv.Config.Handler = mux
	srv.Start()
	defer srv.Close()

	browser := confidanttest.Browser()
	if _, err := op.SignIn(browser, appURL+"/account", ada); err != nil {
		log.Fatal(err)
	}
	status, err := op.LogOut(appURL+"/auth/backchannel-logout", id, ada)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("logout:", status)
	resp, err := browser.Get(appURL + "/account")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("then:", resp.StatusCode) // a redirect to sign in again
	// Output:
	// logout: 200
	// then: 302
}
