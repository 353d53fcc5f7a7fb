package middleware_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// tokenSink is a server that records every Authorization header it gets.
type tokenSink struct {
	mu    sync.Mutex
	auths []string
	srv   *httptest.Server
}

func newTokenSink(t *testing.T, tls bool) *tokenSink {
	s := &tokenSink{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auths = append(s.auths, r.Header.Get("Authorization"))
		s.mu.Unlock()
		io.WriteString(w, "sink")
	})
	if tls {
		s.srv = httptest.NewTLSServer(h)
	} else {
		s.srv = httptest.NewServer(h)
	}
	t.Cleanup(s.srv.Close)
	return s
}

func (s *tokenSink) tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, a := range s.auths {
		if a != "" {
			out = append(out, a)
		}
	}
	return out
}

func (s *tokenSink) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.auths)
}

// callAs signs a browser in and runs call inside a Require'd handler with
// that user's request, returning call's error.
func callAs(t *testing.T, env *testenv.Env, call func(r *http.Request) error) error {
	t.Helper()
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	var got error
	h := env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = call(r)
	}))
	req, _ := http.NewRequest("GET", env.App.URL+"/x", nil)
	testenv.AddCookies(req, hc.Jar.Cookies(mustURL(env.App.URL)))
	h.ServeHTTP(httptest.NewRecorder(), req)
	return got
}

// TestBearerTokenGoesOnlyToConfiguredAPIs pins the most severe finding of
// the security review: the bearer client gave the access token to any host,
// following redirects and over plain http.
func TestBearerTokenGoesOnlyToConfiguredAPIs(t *testing.T) {
	sink := newTokenSink(t, false)
	tlsAPI := httptest.NewUnstartedServer(nil)
	tlsAPI.StartTLS()
	t.Cleanup(tlsAPI.Close)
	var redirectTo string
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/away":
			http.Redirect(w, r, redirectTo, http.StatusFound)
		case "/api/here":
			http.Redirect(w, r, "/api/final", http.StatusFound)
		default:
			io.WriteString(w, "final:"+r.Header.Get("Authorization")[:7])
		}
	}))
	t.Cleanup(redirecting.Close)
	tlsAPI.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Down from https to plain http on the same host.
		http.Redirect(w, r, sink.srv.URL+"/downgraded", http.StatusFound)
	})

	env := testenv.New(t, testenv.Options{Middleware: func(c *middleware.Config) {
		c.APIs = append(c.APIs,
			middleware.API{Name: "redirecting", BaseURL: redirecting.URL + "/api/"},
			middleware.API{Name: "tls", BaseURL: tlsAPI.URL})
		c.APITransport = tlsAPI.Client().Transport
	}})

	cases := []struct {
		name string
		url  func() string
		want error
	}{
		{"another host", func() string { return sink.srv.URL + "/steal" }, fail.APINotAllowed},
		{"a configured origin, path outside BaseURL", func() string { return redirecting.URL + "/admin" }, fail.APINotAllowed},
		{"dot segments out of BaseURL", func() string { return redirecting.URL + "/api/../admin" }, fail.APINotAllowed},
		{"user info in URL", func() string { return strings.Replace(env.APISrv.URL, "http://", "http://u:p@", 1) }, fail.APINotAllowed},
		{"redirect to another host", func() string {
			redirectTo = sink.srv.URL + "/logged"
			return redirecting.URL + "/api/away"
		}, fail.CrossOriginRedirect},
		{"redirect from https to http", func() string { return tlsAPI.URL + "/x" }, fail.CrossOriginRedirect},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := callAs(t, env, func(r *http.Request) error {
				resp, err := env.Auth.HTTPClient(r).Get(tc.url())
				if err == nil {
					resp.Body.Close()
				}
				return err
			})
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if toks := sink.tokens(); len(toks) != 0 {
				t.Fatalf("the other host received %d Authorization headers (first %d bytes)", len(toks), len(toks[0]))
			}
		})
	}
	if n := sink.requests(); n != 0 {
		t.Errorf("the other host received %d requests, want 0", n)
	}

	t.Run("redirect within the API's origin is followed with the token", func(t *testing.T) {
		var body string
		err := callAs(t, env, func(r *http.Request) error {
			resp, err := env.Auth.HTTPClient(r).Get(redirecting.URL + "/api/here")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			body = string(b)
			return nil
		})
		if err != nil || body != "final:Bearer " {
			t.Errorf("got %q, %v; want the final page with a bearer token", body, err)
		}
	})
}

// TestBearerAPIConfig: an API that would send the token in clear, or is
// misnamed, is refused at New.
func TestBearerAPIConfig(t *testing.T) {
	store, _ := newStore()
	env := testenv.New(t, testenv.Options{})
	cases := []struct {
		name string
		apis []middleware.API
	}{
		{"plain http to a public host", []middleware.API{{Name: "a", BaseURL: "http://api.example.com/"}}},
		{"no name", []middleware.API{{BaseURL: "https://api.example.com/"}}},
		{"duplicate name", []middleware.API{{Name: "a", BaseURL: "https://a.example.com/"}, {Name: "a", BaseURL: "https://b.example.com/"}}},
		{"relative", []middleware.API{{Name: "a", BaseURL: "/api"}}},
		{"other scheme", []middleware.API{{Name: "a", BaseURL: "ftp://api.example.com/"}}},
		{"unknown provider", []middleware.API{{Name: "a", BaseURL: "https://api.example.com/", Provider: "nope"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := middleware.New(middleware.Config{Clients: []*client.Client{env.Client}, Store: store, APIs: tc.apis}); err == nil {
				t.Error("New accepted it")
			}
		})
	}
	for _, ok := range []string{"https://api.example.com", "http://localhost:9/", "http://127.0.0.1:8080/v1", "http://[::1]:1/"} {
		if _, err := middleware.New(middleware.Config{Clients: []*client.Client{env.Client}, Store: store, APIs: []middleware.API{{Name: "a", BaseURL: ok}}}); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
}

// TestBearerCallEndsWithRequest: a call made with HTTPClient(r) is
// cancelled when r ends, and the client has a default timeout.
func TestBearerCallEndsWithRequest(t *testing.T) {
	cancelled := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(20 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	env := testenv.New(t, testenv.Options{Middleware: func(c *middleware.Config) {
		c.APIs = append(c.APIs, middleware.API{Name: "slow", BaseURL: slow.URL})
	}})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	var timeout time.Duration
	errc := make(chan error, 1)
	h := env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := env.Auth.HTTPClient(r)
		timeout = c.Timeout
		_, err := c.Get(slow.URL) // no context of its own
		errc <- err
	}))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", env.App.URL+"/x", nil)
	testenv.AddCookies(req, hc.Jar.Cookies(mustURL(env.App.URL)))
	go func() {
		time.Sleep(200 * time.Millisecond)
		cancel() // the user went away
	}()
	h.ServeHTTP(httptest.NewRecorder(), req)
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("API call error %v, want context.Canceled", err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Error("the API never saw the call cancelled")
	}
	if timeout <= 0 {
		t.Errorf("HTTPClient has no timeout")
	}
}
