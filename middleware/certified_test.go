package middleware_test

import (
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/certop"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// certified is an app signed in through oidc-provider, an OpenID Certified
// provider that is strict where the in-process one is lenient.
type certified struct {
	op  *certop.Provider
	app *testenv.App
}

// certifiedOptions adjust newCertified.
type certifiedOptions struct {
	accessTTL  int            // seconds; default 3600
	grantTypes []string       // the registration's; default authorization_code and refresh_token
	features   map[string]any // oidc-provider's features, merged
	register   func(*certop.Client)
	resources  map[string]map[string]string // oidc-provider's resource servers
	dpopNonce  bool
	client     func(*client.Config)
	mw         func(*middleware.Config)
	// withURL adjusts the middleware's configuration knowing the app's
	// URL (a connected API's registration at its own provider).
	withURL func(appURL string, cfg *middleware.Config)
	op      func(*certop.Config) // adjusts the provider's configuration
	// clock, when set, is the app's (client and middleware): a test moves
	// it to where a token is due instead of sleeping. oidc-provider keeps
	// the wall clock; its DPoP proofs may be 5 minutes off it, client
	// assertions only 15 s (so not with private_key_jwt).
	clock *testenv.Clock
	// tls serves the provider over https and mutual TLS (certop's
	// Config.TLS); the client, the APIs and the browser trust its CA, and
	// /api calls userinfo on its mutual TLS port.
	tls bool
}

// newCertified starts oidc-provider with the app registered and the app,
// whose /api calls the provider's userinfo endpoint with the user's token.
// The client asks for openid profile email offline_access.
func newCertified(t *testing.T, o certifiedOptions) *certified {
	t.Helper()
	s := &certified{}
	s.app = testenv.NewApp(t, nil, func(appURL string) middleware.Config {
		reg := certop.Client{
			ID: "app", Secret: "app-secret-value-never-logged",
			RedirectURIs:           []string{appURL + "/auth/callback"},
			PostLogoutRedirectURIs: []string{appURL + "/"},
			BackchannelLogoutURI:   appURL + "/auth/backchannel-logout",
			BackchannelLogoutSID:   true,
			GrantTypes:             o.grantTypes,
		}
		if o.register != nil {
			o.register(&reg)
		}
		ocfg := certop.Config{AccessTokenTTL: o.accessTTL, Features: o.features, ResourceServers: o.resources, DPoPNonce: o.dpopNonce, Clients: []certop.Client{reg}, TLS: o.tls}
		if o.op != nil {
			o.op(&ocfg)
		}
		s.op = certop.Start(t, ocfg)
		prov, err := client.Discover(t.Context(), s.op.Issuer, client.WithName("certified"), client.WithHTTPClient(s.op.HTTPClient()))
		if err != nil {
			t.Fatal(err)
		}
		ccfg := client.Config{Provider: prov, ClientID: "app", ClientSecret: "app-secret-value-never-logged",
			RedirectURL: appURL + "/auth/callback", Scopes: []string{"openid", "profile", "email", "offline_access"},
			FetchUserInfo: true} // a strict provider puts profile and e-mail claims in userinfo only
		userinfo := s.op.Issuer + "/me"
		if o.tls {
			userinfo = s.op.MTLS + "/me"
		}
		if o.clock != nil {
			ccfg.Now = o.clock.Now
		}
		if o.client != nil {
			o.client(&ccfg)
		}
		c, err := client.New(ccfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg := middleware.Config{Clients: []*client.Client{c}, APIs: []middleware.API{{Name: "userinfo", BaseURL: userinfo}}}
		if o.tls {
			cfg.APITransport = s.op.CA.Transport()
		}
		if o.clock != nil {
			cfg.Now = o.clock.Now
		}
		if o.mw != nil {
			o.mw(&cfg)
		}
		if o.withURL != nil {
			o.withURL(appURL, &cfg)
		}
		return cfg
	})
	s.app.APIs = map[string]string{"certified": s.op.Issuer + "/me"}
	if o.tls {
		s.app.APIs["certified"] = s.op.MTLS + "/me"
	}
	return s
}

// signIn signs account in through the provider's own login and consent
// pages and returns the browser.
func (s *certified) signIn(t *testing.T, account string) *http.Client {
	t.Helper()
	hc := s.op.Browser()
	resp, _ := get(t, hc, s.app.URL+"/profile")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("/profile: %d", resp.StatusCode)
	}
	cb, err := s.op.Login(hc, resp.Header.Get("Location"), account)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/profile" {
		t.Fatalf("callback: %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return hc
}

func (s *certified) whoami(t *testing.T, hc *http.Client) string {
	t.Helper()
	_, who := get(t, hc, s.app.URL+"/whoami")
	return who
}

// TestCertifiedProvider runs the whole flow against oidc-provider through
// its own login and consent pages: sign-in, an API call with the token,
// one refresh (rotating) after a 2-second access token, sign-out at its
// end_session endpoint, and a back-channel logout started at the provider.
func TestCertifiedProvider(t *testing.T) {
	clock := &testenv.Clock{}
	s := newCertified(t, certifiedOptions{accessTTL: 60, clock: clock})
	hc := s.signIn(t, "alice")
	if who := s.whoami(t, hc); who != "certified:alice" {
		t.Fatalf("whoami %q", who)
	}
	sess, err := testenv.LoadCookies(s.app.Store, hc.Jar.Cookies(mustURL(s.app.URL)))
	if err != nil {
		t.Fatal(err)
	}
	if sess.RefreshToken == "" || sess.SID == "" || !sess.EmailVerified {
		t.Fatalf("session: refresh token %v, sid %q, email verified %v; want all (offline_access needs prompt=consent at a strict provider)",
			sess.RefreshToken != "", sess.SID, sess.EmailVerified)
	}
	if status, body := testenv.APIRequest(t, hc, s.app.URL); status != 200 || !strings.Contains(body, `"sub":"alice"`) {
		t.Fatalf("API: %d %s", status, body)
	}

	before := s.op.Counts(t)["/token"]
	clock.Add(31 * time.Second) // due at half of its minute, for the app; still valid at the provider
	for range 3 {
		if status, body := testenv.APIRequest(t, hc, s.app.URL); status != 200 {
			t.Fatalf("API after the token was due: %d %s", status, body)
		}
	}
	if n := s.op.Counts(t)["/token"] - before; n != 1 {
		t.Errorf("%d token requests for the refresh, want 1", n)
	}

	// Sign-out: the app's session ends, then the provider's at its
	// end_session endpoint, which returns to the app.
	resp, err := hc.Post(s.app.URL+"/auth/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	end, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(end.String(), s.op.Issuer+"/session/end") || end.Query().Get("id_token_hint") == "" {
		t.Fatalf("logout went to %s", end)
	}
	back, err := s.op.ConfirmLogout(hc, end.String())
	if err != nil {
		t.Fatal(err)
	}
	if back.String() != s.app.URL+"/" {
		t.Errorf("the provider sent the browser to %s, want the app", back)
	}
	if who := s.whoami(t, hc); who != "anonymous" {
		t.Errorf("after sign-out: %q", who)
	}

	// Back-channel logout started at the provider: a new sign-in, then the
	// user signs out at the provider, which tells the app.
	hc = s.signIn(t, "alice")
	if who := s.whoami(t, hc); who != "certified:alice" {
		t.Fatalf("second sign-in: %q", who)
	}
	if err := s.op.EndSession(hc); err != nil {
		t.Fatal(err)
	}
	if n := s.op.Counts(t)["/session/end/confirm"]; n == 0 {
		t.Error("the provider's logout was not confirmed")
	}
	// The provider delivers the logout token before it answers.
	if who := s.whoami(t, hc); who != "anonymous" {
		t.Errorf("after the provider's back-channel logout: %q", who)
	}
}

// TestCertifiedNoRefreshToken: a registration without the refresh_token
// grant gets no refresh token for offline_access. The app warns once per
// provider (not at every sign-in), and a session ends with its access
// token instead of answering 200 while every API call fails.
func TestCertifiedNoRefreshToken(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	var mu sync.Mutex
	var warnings []event.Event
	s := newCertified(t, certifiedOptions{accessTTL: 60, grantTypes: []string{"authorization_code"},
		client: func(c *client.Config) { c.Now = clock.Now },
		mw: func(c *middleware.Config) {
			c.Now = clock.Now
			c.OnEvent = func(ctx context.Context, e event.Event) {
				testenv.CollectEvent(ctx, e)
				if e.Level() >= slog.LevelWarn {
					mu.Lock()
					warnings = append(warnings, e)
					mu.Unlock()
				}
			}
		}})
	first := s.signIn(t, "alice")
	second := s.signIn(t, "bob")
	mu.Lock()
	if len(warnings) != 1 || warnings[0].Kind != event.NoRefreshToken || !errors.Is(warnings[0].Err, fail.NoRefreshToken) ||
		warnings[0].Provider != "certified" {
		t.Errorf("warnings after two sign-ins: %+v; want one refresh_token.missing for provider certified", warnings)
	}
	mu.Unlock()
	if who := s.whoami(t, second); who != "certified:bob" {
		t.Fatalf("whoami %q", who)
	}
	clock.Add(61 * time.Second)
	if who := s.whoami(t, first); who != "anonymous" {
		t.Errorf("after its only access token expired: %q, want anonymous", who)
	}
	if status, body := testenv.APIRequest(t, second, s.app.URL); status != http.StatusUnauthorized {
		t.Errorf("API call after expiry: %d %s, want 401", status, body)
	}
}

// callbackFor starts a sign-in with a new browser and signs account in at
// the certified provider, stopping before the callback.
func (s *certified) callbackFor(t *testing.T, account string) (*http.Client, *url.URL) {
	t.Helper()
	hc := s.op.Browser()
	resp, _ := get(t, hc, s.app.URL+"/profile")
	cb, err := s.op.Login(hc, resp.Header.Get("Location"), account)
	if err != nil {
		t.Fatal(err)
	}
	return hc, cb
}

// TestResponseIssuer (RFC 9207): the callback's iss must be the provider's
// issuer, and is required from a provider that says it always sends it
// (oidc-provider does); a response that fails either is refused with 400
// before any token request. The in-process provider sends no iss and does
// not promise it: a forged one is still refused.
func TestResponseIssuer(t *testing.T) {
	var rec recordingErrors
	s := newCertified(t, certifiedOptions{mw: rec.install})
	env, zrec, _ := recordedEnv(t, testenv.Options{})
	for _, tc := range []struct {
		name     string
		callback func(t *testing.T) (*http.Client, *url.URL)
		tokens   func() int
		rec      *recordingErrors
		iss      func(q url.Values) // changes the callback's query
		refused  bool
	}{
		{name: "certified: as sent", callback: func(t *testing.T) (*http.Client, *url.URL) { return s.callbackFor(t, "alice") },
			tokens: func() int { return s.op.Counts(t)["/token"] }, rec: &rec, iss: func(url.Values) {}},
		{name: "certified: another issuer", callback: func(t *testing.T) (*http.Client, *url.URL) { return s.callbackFor(t, "alice") },
			tokens: func() int { return s.op.Counts(t)["/token"] }, rec: &rec, iss: func(q url.Values) { q.Set("iss", "https://evil.example") }, refused: true},
		{name: "certified: iss removed", callback: func(t *testing.T) (*http.Client, *url.URL) { return s.callbackFor(t, "alice") },
			tokens: func() int { return s.op.Counts(t)["/token"] }, rec: &rec, iss: func(q url.Values) { q.Del("iss") }, refused: true},
		{name: "certified: error response from another issuer", callback: func(t *testing.T) (*http.Client, *url.URL) { return s.callbackFor(t, "alice") },
			tokens: func() int { return s.op.Counts(t)["/token"] }, rec: &rec, refused: true,
			iss: func(q url.Values) {
				q.Del("code")
				q.Set("error", "access_denied")
				q.Set("iss", "https://evil.example")
			}},
		{name: "in-process: no iss", callback: func(t *testing.T) (*http.Client, *url.URL) {
			hc := testenv.Browser()
			return hc, env.ProviderLogin(t, hc, env.StartLogin(t, hc, "/profile"))
		}, tokens: func() int { return env.OP.Count(devprovider.PathToken) }, rec: zrec, iss: func(url.Values) {}},
		{name: "in-process: a forged iss", callback: func(t *testing.T) (*http.Client, *url.URL) {
			hc := testenv.Browser()
			return hc, env.ProviderLogin(t, hc, env.StartLogin(t, hc, "/profile"))
		}, tokens: func() int { return env.OP.Count(devprovider.PathToken) }, rec: zrec, iss: func(q url.Values) { q.Set("iss", "https://evil.example") }, refused: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hc, cb := tc.callback(t)
			q := cb.Query()
			tc.iss(q)
			cb.RawQuery = q.Encode()
			before := tc.tokens()
			resp, err := hc.Get(cb.String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			n := tc.tokens() - before
			if !tc.refused {
				if resp.StatusCode != http.StatusFound || n != 1 {
					t.Errorf("callback: %d with %d token requests, want 302 and 1", resp.StatusCode, n)
				}
				return
			}
			if resp.StatusCode != http.StatusBadRequest || n != 0 || !errors.Is(tc.rec.last(), fail.ResponseIssuer) {
				t.Errorf("callback: %d with %d token requests, reason %v; want 400, none, ErrResponseIssuer", resp.StatusCode, n, tc.rec.last())
			}
		})
	}
}

// TestPushedAuthorizationRequests (RFC 9126): a provider that requires PAR
// gets every authorization request pushed, and so does one that offers it
// when Config.PAR asks; the browser then carries only client_id and
// request_uri. Without either, the request goes in the URL.
func TestPushedAuthorizationRequests(t *testing.T) {
	for _, tc := range []struct {
		name     string
		required bool
		par      bool
		pushed   bool
	}{
		{"required by the provider", true, false, true},
		{"asked for by the app", false, true, true},
		{"neither", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newCertified(t, certifiedOptions{
				features: map[string]any{"pushedAuthorizationRequests": map[string]any{"enabled": true, "requirePushedAuthorizationRequests": tc.required}},
				client:   func(c *client.Config) { c.PAR = tc.par },
			})
			hc := testenv.Browser()
			resp, _ := get(t, hc, s.app.URL+"/profile")
			authURL, _ := url.Parse(resp.Header.Get("Location"))
			q := authURL.Query()
			if pushed := q.Has("request_uri"); pushed != tc.pushed || (pushed && (len(q) != 2 || q.Get("client_id") != "app")) {
				t.Fatalf("authorization URL %s: pushed %v, want %v (only client_id and request_uri)", authURL, pushed, tc.pushed)
			}
			if n := s.op.Counts(t)["/request"]; (n == 1) != tc.pushed {
				t.Errorf("%d pushed requests", n)
			}
			cb, err := s.op.Login(hc, authURL.String(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
				t.Fatalf("callback: %d %s", resp.StatusCode, body)
			}
			if who := s.whoami(t, hc); who != "certified:alice" {
				t.Errorf("whoami %q", who)
			}
		})
	}
}

// TestPushedAuthorizationRequestRefused: a PAR endpoint that refuses the
// client gives the error page (502, fail.PushedRequest with the
// provider's reason), not a sign-in that cannot work.
func TestPushedAuthorizationRequestRefused(t *testing.T) {
	var rec recordingErrors
	s := newCertified(t, certifiedOptions{
		features: map[string]any{"pushedAuthorizationRequests": map[string]any{"enabled": true, "requirePushedAuthorizationRequests": true}},
		client:   func(c *client.Config) { c.ClientSecret = "not-the-secret" },
		mw:       rec.install,
	})
	resp, _ := get(t, testenv.Browser(), s.app.URL+"/profile")
	var te *client.TokenError
	if err := rec.last(); resp.StatusCode != http.StatusBadGateway || !errors.Is(err, fail.PushedRequest) || !errors.As(err, &te) || te.Code != "invalid_client" ||
		!strings.Contains(err.Error(), "pushed authorization request endpoint answered 401") {
		t.Errorf("%d, reason %v; want 502 with ErrPushedRequest and invalid_client, naming the PAR endpoint", resp.StatusCode, err)
	}
}

// kmsKey hides the key's type: the client sees only a crypto.Signer, as
// with a key in a KMS or HSM.
type kmsKey struct{ crypto.Signer }

// TestPrivateKeyJWT (RFC 7523): with a registration that accepts only
// private_key_jwt, an ECDSA P-256 key (ES256), an RSA key (RS256, PS256)
// and an Ed25519 key (EdDSA) behind a bare crypto.Signer authenticate the
// token, refresh, pushed authorization and revocation requests, the
// method found from discovery, at a provider that takes an assertion only
// for its issuer or for the endpoint that receives it.
// A key the provider does not know is refused at the code exchange.
func TestPrivateKeyJWT(t *testing.T) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name       string
		key        crypto.Signer
		registered crypto.Signer
		alg        string
		ok         bool
	}{
		{"ES256", ec, ec, "", true},
		{"RS256", rs, rs, "", true},
		{"PS256", rs, rs, "PS256", true},
		{"EdDSA", ed, ed, "EdDSA", true},
		{"a key the provider does not know", other, ec, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec recordingErrors
			s := newCertified(t, certifiedOptions{accessTTL: 2,
				features: map[string]any{"pushedAuthorizationRequests": map[string]any{"enabled": true}},
				register: func(c *certop.Client) {
					alg := cmp.Or(tc.alg, map[bool]string{true: "ES256", false: "RS256"}[tc.key != rs])
					jwk, err := json.Marshal(jose.JSONWebKey{Key: tc.registered.Public(), KeyID: "k1", Algorithm: alg, Use: "sig"})
					if err != nil {
						t.Fatal(err)
					}
					c.Secret, c.AuthMethod, c.JWKS = "", "private_key_jwt", &certop.JWKS{Keys: []json.RawMessage{jwk}}
				},
				client: func(c *client.Config) {
					// PAR too, except where the exchange is to be refused.
					c.ClientSecret, c.PrivateKey, c.PAR = "", &client.PrivateKey{Key: kmsKey{tc.key}, KeyID: "k1", Alg: tc.alg}, tc.ok
				},
				op: func(c *certop.Config) { c.StrictAssertionAudience = true },
				mw: rec.install,
			})
			if !tc.ok {
				hc, cb := s.callbackFor(t, "alice")
				resp, _ := get(t, hc, cb.String())
				var te *client.TokenError
				if !errors.As(rec.last(), &te) || te.Code != "invalid_client" || resp.StatusCode == http.StatusFound {
					t.Errorf("callback: %d, reason %v; want invalid_client", resp.StatusCode, rec.last())
				}
				return
			}
			hc := s.signIn(t, "alice")
			if n := s.op.Counts(t)["/request"]; n != 1 {
				t.Errorf("%d pushed requests, want 1", n)
			}
			time.Sleep(1100 * time.Millisecond) // the 2-second token is due
			if status, body := testenv.APIRequest(t, hc, s.app.URL); status != 200 {
				t.Fatalf("API after the refresh: %d %s", status, body)
			}
			if n := s.op.Counts(t)["/token"]; n != 2 {
				t.Errorf("%d token requests, want 2 (code, refresh)", n)
			}
			resp, err := hc.Post(s.app.URL+"/auth/logout", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if n := s.op.Counts(t)["/token/revocation"]; n != 1 {
				t.Errorf("%d revocation requests, want 1", n)
			}
			if err := rec.last(); err != nil {
				t.Errorf("failure: %v", err)
			}
		})
	}
}

