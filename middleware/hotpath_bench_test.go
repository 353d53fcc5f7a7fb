package middleware_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/gob"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/dpop"
	"github.com/confidant-go/confidant/internal/lifetime"
	"github.com/confidant-go/confidant/internal/testkit/certop"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/metrics"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// hotAuth returns an Auth on store with a provider given by hand (no
// network): the hot path never talks to the provider.
func hotAuth(b *testing.B, store session.Store, apis ...middleware.API) *middleware.Auth {
	return hotAuthWith(b, store, nil, apis...)
}

// withMetrics records the Auth's events with package metrics, on the
// OpenTelemetry SDK (a meter provider with a reader, a tracer provider
// that samples nothing), as an app with metrics on does.
func withMetrics(b *testing.B) event.Hook {
	rec, err := metrics.New(metrics.Options{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())),
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))})
	if err != nil {
		b.Fatal(err)
	}
	return rec.Hook
}

// unsampled is a request whose incoming trace context is not sampled.
func unsampled(req *http.Request) *http.Request {
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, Remote: true})
	return req.WithContext(trace.ContextWithRemoteSpanContext(req.Context(), sc))
}

func hotAuthWith(b *testing.B, store session.Store, hook event.Hook, apis ...middleware.API) *middleware.Auth {
	prov, err := client.NewProvider("p", client.Endpoints{AuthURL: "https://p.example/authorize", TokenURL: "https://p.example/token"})
	if err != nil {
		b.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "c", ClientSecret: "s", RedirectURL: "https://app.example/auth/callback"})
	if err != nil {
		b.Fatal(err)
	}
	a, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, APIs: apis, OnEvent: hook})
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// signalsAuth is hotAuth at an OpenID provider given by hand, with
// Config.SharedSignals (never set up: the hot path reads only the marks)
// and deny.
func signalsAuth(b *testing.B, store session.Store, deny session.DenyList) *middleware.Auth {
	prov, err := client.NewProvider("p", client.Endpoints{Issuer: "https://p.example", AuthURL: "https://p.example/authorize",
		TokenURL: "https://p.example/token", JWKSURL: "https://p.example/jwks"})
	if err != nil {
		b.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "c", ClientSecret: "s", RedirectURL: "https://app.example/auth/callback"})
	if err != nil {
		b.Fatal(err)
	}
	a, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, DenyList: deny, SharedSignals: &middleware.SharedSignals{}})
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// hotAuthDeny is hotAuth with a deny list.
func hotAuthDeny(b *testing.B, store session.Store, deny session.DenyList) *middleware.Auth {
	prov, err := client.NewProvider("p", client.Endpoints{AuthURL: "https://p.example/authorize", TokenURL: "https://p.example/token"})
	if err != nil {
		b.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "c", ClientSecret: "s", RedirectURL: "https://app.example/auth/callback"})
	if err != nil {
		b.Fatal(err)
	}
	a, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, DenyList: deny})
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// cookieHeader saves s with store and returns the Cookie header a browser
// would send back.
func cookieHeader(b *testing.B, store session.Store, s *session.Session) string {
	rec := httptest.NewRecorder()
	if err := store.Save(rec, httptest.NewRequest("GET", "http://localhost/", nil), s); err != nil {
		b.Fatal(err)
	}
	var parts []string
	for _, c := range rec.Result().Cookies() {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

func hotRequest(cookie string) *http.Request {
	req := httptest.NewRequest("GET", "http://localhost/account", nil)
	req.Header.Set("Cookie", cookie)
	return req
}

func serve(b *testing.B, h http.Handler, req *http.Request) {
	b.ReportAllocs()
	b.ResetTimer() // setup (a Redis Cluster starting) is not the request
	ctx := req.Context()
	for range b.N {
		rec := httptest.NewRecorder()
		// A fresh request each time, as from the server (gorilla/sessions
		// caches the decoded session in the request it is given).
		h.ServeHTTP(rec, req.WithContext(ctx))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkRequire compares, on a realistic session whose token is not
// due, a bare handler with Require over the cookie store (a cookie seen
// before, and a cookie seen for the first time), over the Redis store (a
// single node, and a Cluster of three masters with replicas), and with the
// same check done by a gorilla/sessions CookieStore (gob).
func BenchmarkRequire(b *testing.B) {
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(struct{}{}) != nil { // keep the handler from being optimised away
			w.WriteHeader(500)
		}
	})
	// Called through the interface, as a server calls a handler, so the
	// recorder escapes in every case alike.
	var bare http.Handler = noop
	key := testenv.NewKey()

	cached, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{key}})
	authCached := hotAuth(b, cached) // binds the store to the app before it seals the cookie
	cookie := cookieHeader(b, cached, testenv.RealisticSession())
	b.Logf("Cookie header of a realistic session: %d bytes", len(cookie))

	b.Run("bare", func(b *testing.B) { serve(b, bare, hotRequest(cookie)) })
	b.Run("cookie-seen-before", func(b *testing.B) {
		serve(b, authCached.Require(noop), hotRequest(cookie))
	})
	b.Run("cookie-seen-before-metrics", func(b *testing.B) {
		// The same, with package metrics on and the request's trace
		// unsampled: it should add no allocation.
		withM, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{key}})
		a := hotAuthWith(b, withM, withMetrics(b))
		serve(b, a.Require(noop), unsampled(hotRequest(cookieHeader(b, withM, testenv.RealisticSession()))))
	})
	b.Run("cookie-seen-before-shared-signals", func(b *testing.B) {
		// With Config.SharedSignals, whose marks (claims to renew, a
		// sign-in to ask for) are read with the deny list, at once.
		withS, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{key}})
		a := signalsAuth(b, withS, nil)
		serve(b, a.Require(noop), hotRequest(cookieHeader(b, withS, testenv.RealisticSession())))
	})
	b.Run("cookie-first-seen", func(b *testing.B) {
		uncached, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{key}, CacheSize: -1})
		serve(b, hotAuth(b, uncached).Require(noop), hotRequest(cookie))
	})
	b.Run("gorilla-cookiestore-gob", func(b *testing.B) {
		gob.Register(time.Time{})
		gs := sessions.NewCookieStore(key, testenv.NewKey())
		for _, c := range gs.Codecs {
			if sc, ok := c.(*securecookie.SecureCookie); ok {
				sc.MaxLength(0) // its cookie is over 4096 bytes
			}
		}
		s := testenv.RealisticSession()
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "http://localhost/", nil)
		gsess, _ := gs.New(req, "session")
		gsess.Values["access_token"], gsess.Values["refresh_token"], gsess.Values["id_token"] = s.AccessToken, s.RefreshToken, s.IDToken
		gsess.Values["expiry"], gsess.Values["sub"], gsess.Values["name"], gsess.Values["email"] = s.Expiry, s.Subject, s.Name, s.Email
		gsess.Values["picture"], gsess.Values["claims"], gsess.Values["scope"] = s.Picture, string(s.Claims), s.Scope
		if err := gsess.Save(req, rec); err != nil {
			b.Fatal(err)
		}
		gc := rec.Result().Cookies()[0]
		b.Logf("gorilla cookie: %d bytes", len(gc.Name)+1+len(gc.Value))
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sess, err := gs.Get(r, "session")
			if err != nil || sess.IsNew {
				w.WriteHeader(401)
				return
			}
			if exp, _ := sess.Values["expiry"].(time.Time); !time.Now().Before(exp) {
				w.WriteHeader(401)
				return
			}
			noop.ServeHTTP(w, r)
		})
		serve(b, h, hotRequest(gc.Name+"="+gc.Value))
	})
	// The Redis servers start once, outside the sub-benchmarks (which run
	// several times), and only when one of them is selected. Beside each
	// Require over Redis, the baseline: a handler that sends only the
	// command Require sends, to the same key (the round trip itself).
	redisCases := func(name string, top testenv.Topology) {
		var rc redis.UniversalClient
		var rst *redisstore.Store
		var rauth *middleware.Auth
		var rcookie string
		cmds := 0
		setup := func(sb *testing.B) {
			if rst != nil {
				return
			}
			rc = top.Start(b).Client()
			b.Cleanup(func() { rc.Close() })
			var err error
			if rst, err = redisstore.New(redisstore.Config{Client: rc, Keys: [][]byte{key}}); err != nil {
				sb.Fatal(err)
			}
			rauth = hotAuth(sb, rst) // binds the store to the app before it seals the session
			rcookie = cookieHeader(sb, rst, testenv.RealisticSession())
			rc.AddHook(countHook{&cmds})
		}
		b.Run(name+"-command-only", func(sb *testing.B) {
			setup(sb)
			k := redisKey("s", sessionIDOf(sb, rcookie))
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := rc.HMGet(r.Context(), k, "d", "v", "t").Err(); err != nil {
					w.WriteHeader(500)
				}
			})
			serve(sb, h, hotRequest(rcookie))
		})
		b.Run(name, func(sb *testing.B) {
			setup(sb)
			cmds = 0
			serve(sb, rauth.Require(noop), hotRequest(rcookie))
			sb.ReportMetric(float64(cmds)/float64(sb.N), "redis-cmds/op")
		})
	}
	// Cookie sessions with a shared deny list in Redis: its round trip,
	// without and with Shared Signals' marks (one round trip either way).
	var drc redis.UniversalClient
	dcmds := 0
	denyCase := func(name string, signals bool) {
		b.Run(name, func(sb *testing.B) {
			if drc == nil {
				drc = testenv.SingleRedis.Start(b).Client()
				b.Cleanup(func() { drc.Close() })
				drc.AddHook(countHook{&dcmds})
			}
			st, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{key}})
			var a *middleware.Auth
			if signals {
				a = signalsAuth(sb, st, &redisstore.DenyList{Client: drc})
			} else {
				a = hotAuthDeny(sb, st, &redisstore.DenyList{Client: drc})
			}
			cookie := cookieHeader(sb, st, testenv.RealisticSession())
			dcmds = 0
			serve(sb, a.Require(noop), hotRequest(cookie))
			sb.ReportMetric(float64(dcmds)/float64(sb.N), "redis-round-trips/op")
		})
	}
	denyCase("cookie-redis-denylist", false)
	denyCase("cookie-redis-denylist-shared-signals", true)
	redisCases("redis", testenv.SingleRedis)
	redisCases("redis-cluster", testenv.RedisCluster)
}

