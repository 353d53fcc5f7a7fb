// Command bff is a single-page app whose Go backend holds the tokens (a
// backend-for-frontend): the page's script never sees an access token.
// Try it with the development provider, whose sample API plays the two
// APIs the page calls (orders and billing):
//
//	go run github.com/confidant-go/confidant/cmd/devprovider@latest -redirect http://localhost:8081/auth/callback
//	go run ./examples/bff
//
// (in this repository: go run ./cmd/devprovider -redirect …).
//
// The page's script uses static/confidant.js, a small helper that any
// single-page app can copy: it asks /bff/session who is signed in, calls
// the APIs through /bff/orders/… and /bff/billing/… with the X-CSRF: 1
// header the backend requires (the backend adds the token, refreshed when
// due, and once more when an API refuses it), sends the user to sign in
// when the session ended, waits out a 503's Retry-After, and signs out by
// navigating to the session's logout_url, which ends the provider's
// session too.
//
// Environment: BFF_ADDR (default localhost:8081; register
// http://localhost:PORT/auth/callback at the provider), OIDC_ISSUER,
// OIDC_CLIENT_ID and OIDC_CLIENT_SECRET (default cmd/devprovider's:
// http://127.0.0.1:9999, dev-app, dev-secret), ORDERS_API_URL and
// BILLING_API_URL (default its sample API: OIDC_ISSUER/api/orders/ and
// OIDC_ISSUER/api/billing/).
package main

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

//go:embed static
var static embed.FS

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	issuer := getenv("OIDC_ISSUER", "http://127.0.0.1:9999")
	o := options{appAddr: getenv("BFF_ADDR", "localhost:8081"), issuer: issuer,
		clientID: getenv("OIDC_CLIENT_ID", "dev-app"), clientSecret: getenv("OIDC_CLIENT_SECRET", "dev-secret"),
		ordersAPI: getenv("ORDERS_API_URL", issuer+"/api/orders/"), billingAPI: getenv("BILLING_API_URL", issuer+"/api/billing/")}
	if err := run(ctx, o, os.Stdout, nil); err != nil {
		log.Fatal(err)
	}
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// options are where the backend listens, its provider and its APIs.
type options struct {
	appAddr                        string
	issuer, clientID, clientSecret string
	ordersAPI, billingAPI          string // the APIs' base URLs
	// trusted are origins of dev servers that proxy to the app
	// (middleware.Config.TrustedOrigins).
	trusted []string
}

// run serves the app until ctx ends; ready gets the app's URL once it
// serves.
func run(ctx context.Context, o options, out io.Writer, ready chan<- string) error {
	appLn, err := net.Listen("tcp", o.appAddr)
	if err != nil {
		return fmt.Errorf("bff: app address: %w", err)
	}
	defer appLn.Close()
	appURL := fmt.Sprintf("http://localhost:%d", appLn.Addr().(*net.TCPAddr).Port)

	// The backend: provider, client, store, middleware with the two APIs.
	prov, err := client.Discover(ctx, o.issuer)
	if err != nil {
		return err
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: o.clientID, ClientSecret: o.clientSecret,
		RedirectURL: appURL + "/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}})
	if err != nil {
		return err
	}
	// A new key at each start: sessions end when the backend restarts
	// (read the keys from your secrets, for sessions that outlive it).
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{session.NewKey()}})
	if err != nil {
		return err
	}
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, APIs: []middleware.API{
		{Name: "orders", BaseURL: o.ordersAPI},
		{Name: "billing", BaseURL: o.billingAPI},
	}, TrustedOrigins: o.trusted})
	if err != nil {
		return err
	}
	// Fail now, with the reason, when the provider cannot be reached.
	if err := auth.Ready(ctx); err != nil {
		return fmt.Errorf("bff: %w (to try it: go run github.com/confidant-go/confidant/cmd/devprovider@latest -redirect %s/auth/callback)", err, appURL)
	}

	// The routes: the page, its session endpoint and the two proxies.
	files, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/bff/session", auth.SessionInfo())
	mux.Handle("/bff/orders/", http.StripPrefix("/bff/orders", auth.Proxy("orders")))
	mux.Handle("/bff/billing/", http.StripPrefix("/bff/billing", auth.Proxy("billing")))
	mux.Handle("/", http.FileServerFS(files))
	appSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go appSrv.Serve(appLn)
	defer appSrv.Close()

	fmt.Fprintf(out, "confidant bff: open %s\n  provider %s\n  Ctrl-C to stop\n", appURL, o.issuer)
	if ready != nil {
		ready <- appURL
	}
	<-ctx.Done()
	return nil
}
