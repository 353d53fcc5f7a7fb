// Command devprovider runs an OpenID Provider on your machine, to try an
// app built on confidant without an account anywhere: fixed client
// credentials and users, printed at start. For development only.
//
//	go run github.com/confidant-go/confidant/cmd/devprovider@latest
//
// (in a clone of the repository: go run ./cmd/devprovider).
//
// It prints its issuer (default http://127.0.0.1:9999), the client ID and
// secret (dev-app / dev-secret) and the users (alice / alice, bob / bob).
// Flags: -addr, -redirect (the app's callback, default
// http://localhost:8080/auth/callback; give it several times for several
// apps), -token-lifetime. A sign-in for another callback gets a page that
// names it and the flag to restart with.
//
// It also serves a sample API at ISSUER/api/hello (any path under
// ISSUER/api/), which answers a request with a valid access token
// (Authorization: Bearer …) with the token's subject, and
// anything else with 401: point middleware.API's BaseURL at ISSUER/api/ to
// call it with auth.HTTPClient(r). ISSUER/api/NAME/live is a WebSocket and
// ISSUER/api/NAME/events a stream of server-sent events, with the same
// check (examples/bff opens both through its backend).
//
// It transmits security events too (OpenID Shared Signals 1.0, CAEP and
// RISC), for an app with middleware.Config.SharedSignals: its
// configuration is at ISSUER/.well-known/ssf-configuration, and its
// management API takes the client's own token (client_credentials). Send
// one to every stream with
//
//	curl -d event=session-revoked -d sub=alice ISSUER/ssf/send
//
// (event: session-revoked, credential-change, account-disabled,
// account-purged, credential-compromise, token-claims-change or
// assurance-level-change; the subject: sub=USER, email=ADDRESS, or sid=SID
// with or without sub; current_level=LEVEL for assurance-level-change). It
// answers with each stream's delivery: the app's status for a push, or
// "queued" for a poller. It delivers each event once (no retry after a
// 503), and its ID tokens carry no sid.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/devprovider/sampleapi"
	"github.com/confidant-go/confidant/internal/devprovider/ssftx"
)

// The fixed registration and accounts.
const (
	clientID     = "dev-app"
	clientSecret = "dev-secret"
)

var users = []devprovider.User{
	{ID: "alice", Username: "alice", Password: "alice", Name: "Alice Example", Email: "alice@example.com", Claims: map[string]any{"groups": []string{"admins"}}},
	{ID: "bob", Username: "bob", Password: "bob", Name: "Bob Example", Email: "bob@example.com", Claims: map[string]any{"groups": []string{"staff"}}},
}

type redirects []string

func (r *redirects) String() string     { return strings.Join(*r, ",") }
func (r *redirects) Set(v string) error { *r = append(*r, v); return nil }

func main() {
	var rs redirects
	addr := flag.String("addr", "127.0.0.1:9999", "address to listen on")
	lifetime := flag.Duration("token-lifetime", 5*time.Minute, "access token lifetime")
	flag.Var(&rs, "redirect", "an app's callback URL (repeatable); default http://localhost:8080/auth/callback")
	flag.Parse()
	if len(rs) == 0 {
		rs = redirects{"http://localhost:8080/auth/callback"}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, rs, *lifetime, os.Stdout, nil); err != nil {
		log.Fatal(err)
	}
}

// run serves the provider until ctx ends; ready gets it once it serves.
func run(ctx context.Context, addr string, rs []string, lifetime time.Duration, out io.Writer, ready chan<- *devprovider.Provider) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("devprovider: %w", err)
	}
	defer ln.Close()
	issuer := devprovider.IssuerAt(ln.Addr())
	op, err := devprovider.New(issuer, devprovider.Config{Users: users, AccessTokenLifetime: lifetime,
		Clients: []devprovider.Client{{ID: clientID, Secret: clientSecret, Redirects: rs}}})
	if err != nil {
		return err
	}
	for _, r := range rs {
		op.AddRedirect(clientID, r) // and its origin + "/" after sign-out
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", sampleapi.Handler(op))
	tx := ssftx.New(issuer)
	api := op.NewAPI()
	tx.Authorize = func(w http.ResponseWriter, r *http.Request) (string, bool) { return api.Subject(w, r) }
	for _, p := range tx.Paths() {
		mux.Handle(p, tx)
	}
	mux.Handle("POST /ssf/send", sendEvents(tx, issuer))
	mux.Handle("/", registered(op, rs))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Fprintf(out, "confidant development provider (for development only)\n  issuer        %s\n  client ID     %s\n  client secret %s\n  redirect URLs %s\n  users         alice / alice, bob / bob\n  sample API    %s/api/hello\n  security events (Shared Signals): curl -d event=session-revoked -d sub=alice %s/ssf/send\n",
		issuer, clientID, clientSecret, strings.Join(rs, ", "), issuer, issuer)
	if ready != nil {
		ready <- op
	}
	<-ctx.Done()
	return nil
}

// sendEvents is POST /ssf/send: a security event for every stream that
// delivers it.
func sendEvents(tx *ssftx.Transmitter, issuer string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		event := ssftx.Events[r.FormValue("event")]
		if event == "" {
			http.Error(w, "event: want one of session-revoked, credential-change, account-disabled, account-purged, credential-compromise, token-claims-change, assurance-level-change", http.StatusBadRequest)
			return
		}
		var user map[string]any
		switch {
		case r.FormValue("sub") != "":
			user = map[string]any{"format": "iss_sub", "iss": issuer, "sub": r.FormValue("sub")}
		case r.FormValue("email") != "":
			user = map[string]any{"format": "email", "email": r.FormValue("email")}
		}
		subject := user
		if sid := r.FormValue("sid"); sid != "" {
			subject = map[string]any{"format": "complex", "session": map[string]any{"format": "opaque", "id": sid}}
			if user != nil {
				subject["user"] = user
			}
		}
		if subject == nil {
			http.Error(w, "the subject: sub=USER, email=ADDRESS or sid=SID", http.StatusBadRequest)
			return
		}
		payload := map[string]any{"event_timestamp": time.Now().Unix()}
		if event == ssftx.AssuranceLevelChange {
			payload["namespace"], payload["current_level"], payload["change_direction"] = "RFC8176", r.FormValue("current_level"), "decrease"
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"event": event, "subject": subject, "streams": tx.Send(event, subject, payload)})
	})
}

// registered answers an authorization request for a callback that is not
// registered with a page that names it, the ones that are, and the flag to
// restart with; everything else goes to op.
func registered(op http.Handler, rs []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == devprovider.PathAuthorize {
			if got := r.URL.Query().Get("redirect_uri"); got != "" && !slices.Contains(rs, got) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `<!doctype html><title>Redirect URL not registered</title>
<h1>This app's redirect URL is not registered</h1>
<p>The app asked to come back to <code>%s</code>; devprovider knows only <code>%s</code>.</p>
<p>Restart devprovider with the app's URL:</p>
<pre>go run github.com/confidant-go/confidant/cmd/devprovider@latest -redirect %s</pre>
<p>or make the app's RedirectURL one of the registered URLs.</p>
`, html.EscapeString(got), html.EscapeString(strings.Join(rs, ", ")), html.EscapeString(got))
				return
			}
		}
		op.ServeHTTP(w, r)
	})
}