// BenchmarkDueCheck is the refresh check on the hot path when nothing is
// due: a time comparison.
func BenchmarkDueCheck(b *testing.B) {
	now, issued, exp := time.Now(), time.Now(), time.Now().Add(time.Hour)
	b.ReportAllocs()
	due := false
	for range b.N {
		due = due != lifetime.Due(now, issued, exp, time.Minute)
	}
	_ = due
}

// BenchmarkProxy: a call through Auth.Proxy (session, anti-forgery check,
// token, header allow-list) against a bare httputil.ReverseProxy to the same
// loopback backend, in the same run.
func BenchmarkProxy(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"ok":true}`)) }))
	defer backend.Close()
	target, _ := url.Parse(backend.URL)
	store, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
	a := hotAuth(b, store, middleware.API{Name: "api", BaseURL: backend.URL + "/"})
	cookie := cookieHeader(b, store, testenv.RealisticSession())
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"bare-reverseproxy", http.StripPrefix("/bff", httputil.NewSingleHostReverseProxy(target))},
		{"confidant-proxy", http.StripPrefix("/bff", a.Proxy("api"))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := hotRequest(cookie)
				req.URL.Path = "/bff/items"
				req.Header.Set(middleware.AntiForgeryHeader, "1")
				rec := httptest.NewRecorder()
				bc.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkAPICall: a call through HTTPClient with a Bearer token against
// the same call with a DPoP-bound token (a proof signed per call), to the
// same loopback backend, in the same run.
func BenchmarkAPICall(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"ok":true}`)) }))
	defer backend.Close()
	for _, metricsOn := range []bool{false, true} {
		apiCalls(b, backend, metricsOn)
	}
}

