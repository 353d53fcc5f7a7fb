// Command bff is a single-page app whose Go backend holds the tokens (a
// backend-for-frontend): the page's script never sees an access token. It
// runs offline with an OpenID Provider in process, like examples/demo, and
// two APIs (orders and billing) that check the tokens they get.
//
//	go run ./examples/bff
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
// Environment: BFF_ADDR (app, default localhost:8081), BFF_PROVIDER_ADDR
// (provider, default 127.0.0.1:9997), BFF_TOKEN_LIFETIME (access tokens,
// default 5m).
package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/json"
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

	"golang.org/x/net/websocket"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

//go:embed static
var static embed.FS

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lifetime, _ := time.ParseDuration(os.Getenv("BFF_TOKEN_LIFETIME"))
	o := options{appAddr: getenv("BFF_ADDR", "localhost:8081"), opAddr: getenv("BFF_PROVIDER_ADDR", "127.0.0.1:9997"), lifetime: lifetime}
	if err := run(ctx, o, os.Stdout, nil); err != nil {
		log.Fatal(err)
	}
}

// options are where the example listens and how its provider behaves.
type options struct {
	appAddr, opAddr string
	lifetime        time.Duration // access tokens; default 5 minutes
	// trusted are origins of dev servers that proxy to the app
	// (middleware.Config.TrustedOrigins).
	trusted []string
	// provider, when set, gets the provider once it runs (tests make it
	// fail or revoke tokens through it).
	provider func(*devprovider.Provider)
	// observe, when set, sees every request to the provider and the APIs.
	observe func(*http.Request)
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// run serves the provider, the APIs and the app until ctx ends; ready gets
// the app's URL once it serves.
func run(ctx context.Context, o options, out io.Writer, ready chan<- string) error {
	opLn, err := net.Listen("tcp", o.opAddr)
	if err != nil {
		return fmt.Errorf("bff: provider address: %w", err)
	}
	defer opLn.Close()
	appLn, err := net.Listen("tcp", o.appAddr)
	if err != nil {
		return fmt.Errorf("bff: app address: %w", err)
	}
	defer appLn.Close()
	issuer := "http://" + opLn.Addr().String()
	appURL := fmt.Sprintf("http://localhost:%d", appLn.Addr().(*net.TCPAddr).Port)

	// The provider, in process, and two APIs behind it that check tokens.
	secret := rand.Text()
	op, err := devprovider.New(issuer, devprovider.Config{Clients: []devprovider.Client{{
		ID: "bff-app", Secret: secret,
		Redirects:           []string{appURL + "/auth/callback"},
		PostLogoutRedirects: []string{appURL + "/"},
	}}, AccessTokenLifetime: o.lifetime})
	if err != nil {
		return err
	}
	if o.provider != nil {
		o.provider(op)
	}
	opMux := http.NewServeMux()
	opMux.Handle("/orders/", api("orders", op.NewAPI()))
	opMux.Handle("/orders/live", live(op.NewAPI()))     // a WebSocket
	opMux.Handle("/orders/events", events(op.NewAPI())) // server-sent events
	opMux.Handle("/billing/", api("billing", op.NewAPI()))
	opMux.Handle("/", op)
	var opHandler http.Handler = opMux
	if o.observe != nil {
		opHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			o.observe(r)
			opMux.ServeHTTP(w, r)
		})
	}
	opSrv := &http.Server{Handler: opHandler, ReadHeaderTimeout: 10 * time.Second}
	go opSrv.Serve(opLn)
	defer opSrv.Close()

	// The backend: provider, client, store, middleware with the two APIs.
	prov, err := client.Discover(ctx, issuer)
	if err != nil {
		return err
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "bff-app", ClientSecret: secret,
		RedirectURL: appURL + "/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"}})
	if err != nil {
		return err
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{session.NewKey()}})
	if err != nil {
		return err
	}
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, APIs: []middleware.API{
		{Name: "orders", BaseURL: issuer + "/orders/"},
		{Name: "billing", BaseURL: issuer + "/billing/"},
	}, TrustedOrigins: o.trusted})
	if err != nil {
		return err
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

	fmt.Fprintf(out, "confidant bff: open %s\n  provider %s (user demo, password demo)\n  Ctrl-C to stop\n", appURL, issuer)
	if ready != nil {
		ready <- appURL
	}
	<-ctx.Done()
	return nil
}

// api answers for one API: what the token check said, and the API's name.
func api(name string, check http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{header: http.Header{}}
		check.ServeHTTP(rec, r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.status)
		var body map[string]any
		json.Unmarshal(rec.body, &body)
		if body == nil {
			body = map[string]any{}
		}
		body["api"] = name
		json.NewEncoder(w).Encode(body)
	})
}

type recorder struct {
	header http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int)   { r.status = s }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body = append(r.body, b...)
	return len(b), nil
}

// authorized runs an API's token check on r and returns the token's
// subject, or false.
func authorized(check http.Handler, r *http.Request) (string, bool) {
	rec := &recorder{header: http.Header{}}
	check.ServeHTTP(rec, r)
	var body struct {
		Sub string `json:"sub"`
	}
	json.Unmarshal(rec.body, &body)
	return body.Sub, rec.status == http.StatusOK
}

// live is a WebSocket of the orders API: it answers each message, for the
// token's subject.
func live(check http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, ok := authorized(check, r)
		if !ok {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		ws := websocket.Server{
			// The token is the API's check; the browser's Origin was
			// checked by the backend, which does not forward it.
			Handshake: func(*websocket.Config, *http.Request) error { return nil },
			Handler: func(c *websocket.Conn) {
				for {
					var msg string
					if websocket.Message.Receive(c, &msg) != nil {
						return
					}
					websocket.Message.Send(c, "orders: "+msg+" (for "+sub+")")
				}
			},
		}
		ws.ServeHTTP(w, r)
	})
}

// events is a stream of server-sent events of the orders API: three
// events for the token's subject.
func events(check http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, ok := authorized(check, r)
		if !ok {
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		rc := http.NewResponseController(w)
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(w, "data: order %d for %s\n\n", i, sub)
			rc.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}
