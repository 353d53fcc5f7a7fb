package routers

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

var (
	alice = confidanttest.User{Subject: "alice", Name: "Alice", Email: "alice@example.com",
		Claims: map[string]any{"groups": []string{"admins"}}}
	bob = confidanttest.User{Subject: "bob", Name: "Bob", Email: "bob@example.com"}
)

const tokenLifetime = 5 * time.Minute

var (
	op    *confidanttest.Provider
	clock = confidanttest.NewClock()
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	var err error
	op, err = confidanttest.Start(confidanttest.Options{Users: []confidanttest.User{alice, bob}, Clock: clock, AccessTokenLifetime: tokenLifetime})
	if err != nil {
		panic(err)
	}
	code := m.Run()
	op.Close()
	os.Exit(code)
}

// ordersAPI is a resource server: it asks the provider's userinfo endpoint
// whether a token is good, and refuses the tokens the test names, as an API
// that revoked them would (the SDK then refreshes during the handler and
// calls again).
type ordersAPI struct {
	*httptest.Server
	userinfo string
	mu       sync.Mutex
	refused  map[string]bool
	seen     []string
}

func newOrdersAPI(t *testing.T) *ordersAPI {
	var disc struct {
		UserInfo string `json:"userinfo_endpoint"`
	}
	resp, err := http.Get(op.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&disc); err != nil || disc.UserInfo == "" {
		t.Fatalf("discovery: %v", err)
	}
	api := &ordersAPI{userinfo: disc.UserInfo, refused: map[string]bool{}}
	api.Server = httptest.NewServer(http.HandlerFunc(api.serve))
	t.Cleanup(api.Close)
	return api
}

