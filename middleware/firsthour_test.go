package middleware_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// firstApp is an app wired as the README's quick start wires one, against
// confidanttest's provider, with cfg adjusted and routes added by mount
// (which gets the Auth; /auth/ is mounted only if mount does it).
func firstApp(t *testing.T, op *confidanttest.Provider, secret func(string) string, adjust func(*middleware.Config), mount func(*http.ServeMux, *middleware.Auth)) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	id, sec := op.Register(appURL + "/auth/callback")
	if secret != nil {
		sec = secret(sec)
	}
	prov, err := client.Discover(t.Context(), op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: id, ClientSecret: sec, RedirectURL: appURL + "/auth/callback",
		Scopes: []string{"openid", "profile", "email", "offline_access"}})
	if err != nil {
		t.Fatal(err)
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{session.NewKey()}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := middleware.Config{Clients: []*client.Client{c}, Store: store}
	if adjust != nil {
		adjust(&cfg)
	}
	auth, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mount(mux, auth)
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return appURL
}

func account(auth *middleware.Auth) http.Handler {
	return auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+middleware.UserFrom(r.Context()).Subject)
	}))

}

// logged is where captureDefaultLog's logger writes.
type logged = testenv.Buffer

// ours keeps the lines confidant logged (the in-process provider logs
// to slog's default logger too).
func ours(log string) string {
	var b strings.Builder
	for line := range strings.Lines(log) {
		if strings.Contains(line, `msg="confidant:`) || strings.Contains(line, "msg=confidant:") {
			b.WriteString(line)
		}
	}
	return b.String()
}

func captureDefaultLog(t *testing.T) *logged {
	l := &logged{}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return l
}

// TestAuthNotMounted: an app that forgot mux.Handle("/auth/", auth) gets,
// at the first sign-in, a page and a log line that name the fix, instead
// of a trip to the provider and back to a bare 404; a catch-all route that
// answers the callback is logged once; a mounted Auth signs in.
func TestAuthNotMounted(t *testing.T) {
	log := captureDefaultLog(t)
	op := confidanttest.NewProvider(t, confidanttest.Options{})
	browser := confidanttest.Browser()

	appURL := firstApp(t, op, nil, nil, func(mux *http.ServeMux, auth *middleware.Auth) { mux.Handle("/account", account(auth)) })
	resp, body := get(t, browser, appURL+"/account")
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, `mux.Handle(&#34;/auth/&#34;, auth)`) {
		t.Errorf("not mounted: %d %s, want 500 naming the fix", resp.StatusCode, body)
	}
	if !strings.Contains(log.String(), `mux.Handle(\"/auth/\", auth)`) {
		t.Errorf("not mounted: the log does not name the fix: %s", log)
	}
	if op.Requests(confidanttest.Authorize) != 0 {
		t.Error("the browser was sent to the provider")
	}

	appURL = firstApp(t, op, nil, nil, func(mux *http.ServeMux, auth *middleware.Auth) {
		mux.Handle("/account", account(auth))
		mux.Handle("/", http.NotFoundHandler()) // e.g. a file server
	})
	for range 2 {
		if resp, _ := get(t, confidanttest.Browser(), appURL+"/account"); resp.StatusCode != http.StatusFound {
			t.Errorf("a catch-all route: %d, want the redirect to the provider", resp.StatusCode)
		}
	}
	if n := strings.Count(log.String(), `answered by the route \"/\"`); n != 1 {
		t.Errorf("a catch-all route: logged %d times, want once: %s", n, log)
	}

	appURL = firstApp(t, op, nil, nil, func(mux *http.ServeMux, auth *middleware.Auth) {
		mux.Handle("/auth/", auth)
		mux.Handle("/account", account(auth))
	})
	if resp, err := op.SignIn(browser, appURL+"/account", confidanttest.User{Subject: "test-user"}); err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("mounted: %v %v", resp, err)
	}
	if resp, body := get(t, browser, appURL+"/account"); resp.StatusCode != http.StatusOK || body != "hello test-user" {
		t.Errorf("mounted: %d %s", resp.StatusCode, body)
	}
}

