package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// shortLived makes the OP issue access tokens that live d.
func shortLived(d time.Duration) func(*devprovider.Config) {
	return func(c *devprovider.Config) { c.AccessTokenLifetime = d }
}

// waitDue sleeps until the session in hc's jar is due for refresh with the
// default leeway (half the lifetime for short tokens), but not expired.
func waitDue(t *testing.T, env *testenv.Env, hc *http.Client) {
	t.Helper()
	s := env.Session(t, hc)
	if s == nil {
		t.Fatal("not signed in")
	}
	half := s.Expiry.Sub(s.Issued) / 2
	time.Sleep(time.Until(s.Expiry.Add(-half)) + 50*time.Millisecond)
}

// dueOn moves clock to where the session in hc's jar is due for refresh
// (the default leeway is a minute before expiry) and still valid.
func dueOn(t *testing.T, env *testenv.Env, clock *testenv.Clock, hc *http.Client) {
	t.Helper()
	s := env.Session(t, hc)
	if s == nil {
		t.Fatal("not signed in")
	}
	clock.Set(s.Expiry.Add(-30 * time.Second))
}

// expiredOn moves clock past the expiry of the session's access token.
func expiredOn(t *testing.T, env *testenv.Env, clock *testenv.Clock, hc *http.Client) {
	t.Helper()
	s := env.Session(t, hc)
	if s == nil {
		t.Fatal("not signed in")
	}
	clock.Set(s.Expiry.Add(time.Second))
}

// TestStaysSignedInAcrossExpiries: with 2-second access tokens, a user who
// keeps calling the API stays signed in across many expiries and every API
// call carries a valid token.
func TestStaysSignedInAcrossExpiries(t *testing.T) {
	env := testenv.New(t, testenv.Options{OP: shortLived(2 * time.Second)})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	start := env.OP.Count(devprovider.PathToken)
	deadline := time.Now().Add(5 * time.Second)
	calls := 0
	for time.Now().Before(deadline) {
		status, body := env.APIRequest(t, hc)
		if status != http.StatusOK || !strings.Contains(body, devprovider.DemoUser.ID) {
			t.Fatalf("API call %d: %d %s", calls, status, body)
		}
		calls++
		time.Sleep(100 * time.Millisecond)
	}
	refreshes := env.OP.Count(devprovider.PathToken) - start
	tokens := map[string]bool{}
	for _, tok := range env.API.Accepted() {
		tokens[tok] = true
	}
	t.Logf("%d API calls, %d refreshes, %d distinct access tokens", calls, refreshes, len(tokens))
	if refreshes < 3 || len(tokens) < 3 {
		t.Errorf("%d refreshes and %d distinct tokens over 5 s of 2 s tokens; want at least 3", refreshes, len(tokens))
	}
	if n := env.OP.ReusedRefreshTokens(); n != 0 {
		t.Errorf("%d rotated-away refresh tokens presented", n)
	}
}

// storm sends n concurrent API requests of the session in jar.
func storm(t *testing.T, env *testenv.Env, jar http.CookieJar, n int) map[int]int {
	t.Helper()
	return testenv.Burst(t, []string{env.App.URL}, [][]*http.Cookie{jar.Cookies(mustURL(env.App.URL))}, n)
}

// TestRefreshStorm: 200 concurrent requests of one session at expiry →
// exactly one refresh request reaches the token endpoint, 200 successes,
// no sign-out.
func TestRefreshStorm(t *testing.T) {
	env := testenv.New(t, testenv.Options{OP: shortLived(4 * time.Second)})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	waitDue(t, env, hc)
	before := env.OP.Count(devprovider.PathToken)
	statuses := storm(t, env, hc.Jar, 200)
	if got := env.OP.Count(devprovider.PathToken) - before; got != 1 {
		t.Errorf("%d token requests, want exactly 1", got)
	}
	if statuses[http.StatusOK] != 200 || statuses[-1] != 0 {
		t.Errorf("statuses %v, want 200×200 and no sign-out", statuses)
	}
	if n := env.OP.ReusedRefreshTokens(); n != 0 {
		t.Errorf("%d rotated-away refresh tokens presented", n)
	}
}

