package middleware_test

// Attacks on #38's step-up through the BFF, the login route's scope, and
// client ID metadata documents. Each test fails on the code as it is and
// passes once the weakness it names is fixed.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/internal/testkit/certop"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// atk38bProxied calls path through the app's proxy as confidant.js does
// (X-CSRF), returning the status, the headers and the body.
func atk38bProxied(t *testing.T, hc *http.Client, u string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("X-CSRF", "1")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header, b.String()
}

// atk38bApp is a signed-in app whose API "api" (a plain BaseURL: the
// session's token) answers as answer says, mounted at /bff/api/.
func atk38bApp(t *testing.T, answer http.HandlerFunc) (*certified, *http.Client) {
	s, hc, _ := atk38bAppAt(t, answer)
	return s, hc
}

func atk38bAppAt(t *testing.T, answer http.HandlerFunc) (*certified, *http.Client, string) {
	t.Helper()
	api := httptest.NewServer(answer)
	t.Cleanup(api.Close)
	s := newCertified(t, certifiedOptions{
		mw: func(cfg *middleware.Config) {
			cfg.APIs = append(cfg.APIs, middleware.API{Name: "api", BaseURL: api.URL + "/"})
		}})
	s.app.Mux.Handle("/bff/api/", http.StripPrefix("/bff/api", s.app.Auth.Proxy("api")))
	return s, s.signIn(t, "zoe"), api.URL + "/"
}

// TestAttack38bHelperFollowsAPILoginURL: the proxy passes an API's own
// 401/403 JSON through untouched, and confidant.js follows any such
// answer's login_url. Its same-origin check looks at the URL resolved
// against the origin, but it then navigates to pathname+search, which a
// path like "/.//evil.example/x" turns into the scheme-relative
// "//evil.example/x": a hostile API sends the user to any site (an open
// redirect, phishing a sign-in page) from the app's own page.
func TestAttack38bHelperFollowsAPILoginURL(t *testing.T) {
	node := testenv.RequireBinary(t, "node")
	s, hc := atk38bApp(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"error":"insufficient_scope","login_url":"/.//evil.example/sign-in"}`)
	})
	status, h, body := atk38bProxied(t, hc, s.app.URL+"/bff/api/orders")
	if status != http.StatusForbidden || !strings.Contains(body, "evil.example") {
		t.Fatalf("the proxied answer: %d %s", status, body)
	}

	// The page's helper, as shipped, given that answer.
	helper, err := os.ReadFile("../examples/bff/static/confidant.js")
	if err != nil {
		t.Fatal(err)
	}
	harness := string(helper) + `
const origin = process.env.APP_ORIGIN;
globalThis.location = { origin, pathname: '/spa', search: '', hash: '',
  assign(u) { console.log('ASSIGN ' + new URL(u, origin + '/spa').href); } };
globalThis.fetch = async () => new Response(process.env.BODY, { status: Number(process.env.STATUS), headers: { 'Content-Type': process.env.CT } });
confidant.fetch('/bff/api/orders').then(() => console.log('RETURNED'), (e) => console.log('THREW ' + e.message));
`
	dir := t.TempDir()
	script := filepath.Join(dir, "h.js")
	os.WriteFile(script, []byte(harness), 0o600)
	cmd := exec.Command(node, script)
	cmd.Env = append(os.Environ(), "APP_ORIGIN="+s.app.URL, "BODY="+body, "STATUS="+fmt.Sprint(status), "CT="+h.Get("Content-Type"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if to, ok := strings.CutPrefix(line, "ASSIGN "); ok {
			u, _ := url.Parse(to)
			if netx.Origin(u) != s.app.URL {
				t.Errorf("an API's own answer made confidant.js navigate off the app's origin, to %s", to)
			}
		}
	}
	t.Logf("helper: %s", out)
}

// atk38bScopesAPI is a resource server that takes oidc-provider's JWT
// access tokens for its own resource: /need/SCOPE answers 403
// insufficient_scope (scope=SCOPE) to a token without SCOPE.
type atk38bScopesAPI struct {
	*httptest.Server
	URL, issuer string
	keys        *oidc.RemoteKeySet
}

func (a *atk38bScopesAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	payload, err := a.keys.VerifySignature(r.Context(), raw)
	var c struct{ Iss, Scope string }
	if err == nil {
		err = json.Unmarshal(payload, &c)
	}
	if err != nil || c.Iss != a.issuer {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	need, _ := strings.CutPrefix(r.URL.Path, "/need/")
	if !slices.Contains(strings.Fields(c.Scope), need) {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+need+`"`)
		w.WriteHeader(http.StatusForbidden)
		return
	}
	fmt.Fprint(w, c.Scope)
}

