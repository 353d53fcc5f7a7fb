package middleware_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// TestDPoP runs DPoP (RFC 9449) against oidc-provider, with and without
// the provider's nonce: the sign-in yields DPoP-bound tokens and a key kept
// in the session; API calls (its userinfo endpoint, which checks proofs)
// and the refresh after a 2-second token carry proofs; the token alone, as
// a thief would have it, is refused.
func TestDPoP(t *testing.T) {
	for _, nonce := range []bool{false, true} {
		name := "without nonce"
		if nonce {
			name = "with the provider's nonce"
		}
		t.Run(name, func(t *testing.T) {
			var rec recordingErrors
			clock := &testenv.Clock{}
			s := newCertified(t, certifiedOptions{accessTTL: 60, dpopNonce: nonce, mw: rec.install, clock: clock,
				client: func(c *client.Config) { c.DPoP = true }})
			hc := s.signIn(t, "alice")
			sess, err := testenv.LoadCookies(s.app.Store, hc.Jar.Cookies(mustURL(s.app.URL)))
			if err != nil {
				t.Fatal(err)
			}
			if sess.TokenType != "DPoP" || len(sess.DPoPKey) == 0 || !sess.EmailVerified {
				t.Fatalf("session: token type %q, key %d bytes, userinfo read %v; want DPoP with its key", sess.TokenType, len(sess.DPoPKey), sess.EmailVerified)
			}
			if status, body := testenv.APIRequest(t, hc, s.app.URL); status != 200 || !strings.Contains(body, `"sub":"alice"`) {
				t.Fatalf("API: %d %s (%v)", status, body, rec.last())
			}
			// The token without the key is worth nothing.
			for _, scheme := range []string{"DPoP", "Bearer"} {
				req, _ := http.NewRequest("GET", s.op.Issuer+"/me", nil)
				req.Header.Set("Authorization", scheme+" "+sess.AccessToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusBadRequest {
					t.Errorf("the stolen token as %s without a proof: %d, want it refused (400 or 401)", scheme, resp.StatusCode)
				}
			}
			before := s.op.Counts(t)["/token"]
			clock.Add(31 * time.Second) // due at half of its minute, for the app
			for range 3 {
				if status, body := testenv.APIRequest(t, hc, s.app.URL); status != 200 {
					t.Fatalf("API after the refresh: %d %s (%v)", status, body, rec.last())
				}
			}
			token := s.op.Counts(t)["/token"] - before
			if want := map[bool]int{false: 1, true: 2}[nonce]; token > want || token < 1 {
				t.Errorf("%d token requests for one refresh, want %d", token, want)
			}
		})
	}
}

// TestDPoPThroughProxy: the backend-for-frontend sends a DPoP-bound token
// with its proof (htu: the API's URL), which oidc-provider's userinfo
// endpoint checks; a DPoP header the browser sends is not passed on.
func TestDPoPThroughProxy(t *testing.T) {
	s := newCertified(t, certifiedOptions{client: func(c *client.Config) { c.DPoP = true },
		mw: func(c *middleware.Config) {
			issuer := strings.TrimSuffix(c.APIs[0].BaseURL, "/me")
			c.APIs = []middleware.API{{Name: "op", BaseURL: issuer + "/"}}
		}})
	s.app.Mux.Handle("/bff/op/", http.StripPrefix("/bff/op", s.app.Auth.Proxy("op")))
	hc := s.signIn(t, "alice")
	resp, body := spaCall(t, hc, "GET", s.app.URL+"/bff/op/me", http.Header{"Dpop": {"forged-by-the-page"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"sub":"alice"`) {
		t.Errorf("userinfo through the proxy: %d %s", resp.StatusCode, body)
	}
}

// noRequest is a custom transport that leaves Response.Request nil, as the
// http.RoundTripper contract allows a transport that builds its own
// responses to.
type noRequest struct{}

func (noRequest) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if resp != nil {
		resp.Request = nil
	}
	return resp, err
}

// TestDPoPNonceWithoutResponseRequest (attack review, finding 7): a
// custom transport returning responses without Request, with a provider
// that sends DPoP-Nonce, panicked where the nonce was learnt: in the
// callback, and in the refresh goroutine, which nothing recovered (the
// process died). The nonce's origin comes from the request sent; and a
// panic inside a refresh becomes an error instead of ending the process.
func TestDPoPNonceWithoutResponseRequest(t *testing.T) {
	var rec recordingErrors
	clock := &testenv.Clock{}
	s := newCertified(t, certifiedOptions{accessTTL: 60, dpopNonce: true, clock: clock, mw: func(c *middleware.Config) {
		rec.install(c)
		c.APITransport = noRequest{}
	}, client: func(c *client.Config) {
		c.DPoP = true
		c.Provider = withTransport(t, c.Provider, noRequest{})
	}})
	hc := s.signIn(t, "alice")
	if status, body := testenv.APIRequest(t, hc, s.app.URL); status != 200 {
		t.Fatalf("API: %d %s (%v)", status, body, rec.last())
	}
	clock.Add(31 * time.Second) // due: the refresh runs in its own goroutine
	if status, body := testenv.APIRequest(t, hc, s.app.URL); status != 200 {
		t.Fatalf("API after the refresh: %d %s (%v)", status, body, rec.last())
	}
}

// panicky panics on the token requests it is told to, as a buggy custom
// transport might.
type panicky struct{ on atomic.Bool }

func (p *panicky) RoundTrip(r *http.Request) (*http.Response, error) {
	if p.on.Load() && strings.HasSuffix(r.URL.Path, "/token") {
		panic("a custom transport's bug")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestRefreshPanicRecovered (attack review, finding 7): a refresh runs in a
// goroutine of its own; a panic there (a custom transport's bug) ended the
// process. It is now the refresh's error: the session is kept, the request
// gets 503, and the next refresh works.
func TestRefreshPanicRecovered(t *testing.T) {
	tr := &panicky{}
	clock := &testenv.Clock{}
	s := newCertified(t, certifiedOptions{accessTTL: 60, clock: clock, client: func(c *client.Config) { c.Provider = withTransport(t, c.Provider, tr) },
		mw: func(c *middleware.Config) { c.RetryAfter = time.Second }})
	hc := s.signIn(t, "alice")
	clock.Add(61 * time.Second) // expired, for the app: the request needs the refresh
	tr.on.Store(true)
	if status, body := testenv.APIRequest(t, hc, s.app.URL); status != http.StatusServiceUnavailable {
		t.Errorf("while the refresh panics: %d %s, want 503", status, body)
	}
	tr.on.Store(false)
	clock.Add(2 * time.Second) // past RetryAfter
	if status, body := testenv.APIRequest(t, hc, s.app.URL); status != http.StatusOK {
		t.Errorf("afterwards: %d %s, want 200", status, body)
	}
}