// TestPushedRequestsBounded (attack review, finding 7): with PAR every
// anonymous page load of a protected route cost a provider call (and with
// private_key_jwt a signature): a flood of anonymous traffic spent the
// provider's rate limits. client.Config.PARLimit bounds the pushes a
// second (bursts of twice as many); beyond it a sign-in gets 502 and
// nothing is sent, and the bound refills with time.
func TestPushedRequestsBounded(t *testing.T) {
	var rec recordingErrors
	var mu sync.Mutex
	now := time.Now()
	s := newCertified(t, certifiedOptions{
		features: map[string]any{"pushedAuthorizationRequests": map[string]any{"enabled": true}},
		client: func(c *client.Config) {
			c.PAR, c.PARLimit = true, 3
			c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		},
		mw: rec.install,
	})
	load := func() int {
		resp, _ := get(t, testenv.Browser(), s.app.URL+"/profile")
		return resp.StatusCode
	}
	got := map[int]int{}
	for range 10 {
		got[load()]++
	}
	if got[http.StatusFound] != 6 || got[http.StatusBadGateway] != 4 || !errors.Is(rec.last(), client.ErrProviderUnavailable) {
		t.Errorf("10 anonymous page loads: %v (%v), want 6 sign-ins (the burst) and 4 × 502", got, rec.last())
	}
	if n := s.op.Counts(t)["/request"]; n != 6 {
		t.Errorf("%d pushed requests reached the provider, want 6", n)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	got = map[int]int{}
	for range 4 {
		got[load()]++
	}
	if got[http.StatusFound] != 3 || s.op.Counts(t)["/request"] != 9 {
		t.Errorf("a second later: %v, %d pushed; want 3 more sign-ins", got, s.op.Counts(t)["/request"])
	}
}

// TestUserinfoClaimsSurviveRefresh (attack review, finding 7): a strict
// provider puts profile and e-mail claims in userinfo only, which the
// sign-in merges (FetchUserInfo); a refresh replaced the user's claims with
// the refreshed ID token's, so the e-mail was gone and a Claim() route
// flipped to 403. Claims the refreshed ID token does not repeat are kept.
func TestUserinfoClaimsSurviveRefresh(t *testing.T) {
	clock := &testenv.Clock{}
	s := newCertified(t, certifiedOptions{accessTTL: 60, clock: clock})
	s.app.Mux.Handle("/mail", s.app.Auth.RequireWith(middleware.Claim("email", "alice@example.com"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, middleware.UserFrom(r.Context()).Email)
	})))
	hc := s.signIn(t, "alice")
	if resp, body := get(t, hc, s.app.URL+"/mail"); resp.StatusCode != http.StatusOK || body != "alice@example.com" {
		t.Fatalf("/mail after sign-in: %d %q", resp.StatusCode, body)
	}
	before := s.op.Counts(t)["/token"]
	clock.Add(31 * time.Second) // due: the next request refreshes
	if resp, body := get(t, hc, s.app.URL+"/mail"); resp.StatusCode != http.StatusOK || body != "alice@example.com" {
		t.Errorf("/mail after the refresh: %d %q, want 200 with the e-mail", resp.StatusCode, body)
	}
	sess, err := testenv.LoadCookies(s.app.Store, hc.Jar.Cookies(mustURL(s.app.URL)))
	if err != nil || s.op.Counts(t)["/token"] == before || !sess.EmailVerified || sess.Name == "" {
		t.Errorf("after the refresh (%d token requests): %v, e-mail verified %v, name %q", s.op.Counts(t)["/token"]-before, err, sess != nil && sess.EmailVerified, sess.Name)
	}
}

