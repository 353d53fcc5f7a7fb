package middleware_test

// Attacks on APIs that describe themselves (API.AuthorizationServers,
// RFC 9728), #38. Each test fails on the code as it is and passes once the
// weakness it names is fixed.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/testkit/certop"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/metrics"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// atk38Call mounts /call38?api=NAME on s: GET the API's BaseURL with
// HTTPClient; errors as JSON {error: reason, detail: err.Error()}, as the
// example app answers them.
func atk38Call(s *certified, bases map[string]string) {
	auth := s.app.Auth
	s.app.Mux.Handle("/call38", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := auth.HTTPClient(r).Get(bases[r.URL.Query().Get("api")])
		if auth.StepUp(w, r, err) {
			return
		}
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(middleware.StatusCode(err))
			json.NewEncoder(w).Encode(map[string]string{"error": metrics.Reason(err), "detail": err.Error()})
			return
		}
		resp.Body.Close()
		fmt.Fprint(w, resp.StatusCode)
	})))
}

// atk38Connect connects api for the browser hc (signed in as account):
// the call's not_connected, the connect route, the provider's pages, the
// callback.
func atk38Connect(t *testing.T, s *certified, hc *http.Client, api, account string) {
	t.Helper()
	resp, body := callJSON(t, hc, s.app.URL+"/call38?api="+api)
	var nc struct {
		LoginURL string `json:"login_url"`
	}
	json.Unmarshal([]byte(body), &nc)
	if resp.StatusCode == http.StatusOK && body == "200" {
		return // the session's grant covered it already (a sign-in provider's refresh grant)
	}
	if resp.StatusCode != http.StatusUnauthorized || nc.LoginURL == "" {
		t.Fatalf("/call38 %s before connecting: %d %s", api, resp.StatusCode, body)
	}
	atk38ConnectAt(t, s, hc, nc.LoginURL, account)
	if resp, body := callJSON(t, hc, s.app.URL+"/call38?api="+api); resp.StatusCode != http.StatusOK || body != "200" {
		t.Fatalf("/call38 %s once connected: %d %s", api, resp.StatusCode, body)
	}
}

func atk38ConnectAt(t *testing.T, s *certified, hc *http.Client, loginURL, account string) {
	t.Helper()
	resp, _ := get(t, hc, s.app.URL+loginURL)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("connect: %d", resp.StatusCode)
	}
	cb, err := s.op.Login(hc, resp.Header.Get("Location"), account)
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
		t.Fatalf("connect callback: %d %s", resp.StatusCode, body)
	}
}

