// Command demo runs confidant end to end with no configuration and no
// network: a real OpenID Provider (github.com/zitadel/oidc/v3, in memory,
// with a pre-filled demo user), a protected API that checks its access
// tokens, and an app that signs users in with confidant.
//
//	go run ./examples/demo
//
// Environment: DEMO_ADDR (app, default localhost:8080),
// DEMO_PROVIDER_ADDR (provider, default 127.0.0.1:9998) and
// DEMO_TOKEN_LIFETIME (access tokens, default 5m; try 30s to watch refresh).
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gorilla/sessions"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/examples/internal/webapp"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := options{appAddr: getenv("DEMO_ADDR", "localhost:8080"), opAddr: getenv("DEMO_PROVIDER_ADDR", "127.0.0.1:9998")}
	if d, err := time.ParseDuration(os.Getenv("DEMO_TOKEN_LIFETIME")); err == nil {
		o.tokenLifetime = d
	}
	err := run(ctx, o, os.Stdout, nil)
	if err != nil {
		log.Fatal(err)
	}
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// options of the demo.
type options struct {
	appAddr, opAddr string
	tokenLifetime   time.Duration // access tokens; default 5 minutes
	sameSite        http.SameSite // the session cookie's; default Lax
}

// run serves the provider and the app until ctx ends. ready, when not nil,
// receives the app's URL once both are serving.
func run(ctx context.Context, o options, out io.Writer, ready chan<- string) error {
	appAddr, opAddr := o.appAddr, o.opAddr
	opLn, err := net.Listen("tcp", opAddr)
	if err != nil {
		return fmt.Errorf("demo: provider address: %w", err)
	}
	appLn, err := net.Listen("tcp", appAddr)
	if err != nil {
		opLn.Close()
		return fmt.Errorf("demo: app address: %w", err)
	}
	issuer := "http://" + opLn.Addr().String()
	appURL := fmt.Sprintf("http://localhost:%d", appLn.Addr().(*net.TCPAddr).Port)

	secret := rand.Text()
	op, err := devprovider.New(issuer, devprovider.Config{Clients: []devprovider.Client{{
		ID: "demo-app", Secret: secret,
		Redirects:           []string{appURL + "/auth/callback"},
		PostLogoutRedirects: []string{appURL + "/"},
	}}, AccessTokenLifetime: o.tokenLifetime})
	if err != nil {
		return err
	}
	opMux := http.NewServeMux()
	opMux.Handle("/resource", op.NewAPI())
	opMux.Handle("/", op)
	opSrv := &http.Server{Handler: opMux, ReadHeaderTimeout: 10 * time.Second}
	go opSrv.Serve(opLn)
	defer opSrv.Close()

	prov, err := client.Discover(ctx, issuer)
	if err != nil {
		return err
	}
	c, err := client.New(client.Config{
		Provider: prov, ClientID: "demo-app", ClientSecret: secret,
		RedirectURL: appURL + "/auth/callback",
		Scopes:      []string{"openid", "profile", "email", "offline_access"},
	})
	if err != nil {
		return err
	}
	cookies := session.CookieConfig{Keys: [][]byte{randomKey()}}
	if o.sameSite != 0 {
		cookies.Options = &sessions.Options{MaxAge: 7 * 24 * 3600, SameSite: o.sameSite}
	}
	store, err := session.NewCookieStore(cookies)
	if err != nil {
		return err
	}
	rec := &recorder{}
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, OnEvent: rec.hook,
		APIs: []middleware.API{{Name: "demo-api", BaseURL: issuer + "/resource"}}}) // the only place the token goes
	if err != nil {
		return err
	}
	lifetime := o.tokenLifetime
	if lifetime == 0 {
		lifetime = 5 * time.Minute
	}
	api := issuer + "/resource"
	pages := webapp.Pages{Title: "confidant demo",
		Note: template.HTML(`<p>The provider runs in this process at <code>` + template.HTMLEscapeString(issuer) +
			`</code>; its login form is pre-filled with the demo user (<code>demo</code> / <code>demo</code>).</p>` +
			`<p><a id="flow-link" href="/flow">Watch the flow</a>: a live sequence diagram of every step.</p>`)}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/{$}", auth.Optional(pages.Home()))
	mux.Handle("/profile", auth.Require(pages.Profile()))
	mux.Handle("/api", auth.Require(pages.API(func(r *http.Request) (string, *http.Response, error) {
		resp, err := auth.HTTPClient(r).Get(api) // the user's access token, refreshed when due
		return api, resp, err
	})))
	mux.HandleFunc("GET /flow", rec.servePage(lifetime))
	mux.HandleFunc("GET /flow/events", rec.serveEvents)
	mux.HandleFunc("/flow/clear", rec.clear)
	appSrv := &http.Server{Handler: rec.tag(mux), ReadHeaderTimeout: 10 * time.Second}
	go appSrv.Serve(appLn)
	defer appSrv.Close()

	fmt.Fprintf(out, "confidant demo: open %s\n  provider %s (user demo, password demo)\n  Ctrl-C to stop\n", appURL, issuer)
	if ready != nil {
		ready <- appURL
	}
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := appSrv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func randomKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}
