package middleware_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// recordingErrors installs an ErrorHandler that keeps the failure reasons.
type recordingErrors struct {
	mu   sync.Mutex
	errs []error
}

func (re *recordingErrors) install(c *middleware.Config) {
	c.ErrorHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := middleware.FailureReason(r)
		re.mu.Lock()
		re.errs = append(re.errs, err)
		re.mu.Unlock()
		w.WriteHeader(middleware.StatusCode(err))
	})
}

func (re *recordingErrors) last() error {
	re.mu.Lock()
	defer re.mu.Unlock()
	if len(re.errs) == 0 {
		return nil
	}
	return re.errs[len(re.errs)-1]
}

func callback(t *testing.T, env *testenv.Env, hc *http.Client, cb string) *http.Response {
	t.Helper()
	resp, err := hc.Get(cb)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestCallbackState: the callback refuses missing, unknown, replayed and
// expired state with a 4xx, and makes no token request for any of them.
func TestCallbackState(t *testing.T) {
	var rec recordingErrors
	var clock testenv.Clock
	env := testenv.New(t, testenv.Options{Middleware: func(c *middleware.Config) {
		rec.install(c)
		c.Now = clock.Now
	}})

	cases := []struct {
		name   string
		mangle func(t *testing.T, hc *http.Client, cb *url.URL) string
		want   error
	}{
		{"missing", func(t *testing.T, hc *http.Client, cb *url.URL) string {
			q := cb.Query()
			q.Del("state")
			cb.RawQuery = q.Encode()
			return cb.String()
		}, fail.StateMissing},
		{"wrong", func(t *testing.T, hc *http.Client, cb *url.URL) string {
			q := cb.Query()
			q.Set("state", q.Get("state")+"x")
			cb.RawQuery = q.Encode()
			return cb.String()
		}, fail.StateMismatch},
		{"other browser", func(t *testing.T, hc *http.Client, cb *url.URL) string {
			hc.Jar, _ = cookieJar()
			return cb.String()
		}, fail.StateMismatch},
		{"replayed", func(t *testing.T, hc *http.Client, cb *url.URL) string {
			if resp := callback(t, env, hc, cb.String()); resp.StatusCode != http.StatusFound {
				t.Fatalf("first use: %d", resp.StatusCode)
			}
			return cb.String()
		}, fail.StateMismatch},
		{"expired", func(t *testing.T, hc *http.Client, cb *url.URL) string {
			clock.Set(time.Now().Add(11 * time.Minute))
			t.Cleanup(func() { clock.Set(time.Time{}) })
			return cb.String()
		}, fail.StateExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hc := testenv.Browser()
			cb := env.ProviderLogin(t, hc, env.StartLogin(t, hc, "/profile"))
			target := tc.mangle(t, hc, cb)
			before := env.OP.Count(devprovider.PathToken)
			resp := callback(t, env, hc, target)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			if err := rec.last(); !errors.Is(err, tc.want) {
				t.Errorf("reason %v, want %v", err, tc.want)
			}
			if got := env.OP.Count(devprovider.PathToken); got != before {
				t.Errorf("%d token requests made for a bad state", got-before)
			}
			if _, body := env.Get(t, hc, "/whoami"); body != "anonymous" && tc.name != "replayed" {
				t.Errorf("signed in after a bad callback: %q", body)
			}
		})
	}
}

// TestProviderErrorCallback: ?error=access_denied (the user pressed Deny)
// goes to the error handler with a 403 and is never exchanged.
func TestProviderErrorCallback(t *testing.T) {
	var rec recordingErrors
	env := testenv.New(t, testenv.Options{Middleware: rec.install})
	hc := testenv.Browser()
	authURL := env.StartLogin(t, hc, "/profile")
	// Open the login form and press Deny.
	resp, err := hc.Get(authURL.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	form, _ := resp.Request.URL.Parse(resp.Header.Get("Location"))
	resp, err = hc.PostForm(env.OP.Issuer+"/login", url.Values{"id": {form.Query().Get("id")}, "action": {"deny"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb := resp.Header.Get("Location")
	if !strings.Contains(cb, "error=access_denied") {
		t.Fatalf("provider redirected to %q", cb)
	}
	resp = callback(t, env, hc, cb)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status %d, want 403", resp.StatusCode)
	}
	var pe *middleware.ProviderError
	if err := rec.last(); !errors.Is(err, middleware.ErrProviderError) || !errors.As(err, &pe) || pe.Code != "access_denied" {
		t.Errorf("reason %v, want a ProviderError access_denied", err)
	}
	if n := env.OP.Count(devprovider.PathToken); n != 0 {
		t.Errorf("%d token requests for an error callback", n)
	}
}

// TestProviderErrorDefaultPage: the default error page says why, with the
// right status and a link to sign in again.
func TestProviderErrorDefaultPage(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	hc := testenv.Browser()
	resp, body := env.Get(t, hc, "/auth/callback?error=access_denied&state=nope")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400 (unknown state comes first)", resp.StatusCode)
	}
	if !strings.Contains(body, `href="/auth/login"`) || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("error page lacks the sign-in link: %s", body)
	}
}

// idTokenTamper rewrites the ID token of every token response.
func idTokenTamper(t *testing.T, env *testenv.Env, mint func(claims map[string]any) string) {
	env.OP.SetTokenHook(func(resp map[string]any) {
		raw, _ := resp["id_token"].(string)
		parts := strings.Split(raw, ".")
		if len(parts) != 3 {
			t.Errorf("token response without a JWT id_token")
			return
		}
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var claims map[string]any
		json.Unmarshal(payload, &claims)
		resp["id_token"] = mint(claims)
	})
}

func signWith(key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		panic(err)
	}
	payload, _ := json.Marshal(claims)
	obj, _ := signer.Sign(payload)
	s, _ := obj.CompactSerialize()
	return s
}

