package middleware_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// newAuth builds an Auth on a provider given by hand (no request is sent
// to it) and a cookie store, for tests that need no sign-in.
func newAuth(cfg middleware.Config) (*middleware.Auth, *session.CookieStore) {
	prov, err := client.NewProvider("example", client.Endpoints{Issuer: "https://id.example.com/",
		AuthURL: "https://id.example.com/authorize", TokenURL: "https://id.example.com/oauth/token",
		JWKSURL: "https://id.example.com/.well-known/jwks.json"})
	if err != nil {
		panic(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "my-app", ClientSecret: "s3cret",
		RedirectURL: "http://localhost:8080/auth/callback"})
	if err != nil {
		panic(err)
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{session.NewKey()}})
	if err != nil {
		panic(err)
	}
	cfg.Clients, cfg.Store = []*client.Client{c}, store
	auth, err := middleware.New(cfg)
	if err != nil {
		panic(err)
	}
	return auth, store
}

// signedIn returns a request to target that carries s, saved in store (a
// session with Values, Scope or a token of its own; confidanttest.SignedIn
// mints one from a User).
func signedIn(store session.Store, target string, s *session.Session) *http.Request {
	rec := httptest.NewRecorder()
	if err := store.Save(rec, httptest.NewRequest("GET", target, nil), s); err != nil {
		panic(err)
	}
	r := httptest.NewRequest("GET", target, nil)
	for _, c := range rec.Result().Cookies() {
		r.AddCookie(c)
	}
	return r
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func cookieJar() (http.CookieJar, error) { return cookiejar.New(nil) }

type recorder struct{ *httptest.ResponseRecorder }

func newRecorder() recorder { return recorder{httptest.NewRecorder()} }

func (r recorder) cookie(name string) string {
	for _, c := range r.Result().Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

func httptestServer(t interface{ Cleanup(func()) }, h http.Handler) *httptest.Server {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func newStore() (*session.CookieStore, error) {
	return session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
}

// relay is a route of the app (behind Require) that GETs target with the
// user's token (HTTPClient) and answers with the API's status and body.
func relay(a *middleware.Auth, target string) http.Handler {
	return a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := a.HTTPClient(r).Get(target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))

}

// logTo is a logger that writes to s and, for the secret scan, to the
// collector.
func logTo(s *testenv.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(testenv.Collected(s), nil))
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// recordedEnv starts an environment whose failure reasons go to rec and
// whose log lines go to logs; o adjusts it further.
func recordedEnv(t *testing.T, o testenv.Options) (*testenv.Env, *recordingErrors, *testenv.Buffer) {
	t.Helper()
	rec, logs := &recordingErrors{}, &testenv.Buffer{}
	more := o.Middleware
	o.Middleware = func(c *middleware.Config) {
		rec.install(c)
		c.Logger = logTo(logs)
		if more != nil {
			more(c)
		}
	}
	return testenv.New(t, o), rec, logs
}

// expiringEnv starts an environment on clock whose sessions have no
// refresh token (no offline_access): they end when the access token does,
// unless keep (KeepExpiredSessions).
func expiringEnv(t *testing.T, clock *testenv.Clock, keep bool) *testenv.Env {
	t.Helper()
	return testenv.New(t, testenv.Options{
		Client:     func(c *client.Config) { c.Now = clock.Now; c.Scopes = []string{"openid", "profile", "email"} },
		Middleware: func(c *middleware.Config) { c.Now = clock.Now; c.KeepExpiredSessions = keep },
	})
}