// TestManySessionsRefresh: 50 sessions × 20 concurrent requests at expiry →
// 50 refreshes, one per session.
func TestManySessionsRefresh(t *testing.T) {
	// The provider and the app share a clock the test moves: the sign-ins
	// and the storm take no token lifetime however slow the machine, and
	// no token falls due a second time during the storm.
	clock := &testenv.Clock{}
	env := testenv.New(t, testenv.Options{OP: shortLived(10 * time.Minute), Clock: clock})
	var jars []http.CookieJar
	for range 50 {
		hc := testenv.Browser()
		env.SignIn(t, hc, "/profile")
		jars = append(jars, hc.Jar)
	}
	// Due (the default leeway is a minute before expiry), still valid.
	clock.Add(9*time.Minute + 10*time.Second)
	before := env.OP.Count(devprovider.PathToken)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := map[int]int{}
	for _, jar := range jars {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := storm(t, env, jar, 20)
			mu.Lock()
			for k, v := range st {
				total[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got := env.OP.Count(devprovider.PathToken) - before; got != 50 {
		t.Errorf("%d token requests, want 50", got)
	}
	if total[http.StatusOK] != 1000 || total[-1] != 0 {
		t.Errorf("statuses %v, want 1000×200 and no sign-out", total)
	}
}

// TestRotation: after a refresh the old refresh token is dead at the
// provider, and a request that still carries the old cookie does not
// present it again: it gets the rotated tokens.
func TestRotation(t *testing.T) {
	env := testenv.New(t, testenv.Options{OP: shortLived(4 * time.Second)})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	old := env.Session(t, hc)
	oldJar, _ := cookiejar.New(nil)
	oldJar.SetCookies(mustURL(env.App.URL), hc.Jar.Cookies(mustURL(env.App.URL)))
	waitDue(t, env, hc)
	if status, _ := env.APIRequest(t, hc); status != http.StatusOK {
		t.Fatalf("API: %d", status)
	}
	s := env.Session(t, hc)
	if s.RefreshToken == old.RefreshToken || s.AccessToken == old.AccessToken {
		t.Fatal("tokens not rotated in the cookie")
	}
	if env.OP.RefreshTokenValid(old.RefreshToken) || !env.OP.RefreshTokenValid(s.RefreshToken) {
		t.Error("the provider should honour only the new refresh token")
	}
	before := env.OP.Count(devprovider.PathToken)
	// The old cookie, as a request sent before the browser saw the new one.
	status, _ := env.APIRequest(t, &http.Client{Jar: oldJar})
	if status != http.StatusOK {
		t.Errorf("old cookie: %d, want 200 with the rotated tokens", status)
	}
	if got := env.OP.Count(devprovider.PathToken) - before; got != 0 {
		t.Errorf("%d token requests for the old cookie, want 0", got)
	}
	if n := env.OP.ReusedRefreshTokens(); n != 0 {
		t.Errorf("the old refresh token was presented %d times", n)
	}
	// The old cookie's response carries the new session.
	s2 := env.Session(t, &http.Client{Jar: oldJar})
	if s2 == nil || s2.RefreshToken != s.RefreshToken {
		t.Error("the old cookie was not replaced by the rotated session")
	}
}

// TestRefreshKeepsOldRefreshToken: a provider that returns no refresh token
// on refresh keeps the session's one.
func TestRefreshKeepsOldRefreshToken(t *testing.T) {
	env := testenv.New(t, testenv.Options{OP: shortLived(4 * time.Second)})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	old := env.Session(t, hc)
	waitDue(t, env, hc)
	env.OP.SetTokenHook(func(resp map[string]any) { delete(resp, "refresh_token") })
	if status, _ := env.APIRequest(t, hc); status != http.StatusOK {
		t.Fatalf("API: %d", status)
	}
	if s := env.Session(t, hc); s.RefreshToken != old.RefreshToken || s.AccessToken == old.AccessToken {
		t.Errorf("refresh token %v kept, access token %v changed; want both", s.RefreshToken == old.RefreshToken, s.AccessToken != old.AccessToken)
	}
}

// TestRefreshFailurePolicy covers each branch of DefaultRefreshPolicy.
func TestRefreshFailurePolicy(t *testing.T) {
	type check func(t *testing.T, env *testenv.Env, hc *http.Client)
	apiStatus := func(want int) check {
		return func(t *testing.T, env *testenv.Env, hc *http.Client) {
			if status, body := env.APIRequest(t, hc); status != want {
				t.Errorf("API request: %d %s, want %d", status, body, want)
			}
		}
	}
	navigation := func(t *testing.T, env *testenv.Env, hc *http.Client) {
		resp, _ := env.Get(t, hc, "/profile?x=1")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), env.OP.Issuer) {
			t.Errorf("navigation: %d to %q, want 302 to the provider", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	signedOut := func(t *testing.T, env *testenv.Env, hc *http.Client) {
		if env.Session(t, hc) != nil {
			t.Error("session kept, want it cleared")
		}
	}
	// An Optional page whose session ended before the handler runs it
	// as nobody's: UserFrom nil, not an empty user.
	optionalAnonymous := func(t *testing.T, env *testenv.Env, hc *http.Client) {
		if _, who := env.Get(t, hc, "/whoami"); who != "anonymous" {
			t.Errorf("Optional page: %q, want anonymous", who)
		}
	}
	kept := func(t *testing.T, env *testenv.Env, hc *http.Client) {
		if env.Session(t, hc) == nil {
			t.Error("session cleared, want it kept")
		}
	}
	hang := func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice the client hanging up.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	}
	fail503 := func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }
	cases := []struct {
		name    string
		expired bool // wait until the access token has expired
		break_  func(env *testenv.Env, hc *http.Client)
		checks  []check
	}{
		{"revoked refresh token (invalid_grant), API", false, func(env *testenv.Env, hc *http.Client) {
			env.Client.Revoke(context.Background(), &oauth2.Token{RefreshToken: env.Session(t, hc).RefreshToken})
		}, []check{apiStatus(401), signedOut}},
		{"revoked refresh token (invalid_grant), browser", false, func(env *testenv.Env, hc *http.Client) {
			env.Client.Revoke(context.Background(), &oauth2.Token{RefreshToken: env.Session(t, hc).RefreshToken})
		}, []check{navigation, signedOut}},
		{"revoked refresh token (invalid_grant), Optional page", false, func(env *testenv.Env, hc *http.Client) {
			env.Client.Revoke(context.Background(), &oauth2.Token{RefreshToken: env.Session(t, hc).RefreshToken})
		}, []check{optionalAnonymous, signedOut}},
		{"provider 503, token still valid", false, func(env *testenv.Env, hc *http.Client) {
			env.OP.SetFault(devprovider.PathToken, fail503)
		}, []check{apiStatus(200), kept}},
		{"provider 503, token expired", true, func(env *testenv.Env, hc *http.Client) {
			env.OP.SetFault(devprovider.PathToken, fail503)
		}, []check{apiStatus(503), kept}},
		{"provider unreachable, token expired", true, func(env *testenv.Env, hc *http.Client) {
			env.OP.SetFault(devprovider.PathToken, func(w http.ResponseWriter, r *http.Request) {
				conn, _, _ := http.NewResponseController(w).Hijack()
				conn.Close()
			})
		}, []check{apiStatus(503), kept}},
		{"provider hangs, token expired", true, func(env *testenv.Env, hc *http.Client) {
			env.OP.SetFault(devprovider.PathToken, hang)
		}, []check{apiStatus(503), kept}},
		{"refreshed ID token with another sub", false, func(env *testenv.Env, hc *http.Client) {
			idTokenTamper(t, env, func(c map[string]any) string { c["sub"] = "someone-else"; return env.OP.Sign(c) })
		}, []check{apiStatus(401), signedOut}},
		{"refreshed ID token with another iss", false, func(env *testenv.Env, hc *http.Client) {
			idTokenTamper(t, env, func(c map[string]any) string { c["iss"] = "https://evil.example"; return env.OP.Sign(c) })
		}, []check{apiStatus(401), signedOut}},
		{"refreshed ID token for another audience", false, func(env *testenv.Env, hc *http.Client) {
			idTokenTamper(t, env, func(c map[string]any) string { c["aud"] = []string{"other"}; return env.OP.Sign(c) })
		}, []check{apiStatus(401), signedOut}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// On a clock the test moves: no subtest depends on how long
			// another takes under -race. Only the hanging provider needs
			// the refresh timeout to pass, in wall time.
			clock := &testenv.Clock{}
			env := testenv.New(t, testenv.Options{OP: shortLived(10 * time.Minute), Clock: clock,
				Middleware: func(c *middleware.Config) {
					if strings.Contains(tc.name, "hangs") {
						c.RefreshTimeout = 300 * time.Millisecond
					}
				}})
			hc := testenv.Browser()
			env.SignIn(t, hc, "/profile")
			if tc.expired {
				expiredOn(t, env, clock, hc)
			} else {
				dueOn(t, env, clock, hc)
			}
			tc.break_(env, hc)
			for _, c := range tc.checks {
				c(t, env, hc)
			}
			if tc.expired {
				// The outage ends: the kept session refreshes and works
				// again once the remembered failure has aged out.
				env.OP.SetFault(devprovider.PathToken, nil)
				clock.Add(5*time.Second + time.Millisecond)
				apiStatus(200)(t, env, hc)
			}
		})
	}
}

// TestRefreshUnavailableRetryAfter: the 503 says when to retry, as JSON for
// an API client, and the error handler can tell why.
func TestRefreshUnavailableRetryAfter(t *testing.T) {
	var rec recordingErrors
	clock := &testenv.Clock{}
	env := testenv.New(t, testenv.Options{OP: shortLived(10 * time.Minute), Clock: clock, Middleware: func(c *middleware.Config) {
		c.RetryAfter = 7 * time.Second
	}})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	expiredOn(t, env, clock, hc)
	env.OP.SetFault(devprovider.PathToken, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	req, _ := http.NewRequest("GET", env.App.URL+"/profile", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "7" || !strings.Contains(string(body), `"temporarily_unavailable"`) {
		t.Errorf("%d Retry-After %q body %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// With a custom error handler, the reason is fail.RefreshUnavailable.
	clock2 := &testenv.Clock{}
	env2 := testenv.New(t, testenv.Options{OP: shortLived(10 * time.Minute), Clock: clock2, Middleware: rec.install})
	hc2 := testenv.Browser()
	env2.SignIn(t, hc2, "/profile")
	expiredOn(t, env2, clock2, hc2)
	env2.OP.SetFault(devprovider.PathToken, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	env2.APIRequest(t, hc2)
	if err := rec.last(); !errors.Is(err, fail.RefreshUnavailable) || !errors.Is(err, client.ErrProviderUnavailable) {
		t.Errorf("reason %v", err)
	}
}

// TestCustomRefreshPolicy: OnRefreshError can keep the session even when
// the token has expired (the handler runs; its API calls fail clearly).
func TestCustomRefreshPolicy(t *testing.T) {
	clock := &testenv.Clock{}
	env := testenv.New(t, testenv.Options{OP: shortLived(10 * time.Minute), Clock: clock, Middleware: func(c *middleware.Config) {
		c.OnRefreshError = func(error, *session.Session, time.Time) middleware.RefreshAction {
			return middleware.RefreshKeepSession
		}
	}})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	expiredOn(t, env, clock, hc)
	env.OP.SetFault(devprovider.PathToken, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	if resp, body := env.Get(t, hc, "/whoami"); resp.StatusCode != 200 || body != devprovider.DemoUser.ID {
		t.Errorf("whoami: %d %q", resp.StatusCode, body)
	}
	// The handler runs; its API calls fail with a clear error.
	h := env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := env.Auth.HTTPClient(r).Get(env.APISrv.URL)
		if !errors.Is(err, client.ErrProviderUnavailable) {
			t.Errorf("bearer client error %v, want ErrProviderUnavailable", err)
		}
		w.WriteHeader(299)
	}))
	req, _ := http.NewRequest("GET", env.App.URL+"/x", nil)
	testenv.AddCookies(req, hc.Jar.Cookies(mustURL(env.App.URL)))
	rec := newRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 299 {
		t.Errorf("handler did not run: %d", rec.Code)
	}
}

// TestRefreshAfterResponseStarted: the bearer client refreshes an access
// token that expired while the handler streamed its response. The new
// cookie cannot be written any more; the rotated refresh token is not lost:
// the next request, still carrying the old cookie, gets it without a new
// token request, and the old refresh token is never presented again.
func TestRefreshAfterResponseStarted(t *testing.T) {
	env := testenv.New(t, testenv.Options{OP: shortLived(2 * time.Second)})
	mux := http.NewServeMux()
	mux.Handle("/stream", env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "started\n")
		w.(http.Flusher).Flush()
		s := middleware.SessionFrom(r.Context())
		time.Sleep(time.Until(s.Expiry) + 100*time.Millisecond)
		resp, err := env.Auth.HTTPClient(r).Get(env.APISrv.URL)
		if err != nil {
			fmt.Fprintln(w, "error:", err)
			return
		}
		resp.Body.Close()
		fmt.Fprintln(w, "api:", resp.StatusCode)
	})))
	mux.Handle("/", env.App.Config.Handler)
	env.App.Config.Handler = mux

	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	old := env.Session(t, hc)
	before := env.OP.Count(devprovider.PathToken)
	resp, body := env.Get(t, hc, "/stream")
	if !strings.Contains(body, "api: 200") || len(resp.Cookies()) != 0 {
		t.Fatalf("stream: %q, cookies %v", body, resp.Cookies())
	}
	if env.OP.Count(devprovider.PathToken)-before != 1 || env.OP.RefreshTokenValid(old.RefreshToken) {
		t.Fatal("the bearer client did not refresh")
	}
	// The browser still has the old cookie.
	if env.Session(t, hc).RefreshToken != old.RefreshToken {
		t.Fatal("cookie changed after the response started?")
	}
	if status, _ := env.APIRequest(t, hc); status != http.StatusOK {
		t.Errorf("next request: %d", status)
	}
	if got := env.OP.Count(devprovider.PathToken) - before; got != 1 {
		t.Errorf("%d token requests, want 1", got)
	}
	if env.OP.ReusedRefreshTokens() != 0 {
		t.Error("the rotated-away refresh token was presented")
	}
	if s := env.Session(t, hc); s.RefreshToken == old.RefreshToken {
		t.Error("the next response did not save the rotated tokens")
	}
}

