package confidant_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// Example is an app as most start: middleware.Setup with the provider's
// issuer, the app's registration and a session key, the /auth/ routes
// mounted, and a page behind Require that reads the signed-in
// confidant.User. The provider is one in the process (package
// confidanttest), so the example runs offline; in production the values
// come from the environment. A Config that misses a value is refused at
// start with an error that wraps ErrConfig.
func Example() {
	op, err := confidanttest.Start(confidanttest.Options{Users: []confidanttest.User{
		{Subject: "ada", Name: "Ada Lovelace", Claims: map[string]any{"roles": []string{"admin"}}},
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer op.Close()
	srv := httptest.NewUnstartedServer(nil) // the app; in production http.ListenAndServe
	appURL := "http://" + srv.Listener.Addr().String()
	clientID, clientSecret := op.Register(appURL + "/auth/callback")

	ctx := context.Background()
	_, err = middleware.Setup(ctx, middleware.Config{Issuer: op.Issuer, AppURL: appURL})
	fmt.Println("incomplete config refused:", errors.Is(err, confidant.ErrConfig))

	auth, err := middleware.Setup(ctx, middleware.Config{
		Issuer:       op.Issuer,                  // os.Getenv("OIDC_ISSUER")
		ClientID:     clientID,                   // os.Getenv("OIDC_CLIENT_ID")
		ClientSecret: clientSecret,               // os.Getenv("OIDC_CLIENT_SECRET")
		AppURL:       appURL,                     // "https://app.example.com"
		Keys:         [][]byte{session.NewKey()}, // session.ParseKeys(os.Getenv("SESSION_KEYS"))
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := middleware.UserFrom(r.Context()) // never nil behind Require
		var claims struct {
			Roles []string `json:"roles"`
		}
		if err := u.DecodeClaims(&claims); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s (%s at %s), roles %v", u.Name, u.Subject, u.Provider, claims.Roles)
	})))
	srv.Config.Handler = mux
	srv.Start()
	defer srv.Close()

	browser := confidanttest.Browser()
	resp, err := op.SignIn(browser, appURL+"/account", confidanttest.User{Subject: "ada"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in:", resp.StatusCode, resp.Header.Get("Location"))
	resp, err = browser.Get(appURL + "/account")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// incomplete config refused: true
	// signed in: 302 /account
	// 200 Ada Lovelace (ada at 127.0.0.1), roles [admin]
}

// A claim the User has no field for (here Auth0's custom "roles" claim) is
// read from Claims.
func ExampleUser_DecodeClaims() {
	// In a handler: u := middleware.UserFrom(r.Context())
	u := &confidant.User{Provider: "auth0", Subject: "auth0|42",
		Claims: json.RawMessage(`{"sub":"auth0|42","https://app.example.com/roles":["admin"]}`)}
	var c struct {
		Roles []string `json:"https://app.example.com/roles"`
	}
	if err := u.DecodeClaims(&c); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(u.Provider, u.Subject, c.Roles)
	// Output: auth0 auth0|42 [admin]
}

func TestDecodeClaimsErrors(t *testing.T) {
	u := &confidant.User{Claims: json.RawMessage(`{"groups":"not a list"}`)}
	var c struct {
		Groups []string `json:"groups"`
	}
	if err := u.DecodeClaims(&c); !errors.Is(err, confidant.ErrClaims) {
		t.Errorf("DecodeClaims = %v, want ErrClaims", err)
	}
	m := map[string]any{"kept": true}
	if err := (&confidant.User{}).DecodeClaims(&m); err != nil || len(m) != 1 {
		t.Errorf("no claims: %v, %v; want nil and v untouched", err, m)
	}
}
