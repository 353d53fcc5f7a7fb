package middleware_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/testop"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// Example signs a user in end to end: an in-process OpenID Provider stands
// in for the real one, and an HTTP client with a cookie jar for the browser.
func Example() {
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	op, _ := testop.Start(testop.Config{Clients: []testop.Client{{ID: "my-app", Secret: "s", Redirects: []string{appURL + "/auth/callback"}}}})
	defer op.Close()

	// What an app writes:
	prov, _ := client.Discover(context.Background(), op.Issuer)
	c, _ := client.New(client.Config{Provider: prov, ClientID: "my-app", ClientSecret: "s", RedirectURL: appURL + "/auth/callback"})
	key := make([]byte, 32)
	rand.Read(key)
	store, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{key}})
	auth, _ := middleware.New(middleware.Config{Client: c, Store: store})

	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := middleware.UserFrom(r.Context())
		fmt.Fprintf(w, "hello %s <%s>", u.Name, u.Email)
	})))
	app.Config.Handler = mux
	app.Start()
	defer app.Close()

	// A browser visiting /account is sent to the provider, signs in and
	// comes back.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", appURL+"/account", nil)
	req.Header.Set("Accept", "text/html")
	resp, _ := browser.Do(req)
	callback, _ := op.Login(browser, resp.Header.Get("Location"), testop.DemoUser)
	resp, _ = browser.Get(callback.String())
	fmt.Println(resp.StatusCode, resp.Header.Get("Location"))

	resp, _ = browser.Get(appURL + "/account")
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output:
	// 302 /account
	// hello Dee Mo <demo@example.com>
}
