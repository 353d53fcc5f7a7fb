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
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// app is an app under test, built as a user builds one: provider, client,
// store, middleware, routes.
type app struct {
	URL      string
	ClientID string
	Auth     *middleware.Auth
	Client   *client.Client
	Store    *session.CookieStore
	Close    func()
}

// startApp starts an app signing in at op, on the clock now (nil: the
// wall clock).
func startApp(op *confidanttest.Provider, now func() time.Time) (*app, error) {
	srv := httptest.NewUnstartedServer(nil)
	a := &app{URL: "http://" + srv.Listener.Addr().String(), Close: srv.Close}
	id, secret := op.Register(a.URL + "/auth/callback")
	prov, err := client.Discover(context.Background(), op.Issuer)
	if err != nil {
		return nil, err
	}
	a.ClientID = id
	a.Client, err = client.New(client.Config{Provider: prov, ClientID: id, ClientSecret: secret,
		RedirectURL: a.URL + "/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}, Now: now})
	if err != nil {
		return nil, err
	}
	a.Store, err = session.NewCookieStore(session.CookieConfig{Keys: [][]byte{session.NewKey()}, Now: now})
	if err != nil {
		return nil, err
	}
	a.Auth, err = middleware.New(middleware.Config{Clients: []*client.Client{a.Client}, Store: a.Store, Now: now})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", a.Auth)
	mux.Handle("/account", a.Auth.Require(http.HandlerFunc(account)))
	srv.Config.Handler = mux
	srv.Start()
	return a, nil
}

// account is the handler under test.
func account(w http.ResponseWriter, r *http.Request) {
	u := middleware.UserFrom(r.Context())
	fmt.Fprintf(w, "hello %s (%s)", u.Name, u.Subject)
}

// page loads url in browser and returns its status and body.
func page(browser *http.Client, url string) (int, string) {
	resp, err := browser.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var ada = confidanttest.User{Subject: "ada", Name: "Ada Lovelace", Email: "ada@example.com"}

// Sign a user in through the whole flow, with a real provider in process.
// In a test, NewProvider(t, …) stops the provider when the test ends.
func Example() {
	op, err := confidanttest.Start(confidanttest.Options{Users: []confidanttest.User{ada}})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	app, err := startApp(op, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()

	browser := confidanttest.Browser()
	resp, err := op.SignIn(browser, app.URL+"/account", ada)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, resp.Header.Get("Location"))
	fmt.Println(page(browser, app.URL+"/account"))
	fmt.Println("token requests:", op.Requests(confidanttest.Token))
	// Output:
	// 302 /account
	// 200 hello Ada Lovelace (ada)
	// token requests: 1
}

// A fast test of one handler: a session minted in the store, no sign-in.
func ExampleSignedIn() {
	op, _ := confidanttest.Start(confidanttest.Options{})
	defer op.Close()
	app, err := startApp(op, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()

	req, err := confidanttest.SignedIn(app.Auth, "http://localhost/account", confidant.User{Subject: "grace", Name: "Grace Hopper"})
	if err != nil {
		log.Fatal(err)
	}
	rec := httptest.NewRecorder()
	app.Auth.Require(http.HandlerFunc(account)).ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body)
	// Output: 200 hello Grace Hopper (grace)
}

// What the app does when the provider's token endpoint is down: a 502
// page, and a sign-in that works once it is back.
func ExampleProvider_Fail() {
	op, _ := confidanttest.Start(confidanttest.Options{Users: []confidanttest.User{ada}})
	defer op.Close()
	app, err := startApp(op, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()

	op.Fail(confidanttest.Token, http.StatusServiceUnavailable)
	resp, _ := op.SignIn(confidanttest.Browser(), app.URL+"/account", ada)
	fmt.Println("down:", resp.StatusCode)
	op.Recover()
	resp, _ = op.SignIn(confidanttest.Browser(), app.URL+"/account", ada)
	fmt.Println("back:", resp.StatusCode)
	fmt.Println("token requests:", op.Requests(confidanttest.Token))
	// Output:
	// down: 502
	// back: 302
	// token requests: 2
}

// Move the app and the provider past the access token's expiry without
// waiting: the app refreshes the token on the next request.
func ExampleClock() {
	clock := confidanttest.NewClock()
	op, _ := confidanttest.Start(confidanttest.Options{Users: []confidanttest.User{ada}, Clock: clock})
	defer op.Close()
	app, err := startApp(op, clock.Now) // the app's client, store and middleware share the clock
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()

	browser := confidanttest.Browser()
	if _, err := op.SignIn(browser, app.URL+"/account", ada); err != nil {
		log.Fatal(err)
	}
	clock.Add(10 * time.Minute) // access tokens live 5 minutes by default
	fmt.Println(page(browser, app.URL+"/account"))
	fmt.Println("token requests:", op.Requests(confidanttest.Token), "reuses:", op.RefreshTokenReuses())
	// Output:
	// 200 hello Ada Lovelace (ada)
	// token requests: 2 reuses: 0
}

// The user signs out at the provider, which tells the app over the back
// channel: the app's session ends.
func ExampleProvider_LogOut() {
	op, _ := confidanttest.Start(confidanttest.Options{Users: []confidanttest.User{ada}})
	defer op.Close()
	app, err := startApp(op, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()

	browser := confidanttest.Browser()
	if _, err := op.SignIn(browser, app.URL+"/account", ada); err != nil {
		log.Fatal(err)
	}
	status, err := op.LogOut(app.URL+"/auth/backchannel-logout", app.ClientID, ada)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("logout:", status)
	code, _ := page(browser, app.URL+"/account")
	fmt.Println("then:", code) // a redirect to sign in again
	// Output:
	// logout: 200
	// then: 302
}