// flakyAPI answers 401 to the first request with each new token, then
// forwards to the real API, recording bodies.
type flakyAPI struct {
	next   http.Handler
	mu     sync.Mutex
	seen   map[string]bool
	bodies []string
	hits   atomic.Int64
}

func (f *flakyAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, string(b))
	tok := r.Header.Get("Authorization")
	first := !f.seen[tok]
	f.seen[tok] = true
	f.mu.Unlock()
	if first && len(f.seen) == 1 {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	f.next.ServeHTTP(w, r)
}

// TestBearerRetriesOnce401: an API that refuses a token the SDK believes
// valid gets one forced refresh and one retry with the body replayed; a
// body that cannot be replayed is not retried.
func TestBearerRetriesOnce401(t *testing.T) {
	for _, replayable := range []bool{true, false} {
		t.Run(fmt.Sprint("replayable=", replayable), func(t *testing.T) {
			api := &flakyAPI{seen: map[string]bool{}}
			srv := httptestServer(t, api)
			env := testenv.New(t, testenv.Options{Middleware: func(c *middleware.Config) {
				c.APIs = append(c.APIs, middleware.API{Name: "flaky", BaseURL: srv.URL})
			}})
			api.next = env.API
			mux := http.NewServeMux()
			mux.Handle("/post", env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var body io.Reader = strings.NewReader("payload")
				if !replayable {
					body = io.MultiReader(strings.NewReader("payload"))
				}
				req, _ := http.NewRequest("POST", srv.URL, body)
				resp, err := env.Auth.HTTPClient(r).Do(req)
				if err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
				resp.Body.Close()
				w.WriteHeader(resp.StatusCode)
			})))
			mux.Handle("/", env.App.Config.Handler)
			env.App.Config.Handler = mux
			hc := testenv.Browser()
			env.SignIn(t, hc, "/profile")
			before := env.OP.Count(devprovider.PathToken)
			resp, _ := env.Get(t, hc, "/post")
			refreshes := env.OP.Count(devprovider.PathToken) - before
			if replayable {
				if resp.StatusCode != 200 || api.hits.Load() != 2 || refreshes != 1 {
					t.Errorf("status %d, %d API hits, %d refreshes; want 200, 2, 1", resp.StatusCode, api.hits.Load(), refreshes)
				}
				if len(api.bodies) < 2 || api.bodies[1] != "payload" {
					t.Errorf("retried body %q", api.bodies[1])
				}
				if s := env.Session(t, hc); s == nil || env.OP.RefreshTokenValid(s.RefreshToken) == false {
					t.Error("the forced refresh was not saved")
				}
			} else if resp.StatusCode != 401 || api.hits.Load() != 1 || refreshes != 0 {
				t.Errorf("status %d, %d API hits, %d refreshes; want 401, 1, 0", resp.StatusCode, api.hits.Load(), refreshes)
			}
		})
	}
}

