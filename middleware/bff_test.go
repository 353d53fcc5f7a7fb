package middleware_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// echoAPI records what reached it and answers with a cookie and its path.
type echoAPI struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (e *echoAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.reqs = append(e.reqs, r)
	e.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "api-cookie", Value: "x"})
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, r.Method+" "+r.URL.RequestURI())
}

func (e *echoAPI) received() []*http.Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*http.Request(nil), e.reqs...)
}

// newBFF starts the in-process environment with an API named "echo" served
// by api, mounted at /bff/echo/ through Proxy, and SessionInfo at
// /bff/session.
func newBFF(t *testing.T, api http.Handler) *testenv.Env {
	t.Helper()
	return newBFFOpts(t, api, testenv.Options{})
}

func newBFFOpts(t *testing.T, api http.Handler, o testenv.Options) *testenv.Env {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	more := o.Middleware
	o.Middleware = func(c *middleware.Config) {
		if more != nil {
			more(c)
		}
		c.APIs = append(c.APIs, middleware.API{Name: "echo", BaseURL: srv.URL + "/v1/"})
	}
	env := testenv.New(t, o)
	env.Mux.Handle("/bff/echo/", http.StripPrefix("/bff/echo", env.Auth.Proxy("echo")))
	env.Mux.Handle("/bff/session", env.Auth.SessionInfo())
	return env
}

// spaCall is a call of the single-page app's script: fetch with the
// anti-forgery header, same-origin.
func spaCall(t *testing.T, hc *http.Client, method, u string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader("{}"))
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(middleware.AntiForgeryHeader, "1")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestProxy: the API gets the user's token and only the content headers
// of the call: none of its cookies (Duende advisory: the Cookie header went
// to the API), not the anti-forgery header, not the browser's
// Authorization; the API's Set-Cookie does not reach the browser.
func TestProxy(t *testing.T) {
	api := &echoAPI{}
	env := newBFF(t, api)
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	sess := env.Session(t, hc)

	resp, body := spaCall(t, hc, "POST", env.App.URL+"/bff/echo/orders/42?expand=items", http.Header{
		"Authorization": {"Bearer from-the-browser"}, "X-App-Internal": {"secret"}, "Content-Type": {"application/json"},
		"If-None-Match": {`"v1"`},
	})
	if resp.StatusCode != http.StatusOK || body != "POST /v1/orders/42?expand=items" {
		t.Fatalf("proxied call: %d %q", resp.StatusCode, body)
	}
	if len(resp.Cookies()) > 0 {
		for _, c := range resp.Cookies() {
			if c.Name == "api-cookie" {
				t.Errorf("the API's cookie reached the browser")
			}
		}
	}
	got := api.received()[0]
	if a := got.Header.Get("Authorization"); a != "Bearer "+sess.AccessToken {
		t.Errorf("Authorization %q, want the session's token", a)
	}
	for _, h := range []string{"Cookie", middleware.AntiForgeryHeader, "X-App-Internal", "Sec-Fetch-Site", "X-Confidant-Proxy-Authorization", "X-Forwarded-For"} {
		if v := got.Header.Get(h); v != "" {
			t.Errorf("%s reached the API: %q", h, v)
		}
	}
	if got.Header.Get("Content-Type") != "application/json" || got.Header.Get("If-None-Match") != `"v1"` {
		t.Errorf("content headers lost: %v", got.Header)
	}
}

// TestProxyRefuses: without the anti-forgery header (Duende advisory: some
// routes had no anti-forgery check), from another site, without a session,
// or outside the API's path, a call gets JSON (never a redirect) and
// reaches nothing.
func TestProxyRefuses(t *testing.T) {
	api := &echoAPI{}
	env := newBFF(t, api)
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	anon := testenv.Browser()
	for _, tc := range []struct {
		name   string
		hc     *http.Client
		path   string
		header http.Header
		status int
	}{
		{"no anti-forgery header", hc, "/bff/echo/orders", http.Header{middleware.AntiForgeryHeader: {""}}, http.StatusForbidden},
		{"cross-site", hc, "/bff/echo/orders", http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"another origin", hc, "/bff/echo/orders", http.Header{"Sec-Fetch-Site": {""}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"not signed in, even a navigation", anon, "/bff/echo/orders", http.Header{"Accept": {"text/html"}}, http.StatusUnauthorized},
		{"climbing out of the API", hc, "/bff/echo/%2e%2e/admin", nil, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(api.received())
			resp, body := spaCall(t, tc.hc, "GET", env.App.URL+tc.path, tc.header)
			if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || resp.Header.Get("Location") != "" {
				t.Errorf("%d %q %s, want %d JSON", resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.status)
			}
			if n := len(api.received()) - before; n != 0 {
				t.Errorf("%d calls reached the API", n)
			}
		})
	}
}