func unsigned(claims map[string]any) string {
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	p, _ := json.Marshal(claims)
	return h + "." + enc.EncodeToString(p) + "."
}

// TestIDTokenChecks: every ID token rule refuses sign-in with a 401 and the
// matching sentinel, and no session is created.
func TestIDTokenChecks(t *testing.T) {
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	var rec recordingErrors
	env := testenv.New(t, testenv.Options{Middleware: rec.install})
	now := float64(time.Now().Unix())
	cases := []struct {
		name string
		mint func(c map[string]any) string
		want error
	}{
		{"control: re-signed unchanged", func(c map[string]any) string { return env.OP.Sign(c) }, nil},
		{"nonce mismatch", func(c map[string]any) string { c["nonce"] = "attacker"; return env.OP.Sign(c) }, fail.NonceMismatch},
		{"nonce missing", func(c map[string]any) string { delete(c, "nonce"); return env.OP.Sign(c) }, fail.NonceMismatch},
		{"bad signature", func(c map[string]any) string { return signWith(otherKey, jose.RS256, env.OP.KeyID(), c) }, client.ErrInvalidIDToken},
		{"unknown kid", func(c map[string]any) string { return signWith(otherKey, jose.RS256, "other", c) }, client.ErrInvalidIDToken},
		{"alg none", func(c map[string]any) string { return unsigned(c) }, client.ErrInvalidIDToken},
		{"HS256 with public key confusion", func(c map[string]any) string {
			return signWith([]byte("a shared secret of thirty-two bytes!"), jose.HS256, env.OP.KeyID(), c)
		}, client.ErrInvalidIDToken},
		{"wrong audience", func(c map[string]any) string { c["aud"] = []string{"someone-else"}; return env.OP.Sign(c) }, client.ErrInvalidIDToken},
		{"several audiences without azp", func(c map[string]any) string {
			c["aud"] = []string{testenv.ClientID, "other"}
			delete(c, "azp")
			return env.OP.Sign(c)
		}, client.ErrInvalidIDToken},
		{"azp of another client", func(c map[string]any) string { c["azp"] = "other"; return env.OP.Sign(c) }, client.ErrInvalidIDToken},
		{"wrong issuer", func(c map[string]any) string { c["iss"] = "https://evil.example"; return env.OP.Sign(c) }, client.ErrInvalidIDToken},
		{"expired", func(c map[string]any) string { c["exp"] = now - 3600; c["iat"] = now - 7200; return env.OP.Sign(c) }, client.ErrInvalidIDToken},
		{"issued in the future", func(c map[string]any) string { c["iat"] = now + 3600; return env.OP.Sign(c) }, client.ErrInvalidIDToken},
		{"missing iat", func(c map[string]any) string { delete(c, "iat"); return env.OP.Sign(c) }, client.ErrInvalidIDToken},
		{"missing sub", func(c map[string]any) string { delete(c, "sub"); return env.OP.Sign(c) }, client.ErrInvalidIDToken},
		{"at_hash mismatch", func(c map[string]any) string { c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA"; return env.OP.Sign(c) }, fail.AccessTokenHash},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			idTokenTamper(t, env, tc.mint)
			defer env.OP.SetTokenHook(nil)
			hc := testenv.Browser()
			resp := env.SignIn(t, hc, "/profile")
			_, who := env.Get(t, hc, "/whoami")
			if tc.want == nil {
				if resp.StatusCode != http.StatusFound || who != devprovider.DemoUser.ID {
					t.Fatalf("control case refused: %d, reason %v", resp.StatusCode, rec.last())
				}
				return
			}
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", resp.StatusCode)
			}
			if err := rec.last(); !errors.Is(err, tc.want) {
				t.Errorf("reason %v, want %v", err, tc.want)
			}
			if who != "anonymous" {
				t.Errorf("signed in as %q with a bad ID token", who)
			}
		})
	}
}