// TestAttack38bScopeStepUpsUndoEachOther: a scope step-up asks for the
// client's Scopes plus the scopes the API named, and nothing the session
// gained from an earlier step-up. Two honest APIs (or two paths of one)
// that each want a scope of their own take it from each other: after
// signing in for delete, write is gone, and the next call for write gets
// a login_url again (the mark names the other requirement, so the guard
// does not stop it). confidant.js follows each: a page that makes both
// calls loops through the provider for ever.
func TestAttack38bScopeStepUpsUndoEachOther(t *testing.T) {
	api := &atk38bScopesAPI{}
	api.Server = httptest.NewServer(api)
	t.Cleanup(api.Close)
	api.URL = api.Server.URL + "/"
	s := newCertified(t, certifiedOptions{
		op: func(c *certop.Config) {
			c.ResourceServers = map[string]map[string]string{api.URL: {"scope": "read write delete"}}
		},
		client: func(c *client.Config) { c.Scopes = append(c.Scopes, "read") },
		withURL: func(_ string, cfg *middleware.Config) {
			ep, err := cfg.Clients[0].Provider().Endpoints(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			api.issuer, api.keys = ep.Issuer, oidc.NewRemoteKeySet(context.Background(), ep.JWKSURL)
			cfg.APIs = append(cfg.APIs, middleware.API{Name: "api", BaseURL: api.URL, Resource: api.URL})
		}})
	s.app.Mux.Handle("/bff/api/", http.StripPrefix("/bff/api", s.app.Auth.Proxy("api")))
	hc := s.signIn(t, "ursula")

	stepUp := func(scope string) (authzScopes []string) {
		t.Helper()
		status, _, body := atk38bProxied(t, hc, s.app.URL+"/bff/api/need/"+scope)
		var ans struct {
			LoginURL string `json:"login_url"`
		}
		json.Unmarshal([]byte(body), &ans)
		if status != http.StatusForbidden || !strings.HasPrefix(ans.LoginURL, "/auth/login?") {
			t.Fatalf("/need/%s: %d %s", scope, status, body)
		}
		resp, _ := get(t, hc, s.app.URL+ans.LoginURL+"&return_to=%2F")
		authz, _ := url.Parse(resp.Header.Get("Location"))
		cb, err := s.op.Login(hc, authz.String(), "ursula")
		if err != nil {
			t.Fatal(err)
		}
		get(t, hc, cb.String())
		return strings.Fields(authz.Query().Get("scope"))
	}
	stepUp("write")
	if status, _, body := atk38bProxied(t, hc, s.app.URL+"/bff/api/need/write"); status != http.StatusOK {
		t.Fatalf("/need/write after its step-up: %d %s", status, body)
	}
	if asked := stepUp("delete"); !slices.Contains(asked, "write") {
		t.Errorf("the step-up for delete asks for %q: the write the session was given a moment ago is dropped", asked)
	}
	if status, _, body := atk38bProxied(t, hc, s.app.URL+"/bff/api/need/write"); status != http.StatusOK {
		t.Errorf("/need/write after the step-up for delete: %d %s (another sign-in offered: the two step-ups loop)", status, body)
	}
}

// TestAttack38bChallengeParamInjection: an API's scope and acr_values
// are re-emitted in the app's own WWW-Authenticate inside a quoted-string
// without escaping. A value with an (escaped) quote closes the string
// and adds parameters of the API's choosing (error_uri, a different
// error) to the app's challenge.
func TestAttack38bChallengeParamInjection(t *testing.T) {
	var mu sync.Mutex
	challenge := ""
	s, hc := atk38bApp(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("WWW-Authenticate", challenge)
		if strings.Contains(challenge, "insufficient_scope") {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
	})
	for _, c := range []struct{ name, challenge string }{
		{"scope", `Bearer error="insufficient_scope", scope="write\",error_uri=\"https://evil.example/"`},
		{"acr_values", `Bearer error="insufficient_user_authentication", acr_values="mfa\",error_uri=\"https://evil.example/"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			mu.Lock()
			challenge = c.challenge
			mu.Unlock()
			status, h, body := atk38bProxied(t, hc, s.app.URL+"/bff/api/x")
			got := h.Get("WWW-Authenticate")
			scheme, rest, _ := strings.Cut(got, " ")
			params := netx.AuthParams(rest)
			if scheme != "Bearer" || params["error_uri"] != "" {
				t.Errorf("%d: the app's challenge %q carries the API's error_uri %q (body %s)", status, got, params["error_uri"], body)
			}
		})
	}
}

// TestAttack38bUnboundedACRValues: an API's scope is bounded (32 values
// of 128 bytes) but its acr_values are taken whole: thousands of them
// come back in the app's WWW-Authenticate and login_url (a response
// header of hundreds of kilobytes), and a navigation's step-up (Auth.StepUp)
// puts them in the authorization URL and the flow cookie, which browsers
// drop beyond 4 KB.
func TestAttack38bUnboundedACRValues(t *testing.T) {
	var acr []string
	for i := range 3000 {
		acr = append(acr, fmt.Sprintf("urn:example:acr:%060d", i))
	}
	s, hc, apiURL := atk38bAppAt(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", acr_values="`+strings.Join(acr, " ")+`"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	status, h, body := atk38bProxied(t, hc, s.app.URL+"/bff/api/x")
	if n := len(h.Get("WWW-Authenticate")); n > 8<<10 {
		t.Errorf("the proxy's answer (%d) has a WWW-Authenticate of %d bytes", status, n)
	}
	if len(body) > 16<<10 {
		t.Errorf("the proxy's answer (%d) has a body of %d bytes", status, len(body))
	}

	// The same API through HTTPClient and StepUp, on a navigation.
	auth := s.app.Auth
	s.app.Mux.Handle("/page", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := auth.HTTPClient(r).Get(apiURL + "x")
		if !auth.StepUp(w, r, err) {
			http.Error(w, fmt.Sprint(err), 500)
		}
	})))
	resp := testenvNav(t, hc, s.app.URL+"/page")
	if n := len(resp.Header.Get("Location")); n > 8<<10 {
		t.Errorf("the step-up's redirect (%d) is %d bytes long", resp.StatusCode, n)
	}
	for _, c := range resp.Header.Values("Set-Cookie") {
		if len(c) > 4096 {
			t.Errorf("the step-up sets a cookie of %d bytes (browsers drop it: the sign-in cannot complete)", len(c))
		}
	}
}

// TestAttack38bLoginScopeCSRF: the login route takes scope from its query
// with no tie to a step-up the app started. A hostile page's link
// (/auth/login?scope=…, prompt=none for a silent one) makes the victim's
// next session ask for, and at a provider that remembers consent or
// skips it for first-party clients get, scopes the app never asks for:
// a token sent on to every API that takes the session's.
func TestAttack38bLoginScopeCSRF(t *testing.T) {
	s := newCertified(t, certifiedOptions{})
	hc := s.op.Browser()
	req, _ := http.NewRequest(http.MethodGet, s.app.URL+"/auth/login?scope=admin:all&return_to=%2F", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-Dest", "document")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	authz, _ := url.Parse(resp.Header.Get("Location"))
	if slices.Contains(strings.Fields(authz.Query().Get("scope")), "admin:all") {
		t.Errorf("a cross-site link to the login route asks the provider for scope %q", authz.Query().Get("scope"))
	}
}

// TestAttack38bMetadataDocBehindStripPrefix: ServeHTTP's doc says that
// behind http.StripPrefix("/auth", auth) it serves the same routes, and
// that it serves a client ID metadata document at its URL's path. A
// document under Prefix (/auth/client.json) is not served there: the
// lookup uses the stripped path, before the Prefix is put back, and the
// provider that fetches it gets 404 (no sign-in at all).
func TestAttack38bMetadataDocBehindStripPrefix(t *testing.T) {
	prov, err := client.NewProvider("as", client.Endpoints{AuthURL: "https://as.example/authorize", TokenURL: "https://as.example/token"})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c, err := client.New(client.Config{Provider: prov, ClientID: "https://app.example/auth/client.json",
		PrivateKey: &client.PrivateKey{Key: key, KeyID: "k1"}, RedirectURL: "https://app.example/auth/callback"})
	if err != nil {
		t.Fatal(err)
	}
	store, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]http.Handler{
		"mounted at Prefix":  auth,
		"behind StripPrefix": http.StripPrefix("/auth", auth),
	} {
		t.Run(name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.Handle("/auth/", h)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://app.example/auth/client.json", nil))
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"client_id":"https://app.example/auth/client.json"`) {
				t.Errorf("GET /auth/client.json: %d %.80s", rec.Code, rec.Body.String())
			}
		})
	}
}