// TestRequestObject (JAR, RFC 9101): with a registration that takes only
// signed request objects (ES256, the private_key_jwt key), the client signs
// each authorization request: pushed (PAR) when the provider has the
// endpoint, the browser then carrying only client_id and request_uri;
// else by value. Without RequestObject the provider refuses the sign-in.
func TestRequestObject(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"})
	for _, tc := range []struct {
		name          string
		par, signed   bool
		wantInBrowser string // a parameter of the authorization URL
	}{
		{"pushed", true, true, "request_uri"},
		{"by value", false, true, "request"},
		{"unsigned", true, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rec recordingErrors
			features := map[string]any{"requestObjects": map[string]any{"enabled": true},
				"pushedAuthorizationRequests": map[string]any{"enabled": tc.par}}
			s := newCertified(t, certifiedOptions{features: features,
				register: func(c *certop.Client) {
					c.Secret, c.AuthMethod, c.JWKS = "", "private_key_jwt", &certop.JWKS{Keys: []json.RawMessage{jwk}}
					c.RequireSignedRequestObject, c.RequestObjectSigningAlg = true, "ES256"
				},
				client: func(c *client.Config) {
					c.ClientSecret, c.PrivateKey, c.RequestObject = "", &client.PrivateKey{Key: kmsKey{key}, KeyID: "k1"}, tc.signed
				},
				mw: rec.install,
			})
			hc := testenv.Browser()
			resp, _ := get(t, hc, s.app.URL+"/profile")
			authURL, _ := url.Parse(resp.Header.Get("Location"))
			if !tc.signed {
				// The provider refuses it: at its endpoint, or back at the
				// callback with an error; no session either way.
				if cb, err := s.op.Login(hc, authURL.String(), "alice"); err == nil {
					get(t, hc, cb.String())
				}
				if resp, _ := get(t, hc, s.app.URL+"/profile"); resp.StatusCode != http.StatusFound {
					t.Errorf("an unsigned request signed in: /profile %d", resp.StatusCode)
				}
				return
			}
			q := authURL.Query()
			if !q.Has(tc.wantInBrowser) || q.Has("state") || q.Has("nonce") || q.Has("code_challenge") || q.Has("redirect_uri") {
				t.Errorf("the browser carries %v, want only what JAR leaves outside (%s)", q, tc.wantInBrowser)
			}
			if tc.wantInBrowser == "request" {
				// The request object itself: signed by the client's key,
				// with the claims JAR and FAPI 2.0 ask for.
				jws, err := jose.ParseSigned(q.Get("request"), []jose.SignatureAlgorithm{jose.ES256})
				if err != nil {
					t.Fatal(err)
				}
				var c map[string]any
				payload, err := jws.Verify(key.Public())
				if err != nil || json.Unmarshal(payload, &c) != nil {
					t.Fatalf("request object: %v", err)
				}
				exp, nbf := c["exp"].(float64), c["nbf"].(float64)
				if jws.Signatures[0].Header.ExtraHeaders["typ"] != "oauth-authz-req+jwt" || c["aud"] != s.op.Issuer || c["iss"] != "app" ||
					c["client_id"] != "app" || c["jti"] == nil || c["state"] == nil || c["code_challenge"] == nil || exp-nbf <= 0 || exp-nbf > 3600 {
					t.Errorf("request object: header %v, claims %v", jws.Signatures[0].Header.ExtraHeaders, c)
				}
			}
			cb, err := s.op.Login(hc, authURL.String(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
				t.Fatalf("callback: %d %s (%v)", resp.StatusCode, body, rec.last())
			}
			if got := s.whoami(t, hc); got != "certified:alice" {
				t.Errorf("signed in as %q", got)
			}
		})
	}
	prov, _ := client.NewProvider("p", client.Endpoints{AuthURL: "https://p.example/authorize", TokenURL: "https://p.example/token"})
	if _, err := client.New(client.Config{Provider: prov, ClientID: "c", ClientSecret: "s", RedirectURL: "https://app.example/auth/callback", RequestObject: true}); !errors.Is(err, fail.ClientConfig) || !strings.Contains(err.Error(), "PrivateKey") {
		t.Errorf("RequestObject without a key: %v, want ErrConfig naming PrivateKey", err)
	}
}

