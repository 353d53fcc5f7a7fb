package middleware_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

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
	o.Middleware = func(c *middleware.Config) {
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

// TestProxyStreams: the response reaches the browser as the API writes it.
func TestProxyStreams(t *testing.T) {
	release := make(chan struct{})
	env := newBFF(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
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
		t.Error("the first event did not arrive before the API finished: the proxy buffers")
	}
	close(release)
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
		LogoutURL string `json:"logout_url"`
	}
	if err := json.Unmarshal([]byte(body), &info); err != nil || resp.StatusCode != 200 || !info.SignedIn || info.User.Sub != sess.Subject ||
		!info.User.EmailVerified || info.LogoutURL != "/auth/logout" {
		t.Errorf("signed in: %d %s", resp.StatusCode, body)
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
