// Command devprovider runs an OpenID Provider on your machine, to try an
// app built on confidant without an account anywhere: fixed client
// credentials and users, printed at start. For development only.
//
//	go run github.com/confidant-go/confidant/cmd/devprovider
//
// It prints its issuer (default http://127.0.0.1:9999), the client ID and
// secret (dev-app / dev-secret) and the users (alice / alice, bob / bob).
// Flags: -addr, -redirect (the app's callback, default
// http://localhost:8080/auth/callback; give it several times for several
// apps), -token-lifetime.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
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
	issuer := "http://" + ln.Addr().String()
	op, err := devprovider.New(issuer, devprovider.Config{Users: users, AccessTokenLifetime: lifetime,
		Clients: []devprovider.Client{{ID: clientID, Secret: clientSecret, Redirects: rs}}})
	if err != nil {
		return err
	}
	for _, r := range rs {
		op.AddRedirect(clientID, r) // and its origin + "/" after sign-out
	}
	srv := &http.Server{Handler: op, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Fprintf(out, "confidant development provider (for development only)\n  issuer        %s\n  client ID     %s\n  client secret %s\n  redirect URLs %s\n  users         alice / alice, bob / bob\n",
		issuer, clientID, clientSecret, strings.Join(rs, ", "))
	if ready != nil {
		ready <- op
	}
	<-ctx.Done()
	return nil
}