// TestAttack38MetadataSSRF: a hostile API on the internet names metadata
// on the app's own host (loopback) or on an internal IPv4 address written
// as an IPv6 translation address. The app must not fetch it unless
// AllowInternal: the doc promises metadata is "never from a private or
// link-local address unless AllowInternal", and loopback (the app
// host's admin ports, sidecars, a local metadata proxy) is the most
// private of all. Today the loopback fetch happens, and what it answers
// (its status, its JSON's "resource") comes back in the error text.
func TestAttack38MetadataSSRF(t *testing.T) {
	var internalHits atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		internalHits.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"resource": "internal-admin-secret-42"})
	}))
	t.Cleanup(internal.Close)

	// The hostile API, at https://api.example.com/api (a public host name;
	// the test's transport takes it to a local TLS server).
	const remoteBase = "https://api.example.com/api"
	var remoteMeta atomic.Value
	remoteMeta.Store(internal.URL + "/admin/config")
	remote := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer resource_metadata=%q`, remoteMeta.Load().(string)))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(remote.Close)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = remote.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == "api.example.com:443" {
			addr = remote.Listener.Addr().String()
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}

	s := newCertified(t, certifiedOptions{withURL: func(_ string, cfg *middleware.Config) {
		ep, err := cfg.Clients[0].Provider().Endpoints(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		cfg.APITransport = tr
		cfg.APIs = append(cfg.APIs, middleware.API{Name: "remote", BaseURL: remoteBase, AuthorizationServers: []string{ep.Issuer}})
	}})
	atk38Call(s, map[string]string{"remote": remoteBase})
	hc := s.signIn(t, "victim")

	t.Run("loopback", func(t *testing.T) {
		remoteMeta.Store(internal.URL + "/admin/config")
		before := internalHits.Load()
		resp, body := callJSON(t, hc, s.app.URL+"/call38?api=remote")
		t.Logf("/call38: %d %s", resp.StatusCode, body)
		if n := internalHits.Load() - before; n != 0 {
			t.Errorf("an API on a public host made the app fetch %s from its own loopback %d time(s) (AllowInternal is off)", internal.URL, n)
		}
		if !strings.Contains(body, `"error":"metadata_url_refused"`) {
			t.Errorf("want metadata_url_refused, got %d %s", resp.StatusCode, body)
		}
		if strings.Contains(body, "internal-admin-secret-42") {
			t.Errorf("the loopback service's answer reached the user in the error: %s", body)
		}
	})

	// IPv6 forms that embed an internal IPv4 address (169.254.169.254, the
	// cloud metadata service; 10.0.0.1): NAT64 (RFC 6052) and 6to4 (RFC
	// 3056) reach it through a translator/relay on networks that have
	// one. They must be refused at the dial like the IPv4 form, with the
	// same reason.
	for _, c := range []struct{ name, url string }{
		{"nat64 well-known prefix", "https://[64:ff9b::a9fe:a9fe]/latest/meta-data"},
		{"nat64 local-use prefix", "https://[64:ff9b:1::a00:1]/meta"},
		{"6to4", "https://[2002:a9fe:a9fe::1]/latest/meta-data"},
	} {
		t.Run(c.name, func(t *testing.T) {
			remoteMeta.Store(c.url)
			resp, body := callJSON(t, hc, s.app.URL+"/call38?api=remote")
			if !strings.Contains(body, `"error":"metadata_url_refused"`) {
				t.Errorf("metadata at %s: %d %s, want metadata_url_refused (refused before dialling)", c.url, resp.StatusCode, body)
			}
		})
	}
}

// TestAttack38SignInClientGrant: an API that describes itself whose
// server is the sign-in provider takes its token from the session's own
// grant (a refresh grant for its resource), not from a second grant of
// the sign-in client, which oidc-provider (by default) joins to the
// session's: then disconnecting the API, or connecting it again, revoked
// the user's sign-in with it.
func TestAttack38SignInClientGrant(t *testing.T) {
	h := newHostileAPI(t)
	clock := &testenv.Clock{}
	var issuer string
	s := newCertified(t, certifiedOptions{clock: clock, accessTTL: 120,
		op: func(c *certop.Config) {
			c.ResourceServers = map[string]map[string]string{h.URL: {"scope": "read"}}
		},
		withURL: func(_ string, cfg *middleware.Config) {
			ep, err := cfg.Clients[0].Provider().Endpoints(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			issuer = ep.Issuer
			cfg.APIs = append(cfg.APIs, middleware.API{Name: "hostile", BaseURL: h.URL, AuthorizationServers: []string{issuer}})
		}})
	h.set(func(h *hostileAPI) {
		h.meta = func(string) any {
			return map[string]any{"resource": h.URL, "authorization_servers": []string{issuer}, "scopes_supported": []string{"read"}}
		}
	})
	atk38Call(s, map[string]string{"hostile": h.URL})
	auth := s.app.Auth

	t.Run("Disconnect signs the user out", func(t *testing.T) {
		hc := s.signIn(t, "dora")
		atk38Connect(t, s, hc, "hostile", "dora")
		if status, body := testenv.APIRequest(t, hc, s.app.URL); status != http.StatusOK {
			t.Fatalf("the sign-in's API before Disconnect: %d %s", status, body)
		}
		if err := auth.Disconnect(t.Context(), "certified", "dora", "hostile"); err != nil {
			t.Fatal(err)
		}
		if status, body := testenv.APIRequest(t, hc, s.app.URL); status != http.StatusOK {
			t.Errorf("after disconnecting the described API, the user's own sign-in API call: %d %s (the sign-in grant was revoked with it)", status, body)
		}
		if who := s.whoami(t, hc); who != "certified:dora" {
			t.Errorf("after Disconnect: whoami %q", who)
		}
	})

	t.Run("connecting again signs the user out", func(t *testing.T) {
		hc := s.signIn(t, "fay")
		atk38Connect(t, s, hc, "hostile", "fay")
		atk38ConnectAt(t, s, hc, "/auth/connect?api=hostile&return_to=%2F", "fay")
		if status, body := testenv.APIRequest(t, hc, s.app.URL); status != http.StatusOK {
			t.Errorf("after connecting the described API a second time, the user's own sign-in API call: %d %s", status, body)
		}
	})

}

// TestAttack38RediscoveryStampede: once metadata read an hour ago is due,
// every concurrent call reads it again (no single flight), each waiting on
// the API's metadata server; a hostile or slow API turns each of its calls
// into a metadata fetch of up to 10 s. Before the first read, too: N
// concurrent first calls are N probes and N fetches.
func TestAttack38RediscoveryStampede(t *testing.T) {
	var metaHits atomic.Int32
	var slow atomic.Bool
	var srvURL string
	var issuer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/meta" {
			metaHits.Add(1)
			if slow.Load() {
				time.Sleep(1500 * time.Millisecond)
			}
			json.NewEncoder(w).Encode(map[string]any{"resource": srvURL + "/api", "authorization_servers": []string{issuer}, "scopes_supported": []string{"read"}})
			return
		}
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer resource_metadata=%q`, srvURL+"/meta"))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(srv.Close)
	srvURL = srv.URL
	clock := &testenv.Clock{}
	s := newCertified(t, certifiedOptions{clock: clock,
		op: func(c *certop.Config) {
			c.ResourceServers = map[string]map[string]string{srv.URL + "/api": {"scope": "read"}}
		},
		withURL: func(_ string, cfg *middleware.Config) {
			ep, err := cfg.Clients[0].Provider().Endpoints(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			issuer = ep.Issuer
			cfg.APIs = append(cfg.APIs, middleware.API{Name: "slow", BaseURL: srv.URL + "/api", AuthorizationServers: []string{issuer}})
		}})
	atk38Call(s, map[string]string{"slow": srv.URL + "/api"})
	hc := s.signIn(t, "gina")
	atk38Connect(t, s, hc, "slow", "gina")

	clock.Add(61 * time.Minute)
	slow.Store(true)
	before := metaHits.Load()
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A background job (the session has gone idle meanwhile).
			resp, err := s.app.Auth.ClientFor("certified", "gina").Get(srv.URL + "/api")
			if errors.Is(err, confidant.ErrConfig) {
				return // the sign-in provider's API, without BackgroundAccess: read, then refused
			}
			if err != nil {
				t.Errorf("ClientFor: %v", err)
				return
			}
			resp.Body.Close()
		}()
	}
	wg.Wait()
	if n := metaHits.Load() - before; n > 1 {
		t.Errorf("10 concurrent calls once the metadata was due read it %d times, want 1 (one read at a time)", n)
	}
}

