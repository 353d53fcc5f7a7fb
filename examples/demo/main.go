// Command demo runs confidant end to end with no configuration and no
// network: an OpenID Provider in process (confidanttest's: a real one,
// github.com/zitadel/oidc/v3 in memory, its login form pre-filled with the
// demo user), a protected API that checks its access tokens, and an app
// that signs users in with confidant.
//
//	go run ./examples/demo
//
// Environment: DEMO_ADDR (app, default localhost:8080),
// DEMO_PROVIDER_ADDR (provider, default 127.0.0.1:9998) and
// DEMO_TOKEN_LIFETIME (access tokens, default 5m; try 30s to watch refresh).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/sessions"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/confidanttest"
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

// demoUser is the provider's one account, filled in on its login form.
var demoUser = confidanttest.User{Subject: "u-1001", Username: "demo", Password: "demo", Name: "Dee Mo", Email: "demo@example.com"}

// run serves the provider, the API and the app until ctx ends. ready,
// when not nil, receives the app's URL once all three are serving.
func run(ctx context.Context, o options, out io.Writer, ready chan<- string) error {
	appLn, err := net.Listen("tcp", o.appAddr)
	if err != nil {
		return fmt.Errorf("demo: app address: %w", err)
	}
	defer appLn.Close()
	appURL := fmt.Sprintf("http://localhost:%d", appLn.Addr().(*net.TCPAddr).Port)

	// The provider, with the app registered there.
	op, err := confidanttest.Start(confidanttest.Options{Addr: o.opAddr, Users: []confidanttest.User{demoUser},
		AccessTokenLifetime: o.tokenLifetime})
	if err != nil {
		return fmt.Errorf("demo: provider: %w", err)
	}
	defer op.Close()
	clientID, secret := op.Register(appURL + "/auth/callback")

	// The API, on a port of its own.
	api, err := newAPI(ctx, op.Issuer, clientID)
	if err != nil {
		return err
	}
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	apiSrv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	go apiSrv.Serve(apiLn)
	defer apiSrv.Close()
	apiURL := "http://" + apiLn.Addr().String() + "/resource"

	// The app: client, session store, middleware.
	prov, err := client.Discover(ctx, op.Issuer)
	if err != nil {
		return err
	}
	c, err := client.New(client.Config{
		Provider: prov, ClientID: clientID, ClientSecret: secret,
		RedirectURL: appURL + "/auth/callback",
		Scopes:      []string{"openid", "profile", "email", "offline_access"},
	})
	if err != nil {
		return err
	}
	cookies := session.CookieConfig{Keys: [][]byte{session.NewKey()}}
	if o.sameSite != 0 {
		cookies.Options = &sessions.Options{MaxAge: 7 * 24 * 3600, SameSite: o.sameSite}
	}
	store, err := session.NewCookieStore(cookies)
	if err != nil {
		return err
	}
	rec := &recorder{}
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, OnEvent: rec.hook,
		APIs: []middleware.API{{Name: "demo-api", BaseURL: apiURL}}}) // the only place the token goes
	if err != nil {
		return err
	}
	lifetime := o.tokenLifetime
	if lifetime == 0 {
		lifetime = 5 * time.Minute
	}

	// The routes.
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/{$}", auth.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		render(w, r, "home", map[string]any{"Issuer": op.Issuer})
	})))
	mux.Handle("/profile", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims := middleware.UserFrom(r.Context()).Claims
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			w.Header().Set("Content-Type", "application/json")
			w.Write(claims)
			return
		}
		var pretty bytes.Buffer
		json.Indent(&pretty, claims, "", "  ")
		render(w, r, "profile", map[string]any{"Claims": pretty.String()})
	})))
	mux.Handle("/api", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data := map[string]any{"URL": apiURL}
		if resp, err := auth.HTTPClient(r).Get(apiURL); err != nil { // the user's access token, refreshed when due
			data["Body"] = err.Error()
		} else {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			data["Status"], data["Body"] = resp.StatusCode, string(body)
		}
		render(w, r, "api", data)
	})))
	mux.HandleFunc("GET /flow", rec.servePage(lifetime))
	mux.HandleFunc("GET /flow/events", rec.serveEvents)
	mux.HandleFunc("/flow/clear", rec.clear)
	appSrv := &http.Server{Handler: rec.tag(mux), ReadHeaderTimeout: 10 * time.Second}
	go appSrv.Serve(appLn)
	defer appSrv.Close()

	fmt.Fprintf(out, "confidant demo: open %s\n  provider %s (user demo, password demo)\n  API %s\n  Ctrl-C to stop\n", appURL, op.Issuer, apiURL)
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