func (api *ordersAPI) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/public" { // what the apps relay through httputil.ReverseProxy
		if r.URL.Query().Has("hints") {
			w.Header().Set("Link", "</app.css>; rel=preload; as=style")
			w.WriteHeader(http.StatusEarlyHints)
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		io.WriteString(w, "public")
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	api.mu.Lock()
	api.seen = append(api.seen, tok)
	refused := api.refused[tok]
	api.mu.Unlock()
	if !ok || refused {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	req, _ := http.NewRequestWithContext(r.Context(), "GET", api.userinfo, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	var who struct {
		Sub string `json:"sub"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&who) != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	io.WriteString(w, "orders of "+who.Sub)
}

func (api *ordersAPI) refuse(tok string) {
	api.mu.Lock()
	defer api.mu.Unlock()
	api.refused[tok] = true
}

func (api *ordersAPI) last() string {
	api.mu.Lock()
	defer api.mu.Unlock()
	if len(api.seen) == 0 {
		return ""
	}
	return api.seen[len(api.seen)-1]
}

// app is one router's app behind a server whose instance can be restarted:
// a new Auth with the same configuration and nothing in memory.
type app struct {
	*httptest.Server
	handler atomic.Pointer[http.Handler]
	restart func()
}

func start(t *testing.T, build func(*middleware.Auth, string) http.Handler, api *ordersAPI) *app {
	a := &app{}
	a.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*a.handler.Load()).ServeHTTP(w, r)
	}))
	base := "http://" + a.Listener.Addr().String()
	id, secret := op.Register(base + "/auth/callback")
	cfg := middleware.Config{Issuer: op.Issuer, ClientID: id, ClientSecret: secret, AppURL: base,
		Keys: [][]byte{session.NewKey()}, Now: clock.Now,
		APIs: []middleware.API{{Name: "orders", BaseURL: api.URL}}}
	a.restart = func() {
		auth, err := middleware.Setup(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		h := build(auth, api.URL)
		a.handler.Store(&h)
	}
	a.restart()
	a.Start()
	t.Cleanup(a.Close)
	return a
}

func do(t *testing.T, browser *http.Client, method, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	checkNoStore(t, method+" "+url, resp)
	return resp, string(b)
}

// checkNoStore fails when resp carries a cookie and may be stored by a
// cache: every response of every test goes through it.
func checkNoStore(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	if len(resp.Header.Values("Set-Cookie")) == 0 {
		return
	}
	if cc := resp.Header.Values("Cache-Control"); len(cc) != 1 || cc[0] != "no-store" {
		t.Errorf("%s: %d, a response with Set-Cookie has Cache-Control %q, want exactly no-store", what, resp.StatusCode, cc)
	}
	vary := false
	for _, v := range resp.Header.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			vary = vary || strings.EqualFold(strings.TrimSpace(f), "Cookie")
		}
	}
	if !vary {
		t.Errorf("%s: %d, a response with Set-Cookie has Vary %q, want Cookie", what, resp.StatusCode, resp.Header.Values("Vary"))
	}
}

// TestNoStoreOnEveryRouter (issue 34, finding 1): on gin, echo and chi, a
// page the app marks cacheable (Cache-Control: public), a page relayed
// through httputil.ReverseProxy (with and without 103 Early Hints first),
// carries the session the SDK changed (a refresh before the handler, a
// refresh while it runs) with Cache-Control: no-store and Vary: Cookie
// (checked by do on every response), and the cookie reaches the browser:
// an instance restarted afterwards carries on with it alone. Before the
// fix, gin's and echo's pages went out "public, max-age=600" with the
// sealed session, and gin's relayed page after a 103 lost the cookie.
func TestNoStoreOnEveryRouter(t *testing.T) {
	for name, build := range map[string]func(*middleware.Auth, string) http.Handler{
		"gin": GinApp, "echo": EchoApp, "chi": ChiApp,
	} {
		t.Run(name, func(t *testing.T) {
			api := newOrdersAPI(t)
			srv := start(t, build, api)
			reuses := op.RefreshTokenReuses()
			browser := confidanttest.Browser()
			if code, body := get(t, browser, srv.URL+"/home"); code != http.StatusOK || body != "home" {
				t.Fatalf("home, anonymous: %d %q", code, body)
			}
			if _, err := op.SignIn(browser, srv.URL+"/account", alice); err != nil {
				t.Fatal(err)
			}
			for _, page := range []struct{ path, body string }{
				{"/home", "home of Alice"},
				{"/proxied", "public"},
				{"/proxied?hints", "public"},
			} {
				clock.Add(tokenLifetime) // a refresh before the handler
				before := op.Requests(confidanttest.Token)
				resp, body := do(t, browser, "GET", srv.URL+page.path, nil)
				if resp.StatusCode != http.StatusOK || body != page.body {
					t.Fatalf("%s: %d %q", page.path, resp.StatusCode, body)
				}
				if n := op.Requests(confidanttest.Token) - before; n != 1 {
					t.Errorf("%s: %d token requests, want 1 refresh", page.path, n)
				}
				if len(resp.Header.Values("Set-Cookie")) == 0 {
					t.Errorf("%s: the refreshed session sent no Set-Cookie", page.path)
				}
				srv.restart() // only the cookie the browser was sent carries on
			}
			// A refresh while the handler runs: the API refuses the token.
			get(t, browser, srv.URL+"/orders")
			api.refuse(api.last())
			resp, body := do(t, browser, "GET", srv.URL+"/home?orders", nil)
			if resp.StatusCode != http.StatusOK || body != "home of Alice, orders 200 orders of alice" {
				t.Fatalf("home?orders: %d %q", resp.StatusCode, body)
			}
			if len(resp.Header.Values("Set-Cookie")) == 0 {
				t.Error("home?orders: the session refreshed during the handler sent no Set-Cookie")
			}
			srv.restart()
			if code, body := get(t, browser, srv.URL+"/orders"); code != http.StatusOK || body != "orders of alice" {
				t.Errorf("orders after a restart: %d %q", code, body)
			}
			if n := op.RefreshTokenReuses() - reuses; n != 0 {
				t.Errorf("%d rotated-away refresh tokens presented", n)
			}
			do(t, browser, "POST", srv.URL+"/auth/logout", http.Header{"Origin": {srv.URL}})
		})
	}
}

func get(t *testing.T, browser *http.Client, url string) (int, string) {
	t.Helper()
	resp, body := do(t, browser, "GET", url, nil)
	return resp.StatusCode, body
}

// TestRouters: on gin, echo and chi, wired as the README shows: sign-in,
// a requirement answering 403, a refresh made during the handler (the API
// refused the token) and one made before it (the token expired) each
// reaching the browser, so that an instance with nothing in memory (a
// restart) carries on with the cookie alone, an API call without a
// session getting 401, and sign-out.
func TestRouters(t *testing.T) {
	for name, build := range map[string]func(*middleware.Auth, string) http.Handler{
		"gin": GinApp, "echo": EchoApp, "chi": ChiApp,
	} {
		t.Run(name, func(t *testing.T) {
			api := newOrdersAPI(t)
			srv := start(t, build, api)
			reuses := op.RefreshTokenReuses()
			browser := confidanttest.Browser()

			if code, _ := get(t, browser, srv.URL+"/account"); code != http.StatusFound {
				t.Fatalf("before sign-in: %d, want a redirect to the provider", code)
			}
			resp, err := op.SignIn(browser, srv.URL+"/account", alice)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/account" {
				t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if code, body := get(t, browser, srv.URL+"/account"); code != http.StatusOK || body != "account of Alice" {
				t.Fatalf("account: %d %q", code, body)
			}
			if code, body := get(t, browser, srv.URL+"/admin"); code != http.StatusOK || body != "admin: Alice" {
				t.Errorf("admin as an admin: %d %q", code, body)
			}
			bobs := confidanttest.Browser()
			if _, err := op.SignIn(bobs, srv.URL+"/account", bob); err != nil {
				t.Fatal(err)
			}
			if code, _ := get(t, bobs, srv.URL+"/admin"); code != http.StatusForbidden {
				t.Errorf("admin as bob: %d, want 403", code)
			}

			// A refresh during the handler: the API refuses the token the
			// session holds, the SDK refreshes and calls again.
			if code, body := get(t, browser, srv.URL+"/orders"); code != http.StatusOK || body != "orders of alice" {
				t.Fatalf("orders: %d %q", code, body)
			}
			api.refuse(api.last())
			before := op.Requests(confidanttest.Token)
			resp, body := do(t, browser, "GET", srv.URL+"/orders", nil)
			if resp.StatusCode != http.StatusOK || body != "orders of alice" {
				t.Fatalf("orders after the API refused the token: %d %q", resp.StatusCode, body)
			}
			if n := op.Requests(confidanttest.Token) - before; n != 1 {
				t.Fatalf("%d token requests during the handler, want 1 refresh", n)
			}
			if len(resp.Header.Values("Set-Cookie")) == 0 {
				t.Error("the refresh made during the handler sent no Set-Cookie")
			}
			srv.restart()
			if code, body := get(t, browser, srv.URL+"/orders"); code != http.StatusOK || body != "orders of alice" {
				t.Errorf("orders after a restart: %d %q", code, body)
			}

			// Refreshes before the handler, each followed by a restart:
			// only the cookie the browser was sent can carry on.
			for i := range 2 {
				clock.Add(tokenLifetime)
				before := op.Requests(confidanttest.Token)
				if code, body := get(t, browser, srv.URL+"/account"); code != http.StatusOK || body != "account of Alice" {
					t.Fatalf("round %d, account past the token's expiry: %d %q", i, code, body)
				}
				if n := op.Requests(confidanttest.Token) - before; n != 1 {
					t.Errorf("round %d: %d token requests, want 1 refresh", i, n)
				}
				srv.restart()
			}
			if code, _ := get(t, browser, srv.URL+"/account"); code != http.StatusOK {
				t.Errorf("account after the last restart: %d", code)
			}
			if n := op.RefreshTokenReuses() - reuses; n != 0 {
				t.Errorf("%d rotated-away refresh tokens presented", n)
			}

			// An API call without a session.
			resp, _ = do(t, confidanttest.Browser(), "GET", srv.URL+"/orders", http.Header{"Accept": {"application/json"}, "Sec-Fetch-Mode": {"cors"}})
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("an API call without a session: %d %s, want 401 JSON", resp.StatusCode, resp.Header.Get("Content-Type"))
			}

			// Sign-out: the session ends here and at the provider.
			resp, _ = do(t, browser, "POST", srv.URL+"/auth/logout", http.Header{"Origin": {srv.URL}})
			if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), op.Issuer) {
				t.Errorf("sign-out: %d to %q, want the provider's end_session", resp.StatusCode, resp.Header.Get("Location"))
			}
			if code, _ := get(t, browser, srv.URL+"/account"); code != http.StatusFound {
				t.Errorf("after sign-out: %d, want a redirect to sign in", code)
			}
		})
	}
}