// atk38bAS is an authorization server with dynamic registration only
// (RFC 8414 metadata without jwks_uri, RFC 7591): it records the key IDs
// of each registration's jwks, by client_id.
type atk38bAS struct {
	*httptest.Server
	mu   sync.Mutex
	kids map[string][]string
}

func newAtk38bAS(t *testing.T) *atk38bAS {
	as := &atk38bAS{kids: map[string][]string{}}
	as.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/oauth-authorization-server":
			json.NewEncoder(w).Encode(map[string]any{"issuer": as.URL, "authorization_endpoint": as.URL + "/authorize",
				"token_endpoint": as.URL + "/token", "registration_endpoint": as.URL + "/register",
				"token_endpoint_auth_methods_supported": []string{"private_key_jwt"}})
		case "/register":
			var m struct {
				JWKS struct {
					Keys []struct {
						Kid string `json:"kid"`
					} `json:"keys"`
				} `json:"jwks"`
			}
			json.NewDecoder(r.Body).Decode(&m)
			as.mu.Lock()
			id := fmt.Sprintf("dyn-%d", len(as.kids)+1)
			for _, k := range m.JWKS.Keys {
				as.kids[id] = append(as.kids[id], k.Kid)
			}
			as.mu.Unlock()
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]any{"client_id": id, "token_endpoint_auth_method": "private_key_jwt"})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(as.Close)
	return as
}