// newAPI is the protected API. It takes the provider's access tokens,
// which are JWTs: go-oidc checks the signature with the provider's keys,
// the issuer, the audience (tokens issued to the demo app) and the expiry.
// It answers with the token's subject and expiry.
func newAPI(ctx context.Context, issuer, audience string) (http.Handler, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	verifier := p.Verifier(&oidc.Config{ClientID: audience})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		token, err := verifier.Verify(r.Context(), raw)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_token"})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"message": "hello from the API", "sub": token.Subject, "exp": token.Expiry.Unix()})
	}), nil
}

// render writes the page name, with data and the signed-in user.
func render(w http.ResponseWriter, r *http.Request, name string, data map[string]any) {
	data["Page"], data["User"] = name, middleware.UserFrom(r.Context())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	pages.ExecuteTemplate(w, "layout", data)
}

var pages = template.Must(template.New("").Parse(`
{{define "layout"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>confidant demo</title>
<style>
body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
nav{display:flex;gap:1rem;align-items:center;border-bottom:1px solid #ddd;padding-bottom:.5rem}
nav form{margin-left:auto}pre{background:#f6f6f6;padding:.8rem;overflow:auto}
button,.button{font:inherit;padding:.3rem .8rem}
</style></head><body>
<nav><b>confidant demo</b><a href="/">Home</a><a id="nav-profile" href="/profile">Profile</a><a id="nav-api" href="/api">Call the API</a>
{{if .User}}<form method="post" action="/auth/logout"><span id="who">{{.User.Name}}</span> <button id="logout" type="submit">Sign out</button></form>{{end}}</nav>
{{if eq .Page "home"}}{{template "home" .}}{{else if eq .Page "profile"}}{{template "profile" .}}{{else}}{{template "api" .}}{{end}}
</body></html>{{end}}

{{define "home"}}
{{if .User}}<p id="status">Signed in as <b>{{.User.Name}}</b> ({{.User.Email}}).</p>
{{else}}<p id="status">You are signed out.</p>
<p><a id="login" class="button" href="/auth/login?return_to=/profile">Sign in</a></p>{{end}}
<p>The provider runs in this process at <code>{{.Issuer}}</code>; its login form is pre-filled with the demo user (<code>demo</code> / <code>demo</code>).</p>
<p><a id="flow-link" href="/flow">Watch the flow</a>: a live sequence diagram of every step.</p>
{{end}}

{{define "profile"}}<h1 id="profile-name">{{.User.Name}}</h1>
<p>Subject <code id="sub">{{.User.Subject}}</code> at <code>{{.User.Provider}}</code>, e-mail <span id="email">{{.User.Email}}</span>.</p>
<h2>Claims</h2><pre id="claims">{{.Claims}}</pre>
<p><a id="call-api" class="button" href="/api">Call the API with my access token</a></p>{{end}}

{{define "api"}}<h1>API call</h1><p>GET <code>{{.URL}}</code> with the access token as a Bearer header answered:</p>
<p>Status <b id="api-status">{{.Status}}</b></p><pre id="api-body">{{.Body}}</pre>{{end}}
`))