// TestJARM: with ResponseMode "jwt", the provider returns the authorization
// response as a JWT it signs; the callback verifies it (signature, iss, aud,
// exp) before using anything in it, the state first: a sign-in works, the
// browser's callback URL carries no bare code or state, and a response
// whose signature was altered is refused (400) with no token request.
func TestJARM(t *testing.T) {
	var rec recordingErrors
	s := newCertified(t, certifiedOptions{features: map[string]any{"jwtResponseModes": map[string]any{"enabled": true}},
		client: func(c *client.Config) { c.ResponseMode = "jwt" }, mw: rec.install})
	hc, cb := s.callbackFor(t, "alice")
	q := cb.Query()
	if q.Get("response") == "" || q.Has("code") || q.Has("state") {
		t.Fatalf("the callback carries %v, want the response JWT only", q)
	}
	// Forged: the same response with its signature altered.
	forged := *cb
	raw := q.Get("response")
	last := raw[len(raw)-2:]
	alt := map[bool]string{true: "AA", false: "BB"}[last != "AA"]
	fq := url.Values{"response": {raw[:len(raw)-2] + alt}}
	forged.RawQuery = fq.Encode()
	before := s.op.Counts(t)["/token"]
	if resp, _ := get(t, hc, forged.String()); resp.StatusCode != http.StatusBadRequest || !errors.Is(rec.last(), fail.ResponseJWT) || !errors.Is(rec.last(), fail.BadCallback) {
		t.Errorf("altered response: %d, reason %v; want 400 and ErrResponseJWT", resp.StatusCode, rec.last())
	}
	if n := s.op.Counts(t)["/token"] - before; n != 0 {
		t.Errorf("%d token requests for an altered response", n)
	}
	if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d %s (%v)", resp.StatusCode, body, rec.last())
	}
	if got := s.whoami(t, hc); got != "certified:alice" {
		t.Errorf("signed in as %q", got)
	}
}