// TestParallelTabs: two sign-ins started in two tabs of one browser both
// succeed, whichever finishes first, each landing on its own page.
func TestParallelTabs(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	hc := testenv.Browser()
	a := env.StartLogin(t, hc, "/profile?tab=a")
	b := env.StartLogin(t, hc, "/profile?tab=b")
	cbA := env.ProviderLogin(t, hc, a)
	cbB := env.ProviderLogin(t, hc, b)
	for _, c := range []struct {
		cb   *url.URL
		want string
	}{{cbB, "/profile?tab=b"}, {cbA, "/profile?tab=a"}} {
		resp := callback(t, env, hc, c.cb.String())
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != c.want {
			t.Errorf("callback: %d to %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), c.want)
		}
	}
	if _, who := env.Get(t, hc, "/whoami"); who != devprovider.DemoUser.ID {
		t.Errorf("whoami = %q", who)
	}
}

// TestFlowCookiesBoundedConcurrently pins a review finding: sign-ins
// started at the same time each saw the same cookies and each added one, so
// a browser ended up with more than MaxFlows flow cookies (17 seen). Every
// response here is computed from the same Cookie header, as for requests in
// flight together, and the browser applies them all: it still holds at
// most MaxFlows, and exactly the attempts whose cookie it holds can finish.
func TestFlowCookiesBoundedConcurrently(t *testing.T) {
	const maxFlows, burst = 3, 20
	env := testenv.New(t, testenv.Options{Middleware: func(c *middleware.Config) { c.MaxFlows = maxFlows }})
	hc := testenv.Browser()
	app := mustURL(env.App.URL)
	attempts := []*url.URL{env.StartLogin(t, hc, "/profile")} // one already in progress
	snapshot := hc.Jar.Cookies(app)
	resps := make([]*http.Response, burst)
	var wg sync.WaitGroup
	for i := range resps {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", env.App.URL+"/profile?tab="+strconv.Itoa(i), nil)
			req.Header.Set("Accept", "text/html")
			testenv.AddCookies(req, snapshot)
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			resps[i] = resp
		})
	}
	wg.Wait()
	for _, resp := range resps {
		if resp == nil {
			t.FailNow()
		}
		hc.Jar.SetCookies(app, resp.Cookies())
		loc, _ := url.Parse(resp.Header.Get("Location"))
		attempts = append(attempts, loc)
	}
	held := 0
	for _, c := range hc.Jar.Cookies(app) {
		if strings.HasPrefix(c.Name, "confidant_flow.") {
			held++
		}
	}
	if held == 0 || held > maxFlows {
		t.Fatalf("the browser holds %d flow cookies after %d sign-ins started together, want 1 to %d", held, burst, maxFlows)
	}
	finished := 0
	for _, a := range attempts {
		cb := env.ProviderLogin(t, hc, a)
		if resp := callback(t, env, hc, cb.String()); resp.StatusCode == http.StatusFound {
			finished++
		} else if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("callback: %d, want 302 or 400", resp.StatusCode)
		}
	}
	if finished != held {
		t.Errorf("%d attempts finished, want %d (one per flow cookie held)", finished, held)
	}
}

// TestFlowCookiesBounded: a browser that starts many sign-ins keeps at most
// MaxFlows flow cookies.
func TestFlowCookiesBounded(t *testing.T) {
	env := testenv.New(t, testenv.Options{Middleware: func(c *middleware.Config) { c.MaxFlows = 3 }})
	hc := testenv.Browser()
	var first *url.URL
	for i := range 6 {
		u := env.StartLogin(t, hc, "/profile")
		if i == 0 {
			first = u
		}
	}
	n := 0
	for _, c := range hc.Jar.Cookies(mustURL(env.App.URL + "/auth/callback")) {
		if strings.HasPrefix(c.Name, "confidant_flow.") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d flow cookies, want 3", n)
	}
	// The oldest attempt was dropped: its callback is refused.
	cb := env.ProviderLogin(t, hc, first)
	if resp := callback(t, env, hc, cb.String()); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("dropped attempt: status %d, want 400", resp.StatusCode)
	}
}
