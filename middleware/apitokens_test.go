package middleware_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/certop"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// TestAPITokens: three APIs each get a token of their own (RFC 8707
// resource indicators at oidc-provider, which rotates the refresh token at
// every use): one token request per API under a storm of concurrent calls
// to all of them, no refresh token presented twice (a reuse would revoke
// the grant), each API sees a token for itself, and later calls use the
// tokens kept in the session. The Cookie header with all of them is
// measured.
func TestAPITokens(t *testing.T) {
	names := []string{"orders", "billing", "shipping"}
	servers := map[string]*resourceServer{}
	resources := map[string]map[string]string{}
	for _, n := range names {
		servers[n] = newResourceServer(t, "https://"+n+".example/", n+":read")
		resources["https://"+n+".example/"] = map[string]string{"scope": n + ":read"}
	}
	var rec recordingErrors
	s := newCertified(t, certifiedOptions{accessTTL: 300, resources: resources, mw: func(c *middleware.Config) {
		rec.install(c)
		for _, n := range names {
			c.APIs = append(c.APIs, middleware.API{Name: n, BaseURL: servers[n].URL + "/", Resource: "https://" + n + ".example/", Scopes: []string{n + ":read"}})
		}
	}})
	for _, n := range names {
		servers[n].trust(s.op.Issuer)
		s.app.Mux.Handle("/call/"+n, relay(s.app.Auth, servers[n].URL+"/items"))
	}

	hc := testenv.Browser()
	resp, _ := get(t, hc, s.app.URL+"/profile")
	authURL, _ := url.Parse(resp.Header.Get("Location"))
	if got := authURL.Query()["resource"]; len(got) != 3 {
		t.Errorf("the sign-in asked for resources %v, want the three APIs'", got)
	}
	cb, err := s.op.Login(hc, authURL.String(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d %s", resp.StatusCode, body)
	}

	// The storm: 10 concurrent calls to each API, all with the cookie of
	// the sign-in.
	cookies := hc.Jar.Cookies(mustURL(s.app.URL))
	before := s.op.Counts(t)["/token"]
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers := map[string]map[string]int{}
	var latest []*http.Cookie
	for _, n := range names {
		answers[n] = map[string]int{}
		for range 10 {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", s.app.URL+"/call/"+n, nil)
				req.Header.Set("Accept", "application/json")
				testenv.AddCookies(req, cookies)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				defer mu.Unlock()
				answers[n][fmt.Sprint(resp.StatusCode, " ", strings.Fields(string(b))[0])]++
				if len(resp.Cookies()) > 0 {
					latest = resp.Cookies()
				}
			})
		}
	}
	wg.Wait()
	for _, n := range names {
		if want := fmt.Sprintf("200 https://%s.example/", n); answers[n][want] != 10 {
			t.Errorf("%s: %v, want 10 × %q", n, answers[n], want)
		}
	}
	if n := s.op.Counts(t)["/token"] - before; n != 3 {
		t.Errorf("%d token requests for three APIs, want 3 (one each)", n)
	}
	if err := rec.last(); err != nil {
		t.Errorf("failure: %v", err)
	}

	// Later calls, with the cookie the browser keeps, use the kept tokens.
	hc.Jar.SetCookies(mustURL(s.app.URL), latest)
	before = s.op.Counts(t)["/token"]
	for _, n := range names {
		if _, body := get(t, hc, s.app.URL+"/call/"+n); !strings.HasPrefix(body, "https://"+n+".example/") {
			t.Errorf("%s later: %q", n, body)
		}
	}
	if n := s.op.Counts(t)["/token"] - before; n != 0 {
		t.Errorf("%d token requests for tokens the session holds", n)
	}
	var header []string
	for _, c := range hc.Jar.Cookies(mustURL(s.app.URL)) {
		header = append(header, c.Name+"="+c.Value)
	}
	size := len(strings.Join(header, "; "))
	sess, err := testenv.LoadCookies(s.app.Store, hc.Jar.Cookies(mustURL(s.app.URL)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Cookie header with the sign-in tokens and %d API tokens: %d bytes", len(sess.APITokens), size)
	if len(sess.APITokens) != 3 || size > 8192 {
		t.Errorf("session holds %d API tokens in a %d-byte Cookie header; want 3 within 8 KiB", len(sess.APITokens), size)
	}
}

// TestRedisAPITokens: on Redis, three app instances and ten sessions, a
// burst of API calls spread over the instances obtains each session's API
// token once (the lease-renewed lock and compare-and-swap serve API tokens
// as they serve the sign-in tokens), and no rotated refresh token is
// presented again at the in-process provider, which detects reuse.
func TestRedisAPITokens(t *testing.T) {
	c := newCluster(t, clusterOptions{instances: 3, resource: "https://op-api.example/"})
	var browsers []*http.Client
	for range 10 {
		browsers = append(browsers, c.signIn(t, devprovider.DemoUser))
	}
	before := c.op.Count(devprovider.PathToken)
	st := c.burst(t, browsers, 12)
	if st[http.StatusOK] != 120 || st[-1] != 0 {
		t.Errorf("statuses %v, want 120×200 and no sign-out; reason: %v", st, c.rec.last())
	}
	if n := c.op.Count(devprovider.PathToken) - before; n != 10 {
		t.Errorf("%d token requests for ten sessions' API tokens, want 10", n)
	}
	if n := c.op.ReusedRefreshTokens(); n != 0 {
		t.Errorf("%d rotated-away refresh tokens presented", n)
	}
	// The tokens are in Redis: another burst makes no token request.
	before = c.op.Count(devprovider.PathToken)
	if st := c.burst(t, browsers, 3); st[http.StatusOK] != 30 {
		t.Errorf("second burst: %v", st)
	}
	if n := c.op.Count(devprovider.PathToken) - before; n != 0 {
		t.Errorf("%d token requests for tokens the sessions hold", n)
	}
}

// TestAppClient: the app's own token (client_credentials, for the API's
// resource, at oidc-provider) serves calls made on no user's behalf: one
// token request for concurrent calls, a token for that API, and nowhere
// else.
func TestAppClient(t *testing.T) {
	reports := newResourceServer(t, "https://reports.example/", "reports:write")
	s := newCertified(t, certifiedOptions{
		grantTypes: []string{"authorization_code", "refresh_token", "client_credentials"},
		features:   map[string]any{"clientCredentials": map[string]any{"enabled": true}},
		resources:  map[string]map[string]string{"https://reports.example/": {"scope": "reports:write"}},
		mw: func(c *middleware.Config) {
			c.APIs = append(c.APIs, middleware.API{Name: "reports", BaseURL: reports.URL + "/",
				Resource: "https://reports.example/", Scopes: []string{"reports:write"}})
		},
	})
	reports.trust(s.op.Issuer)
	hc := s.app.Auth.AppClient("reports")
	before := s.op.Counts(t)["/token"]
	var wg sync.WaitGroup
	var mu sync.Mutex
	bodies := map[string]int{}
	for range 8 {
		wg.Go(func() {
			resp, err := hc.Get(reports.URL + "/nightly")
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mu.Lock()
			bodies[fmt.Sprint(resp.StatusCode, " ", strings.Fields(string(b))[0])]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if bodies["200 https://reports.example/"] != 8 {
		t.Errorf("answers %v, want 8 × a token for the reports API", bodies)
	}
	if n := s.op.Counts(t)["/token"] - before; n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	if _, err := hc.Get(s.op.Issuer + "/me"); !errors.Is(err, fail.APINotAllowed) {
		t.Errorf("a call to another URL: %v, want fail.APINotAllowed", err)
	}
}

// TestTokenExchange: an API whose token comes by token exchange (RFC 8693)
// of the user's sign-in token gets one exchange for concurrent calls, a
// token for itself, and no refresh grant.
func TestTokenExchange(t *testing.T) {
	ledger := newResourceServer(t, "https://ledger.example/", "ledger:read")
	s := newCertified(t, certifiedOptions{
		grantTypes: []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"},
		resources:  map[string]map[string]string{"https://ledger.example/": {"scope": "ledger:read"}},
		mw: func(c *middleware.Config) {
			c.APIs = append(c.APIs, middleware.API{Name: "ledger", BaseURL: ledger.URL + "/", Resource: "https://ledger.example/", Scopes: []string{"ledger:read"}, TokenExchange: true})
		},
	})
	ledger.trust(s.op.Issuer)
	s.app.Mux.Handle("/ledger", s.app.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := s.app.Auth.HTTPClient(r).Get(ledger.URL + "/entries")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})))
	hc := s.signIn(t, "alice")
	before := s.op.Counts(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]int{}
	for range 6 {
		wg.Go(func() {
			resp, body := get(t, hc, s.app.URL+"/ledger")
			mu.Lock()
			got[fmt.Sprint(resp.StatusCode, " ", strings.Fields(body)[0])]++
			mu.Unlock()
		})
	}
	wg.Wait()
	after := s.op.Counts(t)
	if got["200 https://ledger.example/"] != 6 {
		t.Errorf("answers %v, want 6 × a token for the ledger", got)
	}
	if n, tok := after["_exchanges"]-before["_exchanges"], after["/token"]-before["/token"]; n != 1 || tok != 1 {
		t.Errorf("%d exchanges, %d token requests; want 1 exchange and nothing else", n, tok)
	}
}

// TestTokenExchangeKeepsSignInTokens (attack review, finding 2): the first
// call to a token-exchange API set the session's refresh token to the
// exchange response's, usually none: the user was signed out when the
// access token expired, and sign-out left the sign-in refresh token live.
// A refresh token the exchange does return is a grant of its own, kept
// with the API's token, never over the sign-in's, and sign-out revokes it
// too. Against oidc-provider (rotation on every use), with and without a
// refresh token in the exchange's answer.
func TestTokenExchangeKeepsSignInTokens(t *testing.T) {
	for _, withRT := range []bool{false, true} {
		t.Run(fmt.Sprintf("exchange returns a refresh token: %v", withRT), func(t *testing.T) {
			ledger := newResourceServer(t, "https://ledger.example/", "ledger:read")
			clock := &testenv.Clock{}
			s := newCertified(t, certifiedOptions{
				accessTTL:  60,
				clock:      clock,
				grantTypes: []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:token-exchange"},
				resources:  map[string]map[string]string{"https://ledger.example/": {"scope": "ledger:read"}},
				op:         func(c *certop.Config) { c.ExchangeRefreshToken = withRT },
				mw: func(c *middleware.Config) {
					c.APIs = append(c.APIs, middleware.API{Name: "ledger", BaseURL: ledger.URL + "/", Resource: "https://ledger.example/", Scopes: []string{"ledger:read"}, TokenExchange: true})
				},
			})
			ledger.trust(s.op.Issuer)
			s.app.APIs = map[string]string{"certified": ledger.URL + "/entries"}
			hc := s.signIn(t, "alice")
			appURL := mustURL(s.app.URL)
			before, err := testenv.LoadCookies(s.app.Store, hc.Jar.Cookies(appURL))
			if err != nil || before.RefreshToken == "" {
				t.Fatalf("after sign-in: refresh token %v (%v)", before != nil && before.RefreshToken != "", err)
			}
			if status, body := testenv.APIRequest(t, hc, s.app.URL); status != 200 || !strings.HasPrefix(body, "https://ledger.example/") {
				t.Fatalf("ledger: %d %s", status, body)
			}
			after, err := testenv.LoadCookies(s.app.Store, hc.Jar.Cookies(appURL))
			if err != nil {
				t.Fatal(err)
			}
			api := after.APITokens["ledger"]
			if after.RefreshToken != before.RefreshToken {
				t.Fatalf("the exchange replaced the sign-in refresh token (now %d bytes)", len(after.RefreshToken))
			}
			if withRT && (api.RefreshToken == "" || api.RefreshToken == after.RefreshToken) {
				t.Errorf("the exchange's refresh token: kept %v, the sign-in's %v; want kept with the API token", api.RefreshToken != "", api.RefreshToken == after.RefreshToken)
			}
			// The sign-in access token expires: the session refreshes
			// with its own refresh token and stays signed in.
			clock.Add(61 * time.Second) // expired, for the app
			if who := s.whoami(t, hc); who != "certified:alice" {
				t.Fatalf("after the access token expired: %q, want still signed in", who)
			}
			refreshed, _ := testenv.LoadCookies(s.app.Store, hc.Jar.Cookies(appURL))
			if refreshed == nil || refreshed.RefreshToken == before.RefreshToken {
				t.Errorf("no refresh of the sign-in tokens")
			}
			resp, err := hc.Post(s.app.URL+"/auth/logout", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if issued, live := s.op.ExchangeRefreshTokens(t); live != 0 || (withRT && issued == 0) {
				t.Errorf("after sign-out: %d of the %d refresh tokens from token exchange still live", live, issued)
			}
		})
	}
}

// noExpiresIn is a provider quirk: token responses without expires_in
// (RFC 6749 5.1 makes it optional).
type noExpiresIn struct{}

func (noExpiresIn) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/token") || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if json.Unmarshal(b, &m) == nil {
		delete(m, "expires_in")
		b, _ = json.Marshal(m)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// TestAppClientRenews (attack review, finding 7): AppClient kept a token
// whose answer had no expires_in forever, and passed the API's 401 on
// without renewing it. A token without expires_in is renewed after 5
// minutes, and one the API refuses is renewed at once, the call sent again
// with its body.
func TestAppClientRenews(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	refused := map[string]bool{}
	var seen []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, tok)
		if refused[tok] {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write(body)
	}))
	defer api.Close()
	s := newCertified(t, certifiedOptions{
		grantTypes: []string{"authorization_code", "refresh_token", "client_credentials"},
		features:   map[string]any{"clientCredentials": map[string]any{"enabled": true}},
		resources:  map[string]map[string]string{"https://reports.example/": {"scope": "reports:write"}},
		client:     func(c *client.Config) { c.Provider = withTransport(t, c.Provider, noExpiresIn{}) },
		mw: func(c *middleware.Config) {
			c.Now = clock
			c.APIs = append(c.APIs, middleware.API{Name: "reports", BaseURL: api.URL + "/",
				Resource: "https://reports.example/", Scopes: []string{"reports:write"}})
		},
	})
	hc := s.app.Auth.AppClient("reports")
	call := func() (int, string) {
		resp, err := hc.Post(api.URL+"/nightly", "text/plain", strings.NewReader("the report"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tokens := func() int { return s.op.Counts(t)["/token"] }
	before := tokens()
	if status, body := call(); status != 200 || body != "the report" || tokens()-before != 1 {
		t.Fatalf("first call: %d %q, %d token requests", status, body, tokens()-before)
	}
	call()
	if n := tokens() - before; n != 1 {
		t.Errorf("a second call: %d token requests, want the token kept", n)
	}
	mu.Lock()
	now = now.Add(6 * time.Minute)
	mu.Unlock()
	call()
	if n := tokens() - before; n != 2 {
		t.Errorf("6 minutes later, no expires_in: %d token requests, want 2 (renewed)", n)
	}
	mu.Lock()
	refused[seen[len(seen)-1]] = true // revoked, as far as the API knows
	mu.Unlock()
	if status, body := call(); status != 200 || body != "the report" {
		t.Errorf("after the API refused the token: %d %q, want the call sent again with a new token and its body", status, body)
	}
	if n := tokens() - before; n != 3 {
		t.Errorf("%d token requests, want 3", n)
	}
}
