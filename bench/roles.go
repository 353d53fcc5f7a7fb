package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	_ "net/http/pprof"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
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
	srv := &http.Server{Handler: debug(mux), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(listenAndServe(srv, *addr))
}

// debug is h, and with PEERBENCH_DEBUG=1 in the process's environment
// (PEERBENCH_APP_ENV gives it to the app and bare processes) a
// diagnostic: net/http/pprof under /debug/pprof/ and the handler's time
// under /debug/handler-time, on the process's own address (-keep prints
// them).
func debug(h http.Handler) http.Handler {
	if os.Getenv("PEERBENCH_DEBUG") != "1" {
		return h
	}
	runtime.SetMutexProfileFraction(5)
	runtime.SetBlockProfileRate(10000)
	mux := http.NewServeMux()
	mux.Handle("/debug/", http.DefaultServeMux) // net/http/pprof's handlers, and timed's
	mux.Handle("/", timed(h))
	return mux
}

// timed records how long the handler takes, in 100 µs buckets up to
// 100 ms. GET /debug/handler-time prints its percentiles since the last
// GET. It tells the time spent in the SDK's code from the time a
// request waits for the process (the load generator sees both).
func timed(h http.Handler) http.Handler {
	var buckets [1000]atomic.Int64
	http.HandleFunc("/debug/handler-time", func(w http.ResponseWriter, r *http.Request) {
		var counts [1000]int64
		var n int64
		for i := range buckets {
			counts[i] = buckets[i].Swap(0)
			n += counts[i]
		}
		var cum int64
		next := []float64{0.5, 0.99, 0.999, 1}
		for i, c := range counts {
			cum += c
			for len(next) > 0 && n > 0 && float64(cum) >= next[0]*float64(n) {
				fmt.Fprintf(w, "p%g ≤ %.1f ms\n", next[0]*100, float64(i+1)/10)
				next = next[1:]
			}
		}
		fmt.Fprintf(w, "%d requests\n", n)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.Now()
		h.ServeHTTP(w, r)
		buckets[min(int(time.Since(t)/(100*time.Microsecond)), len(buckets)-1)].Add(1)
	})
}

// runBare is the baseline: an httputil.ReverseProxy to the backend with
// the tuned transport, no sign-in, under / (as the app's own proxy behind
// Require) and under /api/ (stripped, as the BFF's prefix is).
func runBare(args []string) {
	fs := flag.NewFlagSet("bare", flag.ExitOnError)
	addr := fs.String("addr", "", "address")
	backend := fs.String("backend", "", "the backend's URL")
	provider := fs.String("issuer", "", "the provider")
	fs.Parse(args)
	be, err := url.Parse(*backend)
	if err != nil {
		log.Fatal(err)
	}
	rp := reverseProxy(be, tunedTransport())
	// Under /api/, the BFF's baseline: what reaches the backend is what
	// Proxy sends it (no cookie, no X-Forwarded-*), so that the backend
	// does the same work for both.
	bff := &httputil.ReverseProxy{Transport: tunedTransport(), Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(be)
		pr.Out.Header.Del("Cookie")
	}}
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", bff))
	mux.Handle("/redirect", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The shape of a sign-in's redirect, with no work behind it: a
		// Location of the same length and a cookie of the same size.
		http.SetCookie(w, &http.Cookie{Name: "flow", Value: redirectCookie, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 600})
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, *provider+redirectQuery, http.StatusFound)
	}))
	mux.Handle("/", rp)
	srv := &http.Server{Handler: debug(mux), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(listenAndServe(srv, *addr))
}

var (
	redirectCookie = strings.Repeat("x", 300)
	redirectQuery  = "/authorize?client_id=dev-app&code_challenge=" + strings.Repeat("c", 43) + "&code_challenge_method=S256&nonce=" +
		strings.Repeat("n", 43) + "&redirect_uri=http%3A%2F%2F127.0.0.1%3A40000%2Fauth%2Fcallback&response_type=code&scope=openid+profile+email&state=" +
		strings.Repeat("s", 43)
)