// apiCalls runs BenchmarkAPICall's cases, with package metrics on or off
// (then named bearer-metrics, dpop-metrics).
func apiCalls(b *testing.B, backend *httptest.Server, metricsOn bool) {
	suffix := ""
	var hook event.Hook
	if metricsOn {
		suffix, hook = "-metrics", withMetrics(b)
	}
	store, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
	a := hotAuthWith(b, store, hook, middleware.API{Name: "api", BaseURL: backend.URL + "/"})
	bearer := testenv.RealisticSession()
	bound := testenv.RealisticSession()
	bound.TokenType, bound.DPoPKey = "DPoP", dpop.Marshal(dpop.NewKey())
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := a.HTTPClient(r).Get(backend.URL + "/items")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}))

	// The floor of a DPoP call: a bearer call plus the one ES256
	// signature a proof needs, made beside it.
	key := dpop.NewKey()
	digest := sha256.Sum256([]byte("a proof's header and claims"))
	signed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ecdsa.Sign(rand.Reader, key, digest[:])
		h.ServeHTTP(w, r)
	})
	for _, bc := range []struct {
		name string
		s    *session.Session
		h    http.Handler
	}{{"bearer", bearer, h}, {"bearer-plus-signature", bearer, signed}, {"dpop", bound, h}} {
		if metricsOn && bc.name == "bearer-plus-signature" {
			continue
		}
		cookie := cookieHeader(b, store, bc.s)
		b.Run(bc.name+suffix, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := unsampled(hotRequest(cookie))
				req.Header.Set("Accept", "application/json")
				bc.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkAPICallTLS: an API call over TLS with a bearer token, and with
// a certificate-bound token over mutual TLS (the client's certificate
// presented, Config.ClientCertificate). The connection is reused, so the
// certificate costs one handshake, not one per call: the target is within
// 1.1× of the bearer call. The API answers whether it saw the certificate,
// and the benchmark fails when that is not as the case wants.
func BenchmarkAPICallTLS(b *testing.B) {
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Client-Certificates", strconv.Itoa(len(r.TLS.PeerCertificates)))
		w.Write([]byte(`{"ok":true}`))
	}))
	backend.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	backend.StartTLS()
	defer backend.Close()
	cert := certop.SelfSigned(b, "app")
	for _, bc := range []struct {
		name string
		cert *tls.Certificate
	}{{"bearer", nil}, {"mtls", &cert}} {
		prov, _ := client.NewProvider("p", client.Endpoints{AuthURL: "https://p.example/authorize", TokenURL: "https://p.example/token"})
		c, err := client.New(client.Config{Provider: prov, ClientID: "c", ClientSecret: "s", RedirectURL: "https://app.example/auth/callback", ClientCertificate: bc.cert})
		if err != nil {
			b.Fatal(err)
		}
		store, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
		a, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, APITransport: backend.Client().Transport.(*http.Transport).Clone(),
			APIs: []middleware.API{{Name: "api", BaseURL: backend.URL + "/"}}})
		if err != nil {
			b.Fatal(err)
		}
		cookie := cookieHeader(b, store, testenv.RealisticSession())
		want := map[bool]string{false: "0", true: "1"}[bc.cert != nil]
		h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			resp, err := a.HTTPClient(r).Get(backend.URL + "/items")
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if got := resp.Header.Get("X-Client-Certificates"); got != want {
				http.Error(w, "the API saw "+got+" client certificates, want "+want, http.StatusInternalServerError)
			}
		}))

		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := unsampled(hotRequest(cookie))
				req.Header.Set("Accept", "application/json")
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkRedirect is the answer to a browser without a session: the
// redirect to the provider, with its state, nonce and PKCE verifier sealed
// in a flow cookie. "bare" is a handler that answers the same 302 with a
// fixed Location, nothing else.
func BenchmarkRedirect(b *testing.B) {
	store, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
	a := hotAuth(b, store)
	var bare http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://p.example/authorize?client_id=c", http.StatusFound)
	})
	nav := func() *http.Request {
		req := httptest.NewRequest("GET", "http://localhost/account", nil)
		req.Header.Set("Accept", "text/html")
		return req
	}
	run := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		req := nav()
		ctx := req.Context()
		for range b.N {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req.WithContext(ctx))
			if rec.Code != http.StatusFound {
				b.Fatalf("status %d", rec.Code)
			}
		}
	}
	b.Run("bare", func(b *testing.B) { run(b, bare) })
	b.Run("require", func(b *testing.B) {
		run(b, a.Require(http.NotFoundHandler()))
	})
}