func mustB64(t *testing.T, s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fapiKeys gives the provider its own keys, RSA (RS256 and PS256) and
// P-256 (ES256), and has it sign and accept those algorithms.
func fapiKeys(t *testing.T, keys ...crypto.Signer) func(*certop.Config) {
	return func(c *certop.Config) {
		c.JWKS = &certop.JWKS{}
		for _, k := range keys {
			b, err := json.Marshal(jose.JSONWebKey{Key: k, KeyID: fmt.Sprintf("op-%T", k), Use: "sig"})
			if err != nil {
				t.Fatal(err)
			}
			c.JWKS.Keys = append(c.JWKS.Keys, b)
		}
		algs := []string{"RS256", "PS256", "ES256"}
		c.EnabledJWA = map[string][]string{"idTokenSigningAlgValues": algs, "authorizationSigningAlgValues": algs,
			"requestObjectSigningAlgValues": algs, "clientAuthSigningAlgValues": algs}
	}
}

// TestFAPI: FAPI 2.0 against oidc-provider's FAPI 2.0 profile, with
// private_key_jwt (ES256) and DPoP: the Security Profile (PAR, PKCE, the
// assertion's aud the issuer, ID tokens signed PS256) and Message Signing
// (JAR and JARM besides) each sign in, call the API with a DPoP-bound
// token, refresh and sign out. An ID token or a JARM response signed RS256
// is refused under the profile (the response before any token request).
func TestFAPI(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	opRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	opEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"})
	for _, tc := range []struct {
		profile        string
		idAlg, jarmAlg string
		refused        error // nil: signs in
		keep           bool  // the provider does not rotate refresh tokens
	}{
		{"2.0", "PS256", "", nil, false},
		{"2.0", "PS256", "", nil, true},
		{"2.0-message-signing", "PS256", "PS256", nil, false},
		{"2.0", "RS256", "", client.ErrInvalidIDToken, false},
		{"2.0-message-signing", "PS256", "RS256", fail.ResponseJWT, false},
	} {
		name := tc.profile + " " + tc.idAlg + " " + tc.jarmAlg
		if tc.keep {
			name += " refresh tokens kept"
		}
		t.Run(name, func(t *testing.T) {
			var rec recordingErrors
			features := map[string]any{"fapi": map[string]any{"enabled": true, "profile": "2.0"},
				"pushedAuthorizationRequests": map[string]any{"enabled": true, "requirePushedAuthorizationRequests": true}}
			if tc.profile == "2.0-message-signing" {
				features["requestObjects"] = map[string]any{"enabled": true}
				features["jwtResponseModes"] = map[string]any{"enabled": true}
			}
			s := newCertified(t, certifiedOptions{accessTTL: 2, features: features,
				register: func(c *certop.Client) {
					c.Secret, c.AuthMethod, c.JWKS = "", "private_key_jwt", &certop.JWKS{Keys: []json.RawMessage{jwk}}
					c.IDTokenSignedResponseAlg = tc.idAlg
					if tc.profile == "2.0-message-signing" {
						c.RequireSignedRequestObject, c.RequestObjectSigningAlg, c.AuthorizationSignedResponseAlg = true, "ES256", tc.jarmAlg
					}
				},
				client: func(c *client.Config) {
					c.ClientSecret, c.PrivateKey, c.DPoP, c.FAPI = "", &client.PrivateKey{Key: kmsKey{key}, KeyID: "k1"}, true, tc.profile
				},
				op: func(c *certop.Config) {
					fapiKeys(t, opRSA, opEC)(c)
					c.KeepRefreshTokens = tc.keep
				},
				mw: rec.install,
			})
			if tc.refused != nil {
				hc, cb := s.callbackFor(t, "alice")
				if resp, _ := get(t, hc, cb.String()); resp.StatusCode == http.StatusFound || !errors.Is(rec.last(), tc.refused) {
					t.Errorf("an RS256 ID token or response: %d, reason %v; want %v", resp.StatusCode, rec.last(), tc.refused)
				}
				if tc.refused == fail.ResponseJWT && s.op.Counts(t)["/token"] != 0 {
					t.Errorf("%d token requests for a response signed RS256", s.op.Counts(t)["/token"])
				}
				return
			}
			hc := s.signIn(t, "alice")
			sess, err := testenv.LoadCookies(s.app.Store, hc.Jar.Cookies(mustURL(s.app.URL)))
			if err != nil || sess.TokenType != "DPoP" {
				t.Fatalf("session: %v, token type %q; want DPoP", err, sess.TokenType)
			}
			if n := s.op.Counts(t)["/request"]; n != 1 {
				t.Errorf("%d pushed requests, want 1", n)
			}
			// The nonce the client drew (in the ID token): at most 64
			// characters, as FAPI 2.0 wants servers to accept.
			var idClaims struct{ Nonce string }
			if parts := strings.Split(sess.IDToken, "."); len(parts) != 3 || json.Unmarshal(mustB64(t, parts[1]), &idClaims) != nil || idClaims.Nonce == "" || len(idClaims.Nonce) > 64 {
				t.Errorf("the ID token's nonce %q: want 1 to 64 characters", idClaims.Nonce)
			}
			// Two refreshes: a provider that rotates the refresh token
			// gives a new one each time, one that keeps it (as FAPI 2.0
			// servers are told to) the same; either way the next works.
			rt := sess.RefreshToken
			for i := range 2 {
				time.Sleep(2100 * time.Millisecond) // the 2-second token expires
				if status, body := testenv.APIRequest(t, hc, s.app.URL); status != 200 || !strings.Contains(body, `"sub":"alice"`) {
					t.Fatalf("API after refresh %d: %d %s (%v)", i+1, status, body, rec.last())
				}
				sess, err := testenv.LoadCookies(s.app.Store, hc.Jar.Cookies(mustURL(s.app.URL)))
				if err != nil {
					t.Fatal(err)
				}
				if (sess.RefreshToken == rt) != tc.keep || sess.RefreshToken == "" {
					t.Errorf("refresh %d: refresh token kept %v; want kept %v", i+1, sess.RefreshToken == rt, tc.keep)
				}
				rt = sess.RefreshToken
			}
			if n := s.op.Counts(t)["/token"]; n != 3 {
				t.Errorf("%d token requests, want 3 (code, two refreshes)", n)
			}
			if err := rec.last(); err != nil {
				t.Errorf("failure: %v", err)
			}
		})
	}
}

// TestFAPIResponseIssuerRequired (issue 34, section 5): under the FAPI 2.0
// profile an authorization response without iss (RFC 9207) is refused
// before any token request, with fail.ResponseIssuer, also from a
// provider whose discovery does not advertise
// authorization_response_iss_parameter_supported (accepted before: only
// the metadata made iss required). FAPI 2.0 servers send it; one that
// sends it without advertising it still signs users in.
func TestFAPIResponseIssuerRequired(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	opRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"})
	var rec recordingErrors
	var prov *client.Provider
	s := newCertified(t, certifiedOptions{
		features: map[string]any{"fapi": map[string]any{"enabled": true, "profile": "2.0"},
			"pushedAuthorizationRequests": map[string]any{"enabled": true, "requirePushedAuthorizationRequests": true}},
		register: func(c *certop.Client) {
			c.Secret, c.AuthMethod, c.JWKS, c.IDTokenSignedResponseAlg = "", "private_key_jwt", &certop.JWKS{Keys: []json.RawMessage{jwk}}, "PS256"
		},
		client: func(c *client.Config) {
			c.ClientSecret, c.PrivateKey, c.DPoP, c.FAPI = "", &client.PrivateKey{Key: kmsKey{key}, KeyID: "k1"}, true, "2.0"
			prov = c.Provider
		},
		op: func(c *certop.Config) {
			fapiKeys(t, opRSA)(c)
			c.DiscoveryOmit = []string{"authorization_response_iss_parameter_supported"}
		},
		mw: rec.install,
	})
	ep, err := discovered(t.Context(), prov)
	if err != nil || ep.ResponseIss {
		t.Fatalf("discovery: %v, ResponseIss %v; want it not advertised", err, ep.ResponseIss)
	}
	for _, tc := range []struct {
		name    string
		drop    bool // the iss parameter, from the callback's query
		refused bool
	}{
		{"iss as the provider sent it", false, false},
		{"iss removed", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hc, cb := s.callbackFor(t, "alice")
			q := cb.Query()
			if q.Get("iss") != s.op.Issuer {
				t.Fatalf("the provider sent iss %q", q.Get("iss"))
			}
			if tc.drop {
				q.Del("iss")
			}
			cb.RawQuery = q.Encode()
			before := s.op.Counts(t)["/token"]
			resp, body := get(t, hc, cb.String())
			n := s.op.Counts(t)["/token"] - before
			if !tc.refused {
				if resp.StatusCode != http.StatusFound || n != 1 {
					t.Errorf("callback: %d with %d token requests (%s, reason %v); want 302 and 1", resp.StatusCode, n, body, rec.last())
				}
				return
			}
			if resp.StatusCode != http.StatusBadRequest || n != 0 || !errors.Is(rec.last(), fail.ResponseIssuer) {
				t.Errorf("callback: %d with %d token requests, reason %v; want 400, none, ErrResponseIssuer", resp.StatusCode, n, rec.last())
			}
			if who := s.whoami(t, hc); who != "anonymous" {
				t.Errorf("after the refused callback: %q", who)
			}
		})
	}
}