// TestProxyStreams: a stream reaches the browser as the API writes it:
// server-sent events, and a response of unknown length (chunked).
func TestProxyStreams(t *testing.T) {
	for _, ct := range []string{"text/event-stream", "application/x-ndjson"} {
		t.Run(ct, func(t *testing.T) {
			release := make(chan struct{})
			env := newBFF(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", ct)
				io.WriteString(w, "data: first\n\n")
				w.(http.Flusher).Flush()
				<-release
				io.WriteString(w, "data: second\n\n")
			}))
			hc := testenv.Browser()
			env.SignIn(t, hc, "/profile")
			req, _ := http.NewRequest("GET", env.App.URL+"/bff/echo/events", nil)
			req.Header.Set(middleware.AntiForgeryHeader, "1")
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			line := make(chan string, 1)
			go func() {
				l, _ := bufio.NewReader(resp.Body).ReadString('\n')
				line <- l
			}()
			select {
			case l := <-line:
				if l != "data: first\n" {
					t.Errorf("first line %q", l)
				}
			case <-time.After(10 * time.Second): // a deadlock guard, not a speed limit
				t.Error("the first piece did not arrive before the API finished: the proxy buffers")
			}
			close(release)
		})
	}
}

// TestSessionInfo: the single-page app learns who is signed in and where
// to sign out, never a token; without a session, where to sign in; never
// cross-site.
func TestSessionInfo(t *testing.T) {
	env := newBFF(t, &echoAPI{})
	hc := testenv.Browser()
	resp, body := spaCall(t, hc, "GET", env.App.URL+"/bff/session", nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"login_url":"/auth/login"`) {
		t.Errorf("not signed in: %d %s", resp.StatusCode, body)
	}
	env.SignIn(t, hc, "/profile")
	sess := env.Session(t, hc)
	resp, body = spaCall(t, hc, "GET", env.App.URL+"/bff/session", nil)
	var info struct {
		SignedIn bool `json:"signed_in"`
		User     struct {
			Sub           string `json:"sub"`
			Email         string `json:"email"`
			EmailVerified bool   `json:"email_verified"`
		} `json:"user"`
		LogoutURL     string    `json:"logout_url"`
		LoginURL      string    `json:"login_url"`
		ExpiresAt     time.Time `json:"expires_at"`
		IdleExpiresAt time.Time `json:"idle_expires_at"`
	}
	if err := json.Unmarshal([]byte(body), &info); err != nil || resp.StatusCode != 200 || !info.SignedIn || info.User.Sub != sess.Subject ||
		!info.User.EmailVerified || !strings.HasPrefix(info.LogoutURL, "/auth/logout?sid=") || len(info.LogoutURL) < len("/auth/logout?sid=")+20 {
		t.Errorf("signed in: %d %s", resp.StatusCode, body)
	}
	// The session's ends: absolute (7 days by default) and idle (24 hours).
	if d := info.ExpiresAt.Sub(sess.CreatedAt); d < 7*24*time.Hour-time.Second || d > 7*24*time.Hour+time.Second {
		t.Errorf("expires_at %v, %v after the sign-in", info.ExpiresAt, d)
	}
	if d := time.Until(info.IdleExpiresAt); d < 23*time.Hour || d > 24*time.Hour+time.Second {
		t.Errorf("idle_expires_at %v, in %v", info.IdleExpiresAt, d)
	}
	// login_url returns to the calling page (its Referer, or ?return_to=).
	if _, body := spaCall(t, hc, "GET", env.App.URL+"/bff/session", http.Header{"Referer": {env.App.URL + "/orders?page=2"}}); !strings.Contains(body, `"login_url":"/auth/login?return_to=%2Forders%3Fpage%3D2"`) {
		t.Errorf("login_url for a page: %s", body)
	}
	if _, body := spaCall(t, hc, "GET", env.App.URL+"/bff/session", http.Header{"Referer": {"https://elsewhere.example/x"}}); !strings.Contains(body, `"login_url":"/auth/login"`) {
		t.Errorf("login_url for another site's Referer: %s", body)
	}
	for _, secret := range []string{sess.AccessToken, sess.RefreshToken, sess.IDToken} {
		if secret != "" && strings.Contains(body, secret) {
			t.Error("a token reached the single-page app")
		}
	}
	if resp, _ := spaCall(t, hc, "GET", env.App.URL+"/bff/session", http.Header{"Sec-Fetch-Site": {"cross-site"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site: %d, want 403", resp.StatusCode)
	}
}

// TestProxyRetriesAfterRefusal: an API that refuses the token (revoked at
// the provider) gets one more call with a refreshed token, for a GET and
// for a POST with a body, each time (a refusal right after a refresh was
// answered from that refresh's result: the refused token again, for the
// proxy and HTTPClient alike); the BFF's own 401 says Cookie.
func TestProxyRetriesAfterRefusal(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	env.Mux.Handle("/bff/api/", http.StripPrefix("/bff/api", env.Auth.Proxy("api")))
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	for _, method := range []string{"GET", "POST", "GET"} {
		env.OP.RevokeAccessTokens()
		before := env.OP.Count(devprovider.PathToken)
		resp, body := spaCall(t, hc, method, env.App.URL+"/bff/api/items", nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s after the token was revoked: %d %s", method, resp.StatusCode, body)
		}
		if n := env.OP.Count(devprovider.PathToken) - before; n != 1 {
			t.Errorf("%s: %d token requests, want 1", method, n)
		}
	}
	// The bearer client (HTTPClient) the same, twice in a row.
	for i := range 2 {
		env.OP.RevokeAccessTokens()
		if status, body := env.APIRequest(t, hc); status != http.StatusOK {
			t.Errorf("HTTPClient call %d after the token was revoked: %d %s", i, status, body)
		}
	}
	if n := env.OP.ReusedRefreshTokens(); n != 0 {
		t.Errorf("%d rotated-away refresh tokens presented", n)
	}
	resp, _ := spaCall(t, testenv.Browser(), "GET", env.App.URL+"/bff/api/items", nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Cookie") {
		t.Errorf("without a session: %d %q, want the BFF's own 401", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

// TestSignOutByToken: a script signs out by navigating to logout_url (GET
// with the session's sign-out token), which ends the session and goes to
// the provider's end_session; a GET without the token, with another
// session's, or from another site changes nothing.
func TestSignOutByToken(t *testing.T) {
	env := newBFF(t, &echoAPI{})
	other := testenv.Browser()
	env.SignIn(t, other, "/profile")
	_, otherInfo := spaCall(t, other, "GET", env.App.URL+"/bff/session", nil)
	var o struct {
		LogoutURL string `json:"logout_url"`
	}
	json.Unmarshal([]byte(otherInfo), &o)

	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	_, body := spaCall(t, hc, "GET", env.App.URL+"/bff/session", nil)
	var info struct {
		LogoutURL string `json:"logout_url"`
	}
	json.Unmarshal([]byte(body), &info)
	nav := func(path string, site string) *http.Response {
		req, _ := http.NewRequest("GET", env.App.URL+path, nil)
		req.Header.Set("Accept", "text/html")
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		name, path, site string
		status           int
	}{
		{"no token", "/auth/logout", "", http.StatusMethodNotAllowed},
		{"another session's token", o.LogoutURL, "", http.StatusForbidden},
		{"from another site", info.LogoutURL, "cross-site", http.StatusForbidden},
	} {
		if resp := nav(tc.path, tc.site); resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		if env.Session(t, hc) == nil {
			t.Fatalf("%s: signed out", tc.name)
		}
	}
	resp := nav(info.LogoutURL, "same-origin")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, env.OP.Issuer+devprovider.PathEndSession) {
		t.Errorf("sign-out by token: %d to %q, want the provider's end_session", resp.StatusCode, loc)
	}
	if env.Session(t, hc) != nil {
		t.Error("still signed in after the sign-out by token")
	}
	if env.Session(t, other) == nil {
		t.Error("the other session ended too")
	}
}

// TestTrustedOrigins: a state-changing call whose browser sends Origin but
// no Sec-Fetch-Site (as older browsers do), from a dev server that
// rewrote the Host header, is refused with the origin named, unless that
// origin is in Config.TrustedOrigins; the one check serves sign-out and
// Proxy alike.
func TestTrustedOrigins(t *testing.T) {
	const dev = "http://localhost:5173"
	for _, trusted := range []bool{false, true} {
		o := testenv.Options{}
		if trusted {
			o.Middleware = func(c *middleware.Config) { c.TrustedOrigins = []string{dev} }
		}
		rejected := make(chan event.Event, 10)
		o.Middleware = func(prev func(*middleware.Config)) func(*middleware.Config) {
			return func(c *middleware.Config) {
				if prev != nil {
					prev(c)
				}
				c.OnEvent = func(ctx context.Context, e event.Event) {
					testenv.CollectEvent(ctx, e)
					if e.Kind == event.Rejected {
						select {
						case rejected <- e:
						default:
						}
					}
				}
			}
		}(o.Middleware)
		api := &echoAPI{}
		srv := httptest.NewServer(api)
		defer srv.Close()
		mw := o.Middleware
		o.Middleware = func(c *middleware.Config) {
			if mw != nil {
				mw(c)
			}
			c.APIs = append(c.APIs, middleware.API{Name: "echo", BaseURL: srv.URL + "/v1/"})
		}
		env := testenv.New(t, o)
		env.Mux.Handle("/bff/echo/", http.StripPrefix("/bff/echo", env.Auth.Proxy("echo")))
		hc := testenv.Browser()
		env.SignIn(t, hc, "/profile")
		want := http.StatusForbidden
		if trusted {
			want = http.StatusOK
		}
		resp, body := spaCall(t, hc, "POST", env.App.URL+"/bff/echo/x", http.Header{"Sec-Fetch-Site": nil, "Origin": {dev}})
		if resp.StatusCode != want {
			t.Errorf("trusted %v: POST through Proxy %d %s, want %d", trusted, resp.StatusCode, body, want)
		}
		if !trusted {
			// The refusal says which check failed and the origin it saw,
			// and the path the browser asked for (not the one StripPrefix
			// left the proxy).
			select {
			case e := <-rejected:
				if err := e.Err; !errors.Is(err, fail.AntiForgery) || !strings.Contains(err.Error(), dev) || !strings.Contains(err.Error(), "TrustedOrigins") {
					t.Errorf("the refusal says %v", err)
				}
				var path string
				for _, a := range e.Attrs {
					if a.Key == "path" {
						path = a.Value.String()
					}
				}
				if path != "/bff/echo/x" {
					t.Errorf("the refusal's path %q, want the one the browser sent, /bff/echo/x", path)
				}
			default:
				t.Error("the refusal made no event")
			}
		}
		req, _ := http.NewRequest("POST", env.App.URL+"/auth/logout", nil)
		req.Header.Set("Origin", dev)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if signedOut := env.Session(t, hc) == nil; signedOut != trusted {
			t.Errorf("trusted %v: sign-out from the dev server's page: %d, signed out %v", trusted, resp.StatusCode, signedOut)
		}
	}
	prov, _ := client.NewProvider("p", client.Endpoints{AuthURL: "https://p.example/authorize", TokenURL: "https://p.example/token"})
	c, _ := client.New(client.Config{Provider: prov, ClientID: "c", ClientSecret: "s", RedirectURL: "https://app.example/auth/callback"})
	store, _ := newStore()
	for origin, ok := range map[string]bool{dev: true, "localhost:5173/path": false} {
		_, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, TrustedOrigins: []string{origin}})
		if (err == nil) != ok || (err != nil && !errors.Is(err, fail.MiddlewareConfig)) {
			t.Errorf("TrustedOrigins %q: %v", origin, err)
		}
	}
}

// TestProxyHeadersAndLimits: the trace context and Accept-Encoding reach
// the API by default (and the API's compressed answer reaches the browser
// as it is), an API's own headers only when its ForwardHeaders names them,
// never a credential; a body over MaxRequestBody gets 413, at once when
// Content-Length says so and when the limit is reached otherwise; -1 lifts
// the limit.
func TestProxyHeadersAndLimits(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	var gotBody int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		mu.Lock()
		got, gotBody = r.Header.Clone(), n
		mu.Unlock()
		if r.Header.Get("Accept-Encoding") == "gzip" {
			w.Header().Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(w)
			io.WriteString(gz, "compressed hello")
			gz.Close()
			return
		}
		io.WriteString(w, "hello")
	}))
	defer api.Close()
	env := testenv.New(t, testenv.Options{Middleware: func(c *middleware.Config) {
		c.APIs = append(c.APIs,
			middleware.API{Name: "plain", BaseURL: api.URL + "/plain/"},
			middleware.API{Name: "custom", BaseURL: api.URL + "/custom/", ForwardHeaders: []string{"Idempotency-Key", "x-request-id"}},
			middleware.API{Name: "upload", BaseURL: api.URL + "/upload/", MaxRequestBody: -1})
	}})
	for _, name := range []string{"plain", "custom", "upload"} {
		env.Mux.Handle("/bff/"+name+"/", http.StripPrefix("/bff/"+name, env.Auth.Proxy(name)))
	}
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	extra := http.Header{"Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}, "Idempotency-Key": {"k-1"},
		"X-Request-Id": {"r-1"}, "Accept-Encoding": {"gzip"}}
	for _, tc := range []struct {
		api  string
		want map[string]bool // header → forwarded
	}{
		{"plain", map[string]bool{"Traceparent": true, "Accept-Encoding": true, "Idempotency-Key": false, "X-Request-Id": false, "Cookie": false}},
		{"custom", map[string]bool{"Traceparent": true, "Idempotency-Key": true, "X-Request-Id": true, "Cookie": false}},
	} {
		resp, body := spaCall(t, hc, "POST", env.App.URL+"/bff/"+tc.api+"/x", extra)
		mu.Lock()
		h := got
		mu.Unlock()
		for k, want := range tc.want {
			if (h.Get(k) != "") != want {
				t.Errorf("%s: %s forwarded %v, want %v", tc.api, k, h.Get(k) != "", want)
			}
		}
		if resp.Header.Get("Content-Encoding") != "gzip" || body == "compressed hello" {
			t.Errorf("%s: the API's gzip answer was decoded on the way (%q, Content-Encoding %q)", tc.api, body, resp.Header.Get("Content-Encoding"))
		}
	}

	big := int64(10<<20 + 1)
	upload := func(api string, chunked bool) int {
		req, _ := http.NewRequest("POST", env.App.URL+"/bff/"+api+"/file", io.LimitReader(zeros{}, big))
		if !chunked {
			req.ContentLength = big
		}
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set(middleware.AntiForgeryHeader, "1")
		resp, err := hc.Do(req)
		if err != nil {
			return 0 // the server closed the connection on the upload: refused
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	mu.Lock()
	gotBody = 0
	mu.Unlock()
	if s := upload("plain", false); s != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over the limit, sized: %d, want 413", s)
	}
	if s := upload("plain", true); s == http.StatusOK {
		t.Errorf("a body over the limit, chunked: %d", s)
	}
	mu.Lock()
	if gotBody >= big {
		t.Errorf("the API got %d bytes of a body over the limit", gotBody)
	}
	mu.Unlock()
	if s := upload("upload", true); s != http.StatusOK {
		t.Errorf("MaxRequestBody -1: %d, want 200", s)
	}

	prov, _ := client.NewProvider("p", client.Endpoints{AuthURL: "https://p.example/authorize", TokenURL: "https://p.example/token"})
	c, _ := client.New(client.Config{Provider: prov, ClientID: "c", ClientSecret: "s", RedirectURL: "https://app.example/auth/callback"})
	store, _ := newStore()
	for _, h := range []string{"Cookie", "authorization", "Host", "Connection"} {
		_, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store,
			APIs: []middleware.API{{Name: "x", BaseURL: "https://api.example/", ForwardHeaders: []string{h}}}})
		if !errors.Is(err, fail.MiddlewareConfig) {
			t.Errorf("ForwardHeaders %q: %v, want fail.MiddlewareConfig", h, err)
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestForwardHeadersRefused (issue 34, section 5): API.ForwardHeaders let
// an app forward a header the browser sets at will but an API may trust
// because it comes from its proxy (the BFF is that proxy): the client's
// address (X-Forwarded-For, Forwarded, X-Real-IP, …), the original request
// (X-Forwarded-Host, X-Original-URL), who the user is (an authenticating
// proxy's X-Forwarded-User, X-Auth-Request-Email, X-Remote-User, a cloud
// load balancer's identity headers). middleware.New refuses each of them,
// with the credentials, the connection's own headers, and the browser's
// Origin and Fetch Metadata (which the proxy checks and never passes on,
// not even on a WebSocket handshake), in any case; an API's own headers
// pass.
func TestForwardHeadersRefused(t *testing.T) {
	prov, _ := client.NewProvider("p", client.Endpoints{AuthURL: "https://p.example/authorize", TokenURL: "https://p.example/token"})
	c, _ := client.New(client.Config{Provider: prov, ClientID: "c", ClientSecret: "s", RedirectURL: "https://app.example/auth/callback"})
	store, _ := newStore()
	newWith := func(h string) error {
		_, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store,
			APIs: []middleware.API{{Name: "x", BaseURL: "https://api.example/", ForwardHeaders: []string{h}}}})
		return err
	}
	for _, h := range []string{
		// credentials, which the proxy sets from the session
		"Authorization", "cookie", "DPoP", "Proxy-Authorization", middleware.AntiForgeryHeader,
		// the connection's own
		"Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length", "Proxy-Connection",
		// forwarding: the client's address, the original request
		"X-Forwarded-For", "x-forwarded-for", "Forwarded", "X-Real-IP", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix",
		"Via", "X-Client-IP", "True-Client-IP", "CF-Connecting-IP", "Fastly-Client-IP", "X-Original-URL", "X-Rewrite-URL",
		"X-Envoy-External-Address", "X-Forwarded-Client-Cert", "X-SSL-Client-Cert", "X-Client-Cert",
		// identity asserted by an authenticating proxy
		"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups", "X-Forwarded-Access-Token", "X-Auth-Request-User",
		"X-Auth-Request-Email", "X-Remote-User", "X-Remote-Group", "Remote-User", "X-User", "X-Webauth-User",
		"X-Authenticated-Userid", "X-Consumer-Username", "X-Userinfo", "X-Amzn-Oidc-Identity", "X-Amzn-Oidc-Data",
		"X-Goog-Authenticated-User-Email", "X-Goog-IAP-JWT-Assertion", "X-MS-CLIENT-PRINCIPAL", "X-MS-CLIENT-PRINCIPAL-NAME",
		"X-MS-TOKEN-AAD-ACCESS-TOKEN", "Cf-Access-Jwt-Assertion", "Cf-Access-Authenticated-User-Email", "X-Pomerium-Jwt-Assertion",
		"Impersonate-User", "Impersonate-Group", "Gap-Auth",
		// what the browser says of its call to the app, which the proxy
		// checks and never passes on (a WebSocket handshake's Origin)
		"Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode",
	} {
		if err := newWith(h); !errors.Is(err, fail.MiddlewareConfig) {
			t.Errorf("ForwardHeaders %q: %v, want fail.MiddlewareConfig", h, err)
		}
	}
	for _, h := range []string{"Idempotency-Key", "X-Request-Id", "X-Correlation-Id", "X-Api-Version", "Prefer", "Baggage"} {
		if err := newWith(h); err != nil {
			t.Errorf("ForwardHeaders %q: %v, want it forwarded", h, err)
		}
	}
}