// TestAttack38bRegistrationOutlivesKey: a dynamic registration is kept
// in the shared grant store and reused whenever its redirect URI is the
// same, whatever key it was registered with. Two instances of one app
// (a rolling deploy that rotates the sign-in client's PrivateKey, or
// instances whose keys differ): the second takes the first's
// registration, whose jwks holds only the first's key, and signs its
// client assertions with its own: every token request of that API is
// refused (invalid_client) for good, and nothing registers again.
func TestAttack38bRegistrationOutlivesKey(t *testing.T) {
	rds := testenv.StartRedis(t)
	as := newAtk38bAS(t)
	h := newHostileAPI(t)
	h.set(func(h *hostileAPI) {
		h.meta = func(string) any {
			return map[string]any{"resource": h.URL, "authorization_servers": []string{as.URL}, "scopes_supported": []string{"read"}}
		}
	})
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv := httptest.NewUnstartedServer(nil)
	appURL := "http://" + srv.Listener.Addr().String()
	var jwks []json.RawMessage
	for kid, k := range map[string]*ecdsa.PrivateKey{"k1": k1, "k2": k2} {
		b, _ := json.Marshal(jose.JSONWebKey{Key: k.Public(), KeyID: kid, Algorithm: "ES256", Use: "sig"})
		jwks = append(jwks, b)
	}
	op := certop.Start(t, certop.Config{Clients: []certop.Client{{ID: "app", AuthMethod: "private_key_jwt", JWKS: &certop.JWKS{Keys: jwks},
		RedirectURIs: []string{appURL + "/auth/callback"}}}})
	storeKey := testenv.NewKey()
	instance := func(kid string, key *ecdsa.PrivateKey) http.Handler {
		prov, err := client.Discover(t.Context(), op.Issuer, client.WithName("certified"), client.WithHTTPClient(op.HTTPClient()))
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Config{Provider: prov, ClientID: "app", PrivateKey: &client.PrivateKey{Key: key, KeyID: kid},
			RedirectURL: appURL + "/auth/callback", Scopes: []string{"openid", "profile"}})
		if err != nil {
			t.Fatal(err)
		}
		store, err := redisstore.New(redisstore.Config{Client: rds.Client(), Keys: [][]byte{storeKey}})
		if err != nil {
			t.Fatal(err)
		}
		auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store,
			APIs: []middleware.API{{Name: "partner", BaseURL: h.URL, AuthorizationServers: []string{as.URL}}}})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/auth/", auth)
		mux.Handle("/partner", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			resp, err := auth.HTTPClient(r).Get(h.URL)
			if auth.StepUp(w, r, err) {
				return
			}
			if err != nil {
				http.Error(w, err.Error(), middleware.StatusCode(err))
				return
			}
			resp.Body.Close()
		})))
		return mux
	}
	var mu sync.Mutex
	var current http.Handler = instance("k1", k1)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := current
		mu.Unlock()
		h.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)

	hc := op.Browser()
	resp, _ := get(t, hc, appURL+"/partner")
	cb, err := op.Login(hc, resp.Header.Get("Location"), "hana")
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d %s", resp.StatusCode, body)
	}
	// The first instance registers (with k1).
	if resp, body := callJSON(t, hc, appURL+"/partner"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not_connected") {
		t.Fatalf("/partner at the first instance: %d %s", resp.StatusCode, body)
	}
	// The second instance, with k2, serves the same user.
	second := instance("k2", k2)
	mu.Lock()
	current = second
	mu.Unlock()
	resp, body := callJSON(t, hc, appURL+"/partner")
	var nc struct {
		LoginURL string `json:"login_url"`
	}
	json.Unmarshal([]byte(body), &nc)
	if resp.StatusCode != http.StatusUnauthorized || nc.LoginURL == "" {
		t.Fatalf("/partner at the second instance: %d %s", resp.StatusCode, body)
	}
	resp, _ = get(t, hc, appURL+nc.LoginURL)
	authz, _ := url.Parse(resp.Header.Get("Location"))
	id := authz.Query().Get("client_id")
	as.mu.Lock()
	defer as.mu.Unlock()
	if !slices.Contains(as.kids[id], "k2") {
		t.Errorf("the second instance (key k2) connects as %q, registered with keys %q: its client assertions will be refused (registrations: %v)", id, as.kids[id], as.kids)
	}
}

// TestAttack38bMetadataDocShadowsRoute: a ClientID whose path is one of
// the Auth's own routes (here the callback) is taken at New, and the
// document is served there instead: every sign-in's callback gets the
// JSON document. New should refuse it (ErrConfig).
func TestAttack38bMetadataDocShadowsRoute(t *testing.T) {
	prov, err := client.NewProvider("as", client.Endpoints{AuthURL: "https://as.example/authorize", TokenURL: "https://as.example/token"})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c, err := client.New(client.Config{Provider: prov, ClientID: "https://app.example/auth/callback",
		PrivateKey: &client.PrivateKey{Key: key, KeyID: "k1"}, RedirectURL: "https://app.example/auth/callback"})
	if err != nil {
		t.Fatal(err)
	}
	store, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store})
	if err != nil {
		return // refused: fixed
	}
	rec := httptest.NewRecorder()
	auth.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://app.example/auth/callback?code=c&state=s", nil))
	t.Errorf("New took a ClientID on the callback's path; the callback answers %d %.60s", rec.Code, rec.Body.String())
}
