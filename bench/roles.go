package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
	"github.com/redis/go-redis/v9"
)

// The processes the benchmark starts are this program, run again with a
// role as its first argument: the backend, the app built on confidant,
// and the bare reverse proxy. Each is a process of its own, as
// oauth2-proxy is, so that each one's CPU time and memory are its own.

// backendBody is what the backend answers to every request: a small JSON
// document, the size of a typical API response.
var backendBody = []byte(`{"items":[` + repeat(`{"id":1234567,"name":"an item","state":"ready"},`, 20) + `{"id":0}]}`)

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

// runBackend serves backendBody on -addr and, on -stats, the number of
// connections and requests it has taken (GET /: "conns requests"), so
// that the benchmark counts the new connections each proxy opens.
func runBackend(args []string) {
	fs := flag.NewFlagSet("backend", flag.ExitOnError)
	addr := fs.String("addr", "", "address")
	stats := fs.String("stats", "", "address of the counters")
	fs.Parse(args)
	var conns, requests atomic.Int64
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			h := w.Header()
			h["Content-Type"] = []string{"application/json"}
			h["X-Backend"] = []string{"1"}
			w.Write(backendBody)
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	}
	go func() {
		log.Fatal(http.ListenAndServe(*stats, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%d %d", conns.Load(), requests.Load())
		})))
	}()
	log.Fatal(listenAndServe(srv, *addr))
}

func listenAndServe(srv *http.Server, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return srv.Serve(ln)
}

// tunedTransport is what docs/performance.md tells an app to give its own
// reverse proxy: http.DefaultTransport's settings with an idle pool as
// large as the concurrency it carries (the default keeps 2 connections
// per host).
func tunedTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 1024, 256
	return t
}

func reverseProxy(backend *url.URL, t http.RoundTripper) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{Transport: t, Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(backend)
		pr.SetXForwarded()
	}}
}

// runApp is the app on confidant, configured as the README tells a user:
// middleware.Setup with the issuer, the client and the session keys
// (SESSION_KEYS), cookie sessions by default or Redis ones (redisstore).
//
//	/            Require around an httputil.ReverseProxy to the backend (tuned transport)
//	/default/    the same with http.DefaultTransport, as oauth2-proxy's upstream has
//	/api/        the BFF: auth.Proxy("backend"), the SDK's own transport
//	/auth/       sign-in, callback, sign-out
func runApp(args []string) {
	fs := flag.NewFlagSet("app", flag.ExitOnError)
	addr := fs.String("addr", "", "address")
	issuer := fs.String("issuer", "", "the provider")
	backend := fs.String("backend", "", "the backend's URL")
	redisAddr := fs.String("redis", "", "Redis sessions at this address (default: cookie sessions)")
	fs.Parse(args)
	keys, err := session.ParseKeys(os.Getenv("SESSION_KEYS"))
	if err != nil {
		log.Fatal(err)
	}
	be, err := url.Parse(*backend)
	if err != nil {
		log.Fatal(err)
	}
	cfg := middleware.Config{
		Issuer:       *issuer,
		ClientID:     "dev-app",
		ClientSecret: "dev-secret",
		AppURL:       "http://" + *addr,
		Keys:         keys,
		APIs:         []middleware.API{{Name: "backend", BaseURL: be.JoinPath("/").String()}},
	}
	if *redisAddr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: *redisAddr})
		if cfg.Store, err = redisstore.New(redisstore.Config{Client: rdb, Keys: keys}); err != nil {
			log.Fatal(err)
		}
	}
	auth, err := middleware.Setup(context.Background(), cfg)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/api/", http.StripPrefix("/api", auth.Proxy("backend")))
	mux.Handle("/default/", auth.Require(reverseProxy(be, http.DefaultTransport)))
	mux.Handle("/", auth.Require(reverseProxy(be, tunedTransport())))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(listenAndServe(srv, *addr))
}

// runBare is the baseline: an httputil.ReverseProxy to the backend with
// the tuned transport, no sign-in, under / and under /api/ (stripped, as
// the BFF's prefix is).
func runBare(args []string) {
	fs := flag.NewFlagSet("bare", flag.ExitOnError)
	addr := fs.String("addr", "", "address")
	backend := fs.String("backend", "", "the backend's URL")
	fs.Parse(args)
	be, err := url.Parse(*backend)
	if err != nil {
		log.Fatal(err)
	}
	rp := reverseProxy(be, tunedTransport())
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", rp))
	mux.Handle("/", rp)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(listenAndServe(srv, *addr))
}

var _ = strconv.Itoa
