// Command loopback serves the same tiny handler twice on loopback, bare and
// behind confidant's Require with a realistic signed-in cookie session, for
// scripts/loopback-bench.sh to load with wrk. It prints one line,
// "BARE=<url> REQUIRE=<url> COOKIE=<header>", then serves until killed or
// for at most -for.
package main

import (
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

func main() {
	life := flag.Duration("for", 10*time.Minute, "stop after this long")
	flag.Parse()
	key := make([]byte, 32)
	rand.Read(key)
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{key}})
	if err != nil {
		log.Fatal(err)
	}
	prov, _ := client.NewProvider("p", client.Endpoints{AuthURL: "https://p.example/authorize", TokenURL: "https://p.example/token"}, nil)
	c, err := client.New(client.Config{Provider: prov, ClientID: "c", ClientSecret: "s", RedirectURL: "http://127.0.0.1/auth/callback"})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store})
	if err != nil {
		log.Fatal(err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
	})

	rec := httptest.NewRecorder()
	if err := store.Save(rec, httptest.NewRequest("GET", "http://127.0.0.1/", nil), realistic()); err != nil {
		log.Fatal(err)
	}
	var parts []string
	for _, ck := range rec.Result().Cookies() {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	bare := serve(handler)
	req := serve(auth.Require(handler))
	fmt.Printf("BARE=%s REQUIRE=%s COOKIE=%s\n", bare, req, strings.Join(parts, "; "))
	time.Sleep(*life)
}

func serve(h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go (&http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}).Serve(ln)
	return "http://" + ln.Addr().String() + "/"
}

// realistic is an Auth0-like session: 900-byte access JWT, 1.1 KB ID token.
func realistic() *session.Session {
	jwt := func(n int) string {
		seg := func(k int) string {
			b := make([]byte, k)
			rand.Read(b)
			return base64.RawURLEncoding.EncodeToString(b)
		}
		return seg(36) + "." + seg(n*3/4-230) + "." + seg(256)
	}
	now := time.Now()
	return &session.Session{ID: "3q2-7wAAAAAAAAAAAAAAAA", Issuer: "https://example.eu.auth0.com/",
		AccessToken: jwt(900), TokenType: "Bearer", RefreshToken: "v1.MRrtbX6K9nQf3xq2e1bYkFzJ0sTj8oWcA4lPdGhUiVyN5mR7tB",
		IDToken: jwt(1100), Expiry: now.Add(24 * time.Hour), Issued: now, CreatedAt: now,
		User: confidant.User{Subject: "auth0|64f1c0ffee0123456789abcd", Name: "Dee Mo", Email: "demo@example.com", Claims: []byte(`{"sub":"auth0|64f1c0ffee0123456789abcd","name":"Dee Mo","email":"demo@example.com","email_verified":true}`)},
	}
}