// TestAttack38APIMoved: a user connects an API at server B (its own
// registration there, API.Client); the API moves to server A (the
// sign-in provider, also trusted): its metadata now names A, it refuses
// B's tokens and its 401 says where its metadata is. For up to an hour
// the app keeps sending B's tokens (each call a refresh at B, then 502
// api_refused_token), and connecting again goes to B once more: the user
// cannot recover. The API's 401 naming its metadata should have the
// metadata read again (rate-limited), so that the user is sent to connect
// at A.
//
// And an API with a Client of its own whose metadata names the sign-in
// provider (documented: "with the sign-in client when the server is a
// sign-in provider's issuer, else with Client") can never be connected:
// routeConnects routes only the Client's callback, so the sign-in
// callback takes the connect flow as a sign-in and answers 400.
func TestAttack38APIMoved(t *testing.T) {
	h := newHostileAPI(t)
	dual := newHostileAPI(t)
	var issuer string
	var opB *certop.Provider
	s := newCertified(t, certifiedOptions{
		op: func(c *certop.Config) {
			c.ResourceServers = map[string]map[string]string{h.URL: {"scope": "read"}, dual.URL: {"scope": "read"}}
		},
		withURL: func(appURL string, cfg *middleware.Config) {
			ep, err := cfg.Clients[0].Provider().Endpoints(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			issuer = ep.Issuer
			opB = certop.Start(t, certop.Config{
				Clients: []certop.Client{{ID: "app-at-b", Secret: "b-secret-value-never-logged",
					RedirectURIs: []string{appURL + "/auth/connect-b"}, GrantTypes: []string{"authorization_code", "refresh_token"}}},
				ResourceServers: map[string]map[string]string{h.URL: {"scope": "read"}, dual.URL: {"scope": "read"}}})
			pb, err := client.Discover(t.Context(), opB.Issuer, client.WithName("server-b"), client.WithHTTPClient(opB.HTTPClient()))
			if err != nil {
				t.Fatal(err)
			}
			newB := func() *client.Client {
				c, err := client.New(client.Config{Provider: pb, ClientID: "app-at-b", ClientSecret: "b-secret-value-never-logged",
					RedirectURL: appURL + "/auth/connect-b"})
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			cfg.APIs = append(cfg.APIs,
				middleware.API{Name: "moving", BaseURL: h.URL, AuthorizationServers: []string{issuer, opB.Issuer}, Client: newB()},
				middleware.API{Name: "dual", BaseURL: dual.URL, AuthorizationServers: []string{issuer, opB.Issuer}, Client: newB()})
		}})
	atk38Call(s, map[string]string{"moving": h.URL, "dual": dual.URL})
	meta := func(as string) func(h *hostileAPI) {
		return func(h *hostileAPI) {
			h.meta = func(string) any {
				return map[string]any{"resource": h.URL, "authorization_servers": []string{as}, "scopes_supported": []string{"read"}}
			}
		}
	}
	hc := s.signIn(t, "hana")

	t.Run("the API moves", func(t *testing.T) {
		h.set(meta(opB.Issuer))
		resp, body := callJSON(t, hc, s.app.URL+"/call38?api=moving")
		var nc struct {
			LoginURL string `json:"login_url"`
		}
		json.Unmarshal([]byte(body), &nc)
		if resp.StatusCode != http.StatusUnauthorized || nc.LoginURL == "" {
			t.Fatalf("/call38 before connecting: %d %s", resp.StatusCode, body)
		}
		resp, _ = get(t, hc, s.app.URL+nc.LoginURL)
		cb, err := opB.Login(hc, resp.Header.Get("Location"), "hana")
		if err != nil {
			t.Fatal(err)
		}
		if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
			t.Fatalf("connect callback at B: %d %s", resp.StatusCode, body)
		}
		if resp, body := callJSON(t, hc, s.app.URL+"/call38?api=moving"); resp.StatusCode != http.StatusOK {
			t.Fatalf("/call38 once connected at B: %d %s", resp.StatusCode, body)
		}

		// The move: metadata names A; B's tokens are refused.
		h.set(meta(issuer))
		h.set(func(h *hostileAPI) { h.refuse = true })
		before := opB.Counts(t)["/token"]
		resp, body = callJSON(t, hc, s.app.URL+"/call38?api=moving")
		json.Unmarshal([]byte(body), &nc)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"not_connected"`) {
			t.Errorf("a call once the API moved to another trusted server: %d %s, want 401 not_connected (connect at the server it names now)", resp.StatusCode, body)
		}
		if n := opB.Counts(t)["/token"] - before; n != 0 {
			t.Errorf("%d refreshes at the old server, which the API no longer names", n)
		}
		resp, _ = get(t, hc, s.app.URL+"/auth/connect?api=moving&return_to=%2F")
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, issuer) {
			t.Errorf("connecting again once the API moved goes to %q, not to the server its metadata names (%s)", atk38HostPath(loc), issuer)
		}
	})

	t.Run("Client of its own, metadata naming the sign-in provider", func(t *testing.T) {
		dual.set(meta(issuer))
		resp, body := callJSON(t, hc, s.app.URL+"/call38?api=dual")
		var nc struct {
			LoginURL string `json:"login_url"`
		}
		json.Unmarshal([]byte(body), &nc)
		if resp.StatusCode != http.StatusUnauthorized || nc.LoginURL == "" {
			t.Fatalf("/call38 before connecting: %d %s", resp.StatusCode, body)
		}
		resp, _ = get(t, hc, s.app.URL+nc.LoginURL)
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, issuer) {
			t.Fatalf("connect went to %s, want the sign-in provider", atk38HostPath(loc))
		}
		cb, err := s.op.Login(hc, resp.Header.Get("Location"), "hana")
		if err != nil {
			t.Fatal(err)
		}
		if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
			t.Errorf("connect callback (at the sign-in callback %s): %d %s", cb.Path, resp.StatusCode, body)
		}
	})
}

func atk38HostPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// TestAttack38ConfigTraps: configurations New accepts whose failure
// appears later, per request, as a leak or a 500.
func TestAttack38ConfigTraps(t *testing.T) {
	gw := newHostileAPI(t) // one host: a gateway API at "/", the described one at "/api"
	pk := newHostileAPI(t)
	var issuer string
	refused := map[string]error{}
	s := newCertified(t, certifiedOptions{
		op: func(c *certop.Config) {
			c.ResourceServers = map[string]map[string]string{gw.URL: {"scope": "read"}, pk.URL: {"scope": "read"}}
		},
		withURL: func(_ string, cfg *middleware.Config) {
			ep, err := cfg.Clients[0].Provider().Endpoints(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			issuer = ep.Issuer
			store, _ := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}})
			try := func(name string, apis ...middleware.API) []middleware.API {
				c := *cfg
				c.Store = store
				c.APIs = append(append([]middleware.API(nil), cfg.APIs...), apis...)
				if _, err := middleware.New(c); err != nil {
					if !errors.Is(err, confidant.ErrConfig) {
						t.Fatalf("%s: New: %v", name, err)
					}
					refused[name] = err
					return nil
				}
				return apis
			}
			// An API on the sign-in token listed first, whose BaseURL covers
			// the described API's: the described API is never one.
			cfg.APIs = append(cfg.APIs, try("shadowed",
				middleware.API{Name: "gateway", BaseURL: strings.TrimSuffix(gw.URL, "/api") + "/"},
				middleware.API{Name: "described", BaseURL: gw.URL, AuthorizationServers: []string{issuer}})...)
			// A trusted server the app has no registration at.
			cfg.APIs = append(cfg.APIs, try("unregistered",
				middleware.API{Name: "picky", BaseURL: pk.URL, AuthorizationServers: []string{issuer, "https://as2.example.com"}})...)
		}})
	gw.set(func(h *hostileAPI) {
		h.meta = func(string) any {
			return map[string]any{"resource": h.URL, "authorization_servers": []string{issuer}}
		}
	})
	atk38Call(s, map[string]string{"described": gw.URL, "picky": pk.URL})
	hc := s.signIn(t, "ivy")

	t.Run("shadowed by an earlier API", func(t *testing.T) {
		if err := refused["shadowed"]; err != nil {
			t.Logf("New refused it: %v", err)
			return
		}
		resp, body := callJSON(t, hc, s.app.URL+"/call38?api=described")
		if sent, calls := gw.tokensSent(); sent != 0 {
			t.Errorf("the described API (known by URL alone) got the sign-in token in %d of %d calls (/call38: %d %s): New accepted an API whose BaseURL an earlier API covers", sent, calls, resp.StatusCode, body)
		}
	})

	t.Run("metadata naming a trusted server without a registration", func(t *testing.T) {
		if err := refused["unregistered"]; err != nil {
			t.Logf("New refused it: %v", err)
			return
		}
		pk.set(func(h *hostileAPI) {
			h.meta = func(string) any {
				return map[string]any{"resource": h.URL, "authorization_servers": []string{"https://as2.example.com", issuer}}
			}
		})
		resp, body := callJSON(t, hc, s.app.URL+"/call38?api=picky")
		if resp.StatusCode == http.StatusInternalServerError {
			t.Errorf("an API's metadata answered with 500 (%s): New accepted an AuthorizationServers entry the app cannot use, and the first trusted server is taken even though a later one (the sign-in issuer) is usable", body)
		}
	})
}

// TestAttack38RefusedNoRequest: an APITransport that returns responses
// without Request (a test double, a caching or recording transport; the
// RoundTripper contract does not require it) panics the handler when a
// described API refuses its token: refusedTo reads resp.Request.URL.
func TestAttack38RefusedNoRequest(t *testing.T) {
	h := newHostileAPI(t)
	var issuer string
	s := newCertified(t, certifiedOptions{
		op: func(c *certop.Config) {
			c.ResourceServers = map[string]map[string]string{h.URL: {"scope": "read"}}
		},
		withURL: func(_ string, cfg *middleware.Config) {
			ep, err := cfg.Clients[0].Provider().Endpoints(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			issuer = ep.Issuer
			cfg.APITransport = noRequestTransport{}
			cfg.APIs = append(cfg.APIs, middleware.API{Name: "hostile", BaseURL: h.URL, AuthorizationServers: []string{issuer}})
		}})
	h.set(func(h *hostileAPI) {
		h.meta = func(string) any {
			return map[string]any{"resource": h.URL, "authorization_servers": []string{issuer}, "scopes_supported": []string{"read"}}
		}
	})
	atk38Call(s, map[string]string{"hostile": h.URL})
	hc := s.signIn(t, "jo")
	atk38Connect(t, s, hc, "hostile", "jo")
	h.set(func(h *hostileAPI) { h.refuse = true })
	req, _ := http.NewRequest(http.MethodGet, s.app.URL+"/call38?api=hostile", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("the app's handler died (panic) when the API refused its token: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), "api_refused_token") {
		t.Errorf("%d %s, want 502 api_refused_token", resp.StatusCode, b)
	}
}

type noRequestTransport struct{}

func (noRequestTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if resp != nil {
		resp.Request = nil
	}
	return resp, err
}

// TestAttack38ScopePoisoning: the scope of the first 401 the app sees
// from an API that describes itself (any path under BaseURL, the one
// some user's request happened to call) becomes the API's scope for every
// user, for good (it is kept when the metadata is read again). One user
// whose request reaches an admin path first makes every other user's
// connect ask for, and their tokens carry, the admin scope.
func TestAttack38ScopePoisoning(t *testing.T) {
	var srvURL, issuer string
	var lastTok atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/oauth-protected-resource/api" {
			json.NewEncoder(w).Encode(map[string]any{"resource": srvURL + "/api", "authorization_servers": []string{issuer},
				"scopes_supported": []string{"read"}})
			return
		}
		if a := r.Header.Get("Authorization"); a != "" {
			lastTok.Store(strings.TrimPrefix(a, "Bearer "))
		}
		if r.Header.Get("Authorization") == "" {
			scope := "read"
			if strings.HasPrefix(r.URL.Path, "/api/admin") {
				scope = "admin" // each endpoint says what it needs (RFC 6750 3)
			}
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer scope=%q`, scope))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(srv.Close)
	srvURL = srv.URL
	s := newCertified(t, certifiedOptions{
		op: func(c *certop.Config) {
			c.ResourceServers = map[string]map[string]string{srv.URL + "/api": {"scope": "read admin"}}
		},
		withURL: func(_ string, cfg *middleware.Config) {
			ep, err := cfg.Clients[0].Provider().Endpoints(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			issuer = ep.Issuer
			cfg.APIs = append(cfg.APIs, middleware.API{Name: "scoped", BaseURL: srv.URL + "/api", AuthorizationServers: []string{issuer}})
		}})
	auth := s.app.Auth
	// An app page that calls an endpoint of the API the user picks (a
	// report, a document): /page?p=NAME calls BaseURL/NAME.
	s.app.Mux.Handle("/page", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := auth.HTTPClient(r).Get(srv.URL + "/api/" + url.PathEscape(r.URL.Query().Get("p")))
		if auth.StepUp(w, r, err) {
			return
		}
		if err != nil {
			http.Error(w, err.Error(), middleware.StatusCode(err))
			return
		}
		resp.Body.Close()
		fmt.Fprint(w, resp.StatusCode)
	})))

	mallory := s.signIn(t, "mallory")
	callJSON(t, mallory, s.app.URL+"/page?p=admin") // first: the admin endpoint's 401

	victim := s.signIn(t, "victim")
	resp, body := callJSON(t, victim, s.app.URL+"/page?p=reports")
	var nc struct {
		LoginURL string `json:"login_url"`
	}
	json.Unmarshal([]byte(body), &nc)
	if nc.LoginURL == "" && resp.StatusCode != http.StatusOK {
		t.Fatalf("/page before connecting: %d %s", resp.StatusCode, body)
	}
	if nc.LoginURL != "" {
		atk38ConnectAt(t, s, victim, nc.LoginURL, "victim")
	}
	if resp, body := callJSON(t, victim, s.app.URL+"/page?p=reports"); resp.StatusCode != http.StatusOK {
		t.Fatalf("/page once connected: %d %s", resp.StatusCode, body)
	}
	tok, _ := lastTok.Load().(string)
	var claims struct {
		Scope string `json:"scope"`
	}
	if parts := strings.Split(tok, "."); len(parts) == 3 {
		b, _ := base64.RawURLEncoding.DecodeString(parts[1])
		json.Unmarshal(b, &claims)
	}
	scope := strings.Fields(claims.Scope)
	t.Logf("the victim's token for the reports endpoint has scope %q", scope)
	for _, sc := range scope {
		if sc == "admin" {
			t.Errorf("the victim's token (connected for the reports endpoint, whose 401 says scope=read) carries %q: another user's first call chose the API's scope for everyone", scope)
		}
	}
	if len(scope) == 0 {
		t.Errorf("no scope in the victim's token %q", tok)
	}
}