// TestFailuresLoggedByDefault: an app that sets no Logger still logs a
// failure (a wrong client secret) to slog's default logger, without the
// secret; an anonymous API call is not a failure worth a line; a Logger
// that discards is obeyed.
func TestFailuresLoggedByDefault(t *testing.T) {
	log := captureDefaultLog(t)
	op := confidanttest.NewProvider(t, confidanttest.Options{})
	wrong := func(string) string { return "wrong-client-secret" }
	mount := func(mux *http.ServeMux, auth *middleware.Auth) {
		mux.Handle("/auth/", auth)
		mux.Handle("/account", account(auth))
	}
	appURL := firstApp(t, op, wrong, nil, mount)
	resp, err := op.SignIn(confidanttest.Browser(), appURL+"/account", confidanttest.User{Subject: "test-user"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode < 400 {
		t.Fatalf("a wrong secret signed in: %d", resp.StatusCode)
	}
	out := ours(log.String())
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "invalid_client") {
		t.Errorf("the refused code exchange is not logged: %q", out)
	}
	if strings.Contains(out, "wrong-client-secret") {
		t.Error("the log holds the client secret")
	}
	before := len(log.String())
	req, _ := http.NewRequest("GET", appURL+"/account", nil)
	req.Header.Set("Accept", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous API call: %v %v", resp, err)
	}
	if extra := ours(log.String()[before:]); extra != "" {
		t.Errorf("an anonymous API call was logged: %q", extra)
	}

	before = len(log.String())
	appURL = firstApp(t, op, wrong, func(cfg *middleware.Config) { cfg.Logger = slog.New(slog.DiscardHandler) }, mount)
	if _, err := op.SignIn(confidanttest.Browser(), appURL+"/account", confidanttest.User{Subject: "test-user"}); err != nil {
		t.Fatal(err)
	}
	if extra := ours(log.String()[before:]); extra != "" {
		t.Errorf("with a discarding Logger, the default logger got %q", extra)
	}
}

// TestLoginStartedNamesRedirectURI: the login.started event (and so the
// log line) names the redirect_uri sent, the first thing to compare with
// the provider's registration when it refuses it.
func TestLoginStartedNamesRedirectURI(t *testing.T) {
	op := confidanttest.NewProvider(t, confidanttest.Options{})
	var mu sync.Mutex
	var got []string
	appURL := firstApp(t, op, nil, func(cfg *middleware.Config) {
		cfg.OnEvent = func(_ context.Context, e event.Event) {
			if e.Kind != event.LoginStarted {
				return
			}
			for _, a := range e.Attrs {
				if a.Key == "redirect_uri" {
					mu.Lock()
					got = append(got, a.Value.String())
					mu.Unlock()
				}
			}
		}
	}, func(mux *http.ServeMux, auth *middleware.Auth) {
		mux.Handle("/auth/", auth)
		mux.Handle("/account", account(auth))
	})
	get(t, confidanttest.Browser(), appURL+"/account")
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != appURL+"/auth/callback" {
		t.Errorf("login.started redirect_uri: %q, want %q", got, appURL+"/auth/callback")
	}
}

// TestHTTPClientOutsideRequire: HTTPClient(r) in a handler that Require or
// Optional does not wrap fails with an error that says to wrap it, not
// "not signed in".
func TestHTTPClientOutsideRequire(t *testing.T) {
	op := confidanttest.NewProvider(t, confidanttest.Options{})
	browser := confidanttest.Browser()
	appURL := firstApp(t, op, nil, nil, func(mux *http.ServeMux, auth *middleware.Auth) {
		mux.Handle("/auth/", auth)
		mux.Handle("/account", account(auth))
		mux.HandleFunc("/unwrapped", func(w http.ResponseWriter, r *http.Request) {
			_, err := auth.HTTPClient(r).Get("https://api.example.com/")
			if errors.Is(err, fail.MiddlewareConfig) && !errors.Is(err, middleware.ErrNotSignedIn) && strings.Contains(err.Error(), "auth.Require") {
				io.WriteString(w, "named")
				return
			}
			http.Error(w, "err: "+err.Error(), http.StatusInternalServerError)
		})
	})
	if _, err := op.SignIn(browser, appURL+"/account", confidanttest.User{Subject: "test-user"}); err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, browser, appURL+"/unwrapped"); body != "named" {
		t.Errorf("signed in, unwrapped handler: %d %s", resp.StatusCode, body)
	}
}