// TestRefreshPolicyDecidesRetry pins a bug: how long a failed refresh was
// remembered (not retried) came from DefaultRefreshPolicy, whatever
// Config.OnRefreshError said. An app that keeps sessions after
// invalid_grant got no new attempt for 30 seconds; with its policy the
// refresh is tried again after RetryAfter, like any failure it keeps.
func TestRefreshPolicyDecidesRetry(t *testing.T) {
	clock := &testenv.Clock{}
	env := testenv.New(t, testenv.Options{OP: shortLived(10 * time.Minute), Clock: clock, Middleware: func(c *middleware.Config) {
		c.OnRefreshError = func(error, *session.Session, time.Time) middleware.RefreshAction {
			return middleware.RefreshKeepSession
		}
		c.RetryAfter = time.Second
	}})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	expiredOn(t, env, clock, hc)
	env.OP.SetFault(devprovider.PathToken, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"invalid_grant"}`)
	})
	before := env.OP.Count(devprovider.PathToken)
	if resp, body := env.Get(t, hc, "/whoami"); resp.StatusCode != 200 || body != devprovider.DemoUser.ID {
		t.Fatalf("whoami after a refused refresh: %d %q", resp.StatusCode, body)
	}
	if n := env.OP.Count(devprovider.PathToken) - before; n != 1 {
		t.Fatalf("%d token requests, want 1", n)
	}
	env.OP.SetFault(devprovider.PathToken, nil)
	env.Get(t, hc, "/whoami") // within RetryAfter: the failure is remembered
	if n := env.OP.Count(devprovider.PathToken) - before; n != 1 {
		t.Errorf("%d token requests within RetryAfter, want still 1", n)
	}
	clock.Add(time.Second + time.Millisecond) // past RetryAfter
	env.Get(t, hc, "/whoami")
	if n := env.OP.Count(devprovider.PathToken) - before; n != 2 {
		t.Errorf("%d token requests after RetryAfter, want 2: the policy kept the session, so the refresh is retried", n)
	}
}

// TestNoExpiredTokenSent: the bearer client falls back to the current
// access token when a refresh fails, but only while that token is still
// good: here the refresh fails after a wait that outlives the token.
// Regression: the fallback compared the expiry with the time before the
// wait, and the API got an expired token (401, relayed by the app, which
// TestRedisFailover counted as a sign-out).
func TestNoExpiredTokenSent(t *testing.T) {
	env := testenv.New(t, testenv.Options{OP: shortLived(3 * time.Second),
		// Require leaves the token alone until it expires; the bearer
		// client refreshes it once half its life is gone.
		Middleware: func(c *middleware.Config) { c.RefreshLeeway = time.Millisecond }})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	s := env.Session(t, hc)
	time.Sleep(time.Until(s.Issued.Add(s.Expiry.Sub(s.Issued) * 6 / 10)))
	env.OP.SetFault(devprovider.PathToken, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Until(s.Expiry.Add(300 * time.Millisecond)))
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	code, body := env.APIRequest(t, hc)
	if code != http.StatusServiceUnavailable {
		t.Errorf("/api: %d %s, want 503 (the refresh failed and the token has expired)", code, body)
	}
}

// TestAPIRefusalWhileProviderDown: the API refuses a token the SDK took
// for good (revoked at the provider), and the refresh that would replace it
// fails because the provider is down. The call fails with
// fail.RefreshUnavailable (503: try again), not the API's 401, which the app
// would pass on as a sign-out (TestRedisFailover saw one when the session
// store was away instead).
func TestAPIRefusalWhileProviderDown(t *testing.T) {
	env := testenv.New(t, testenv.Options{Middleware: func(c *middleware.Config) { c.RetryAfter = time.Millisecond }})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	if err := env.Client.Revoke(context.Background(), &oauth2.Token{AccessToken: env.Session(t, hc).AccessToken}); err != nil {
		t.Fatal(err)
	}
	env.OP.SetFault(devprovider.PathToken, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	if code, body := env.APIRequest(t, hc); code != http.StatusServiceUnavailable {
		t.Errorf("/api: %d %s, want 503", code, body)
	}
	env.OP.SetFault(devprovider.PathToken, nil)
	time.Sleep(10 * time.Millisecond) // past RetryAfter
	if code, body := env.APIRequest(t, hc); code != http.StatusOK {
		t.Errorf("/api once the provider is back: %d %s, want 200 (refreshed)", code, body)
	}
}

// TestRememberedFailureDecidedAgain: a failed refresh is remembered for
// RetryAfter, not what it meant. While the token was good the session went
// on (200); once the token has expired, the same remembered failure means
// 503, not a handler run with an expired token.
func TestRememberedFailureDecidedAgain(t *testing.T) {
	env := testenv.New(t, testenv.Options{OP: shortLived(3 * time.Second),
		Middleware: func(c *middleware.Config) { c.RetryAfter = time.Minute }})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	s := env.Session(t, hc)
	env.OP.SetFault(devprovider.PathToken, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	time.Sleep(time.Until(s.Issued.Add(s.Expiry.Sub(s.Issued) * 6 / 10))) // due, still good
	req, _ := http.NewRequest("GET", env.App.URL+"/profile", nil)
	req.Header.Set("Accept", "application/json")
	if resp, err := hc.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("while the token is good: %v %v, want 200", resp.Status, err)
	}
	tokens := env.OP.Count(devprovider.PathToken)
	time.Sleep(time.Until(s.Expiry))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("once the token has expired: %s (Retry-After %q), want 503 with Retry-After", resp.Status, resp.Header.Get("Retry-After"))
	}
	if n := env.OP.Count(devprovider.PathToken); n != tokens {
		t.Errorf("%d token requests within RetryAfter, want none", n-tokens)
	}
}
