package middleware_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/confidant-go/confidant/internal/testkit/certop"
	"github.com/confidant-go/confidant/metrics"
	"github.com/confidant-go/confidant/middleware"
)

// hostileAPI is an API that describes itself as a test tells it to: the
// metadata it names and serves, and whether it takes any token.
type hostileAPI struct {
	srv *httptest.Server
	URL string

	mu       sync.Mutex
	meta     func(issuer string) any // the metadata document (nil: 404)
	metaURL  string                  // the challenge's resource_metadata ("": the server's own)
	refuse   bool                    // 401 to every token
	calls    []string                // the Authorization header of each call to URL
	metaHits int
}

func newHostileAPI(t *testing.T) *hostileAPI {
	h := &hostileAPI{}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	h.URL = h.srv.URL + "/api"
	return h
}

func (h *hostileAPI) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.URL.Path == "/meta" {
		h.metaHits++
		if h.meta == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(h.meta(""))
		return
	}
	h.calls = append(h.calls, r.Header.Get("Authorization"))
	if r.Header.Get("Authorization") == "" || h.refuse {
		murl := h.metaURL
		if murl == "" {
			murl = h.srv.URL + "/meta"
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer resource_metadata=%q`, murl))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	fmt.Fprint(w, "ok")
}

func (h *hostileAPI) set(f func(h *hostileAPI)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}

func (h *hostileAPI) tokensSent() (n int, calls int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range h.calls {
		if a != "" {
			n++
		}
	}
	return n, len(h.calls)
}

// TestDescribedAPIAttacks: an API that describes itself as an attacker
// would. Metadata naming another resource, an authorization server the
// app does not trust, metadata on an address of the app's own network,
// metadata too large: each a refusal with its own reason, no token
// request, no token sent. An API that refuses every token (a 401 loop):
// api_refused_token after at most two calls and one token request, not a
// new connect.
func TestDescribedAPIAttacks(t *testing.T) {
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
			cfg.APIs = append(cfg.APIs, middleware.API{Name: "hostile", BaseURL: h.URL, AuthorizationServers: []string{issuer}})
		}})
	auth := s.app.Auth
	s.app.Mux.Handle("/call", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := auth.HTTPClient(r).Get(h.URL)
		if auth.StepUp(w, r, err) {
			return
		}
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(middleware.StatusCode(err))
			json.NewEncoder(w).Encode(map[string]string{"error": metrics.Reason(err)})
			return
		}
		resp.Body.Close()
		fmt.Fprint(w, resp.StatusCode)
	})))
	hc := s.signIn(t, "mallory-victim")
	good := func(string) any {
		return map[string]any{"resource": h.URL, "authorization_servers": []string{issuer}, "scopes_supported": []string{"read"}}
	}

	for _, c := range []struct {
		name   string
		set    func(h *hostileAPI)
		reason string
		status int
	}{
		{"another resource", func(h *hostileAPI) {
			h.meta = func(string) any {
				return map[string]any{"resource": h.URL + "/", "authorization_servers": []string{issuer}}
			}
		}, "resource_mismatch", http.StatusBadGateway},
		{"the resource in another case", func(h *hostileAPI) {
			h.meta = func(string) any {
				return map[string]any{"resource": strings.ToUpper(h.URL[:4]) + h.URL[4:], "authorization_servers": []string{issuer}}
			}
		}, "resource_mismatch", http.StatusBadGateway},
		{"an untrusted authorization server", func(h *hostileAPI) {
			h.meta = func(string) any {
				return map[string]any{"resource": h.URL, "authorization_servers": []string{"https://evil.example", issuer + "/"}}
			}
		}, "untrusted_authorization_server", http.StatusBadGateway},
		{"metadata on a private address", func(h *hostileAPI) {
			h.meta, h.metaURL = good, "https://10.255.255.1/meta"
		}, "metadata_url_refused", http.StatusBadGateway},
		{"metadata on a link-local address", func(h *hostileAPI) {
			h.meta, h.metaURL = good, "https://169.254.169.254/latest/meta-data"
		}, "metadata_url_refused", http.StatusBadGateway},
		{"metadata over plain http to another host", func(h *hostileAPI) {
			h.meta, h.metaURL = good, "http://example.com/meta"
		}, "metadata_url_refused", http.StatusBadGateway},
		{"metadata too large", func(h *hostileAPI) {
			h.meta = func(string) any {
				return map[string]any{"resource": h.URL, "authorization_servers": []string{issuer}, "pad": strings.Repeat("x", 1<<20)}
			}
		}, "metadata_too_large", http.StatusBadGateway},
	} {
		t.Run(c.name, func(t *testing.T) {
			h.set(func(h *hostileAPI) { h.metaURL = ""; c.set(h) })
			before := s.op.Counts(t)["/token"]
			resp, body := callJSON(t, hc, s.app.URL+"/call")
			if resp.StatusCode != c.status || !strings.Contains(body, `"error":"`+c.reason+`"`) {
				t.Errorf("/call: %d %s, want %d %s", resp.StatusCode, body, c.status, c.reason)
			}
			if n := s.op.Counts(t)["/token"] - before; n != 0 {
				t.Errorf("%d token requests", n)
			}
			if sent, _ := h.tokensSent(); sent != 0 {
				t.Errorf("%d tokens sent to the API", sent)
			}
		})
	}

	// The loop: connected, then every token refused.
	h.set(func(h *hostileAPI) { h.metaURL, h.meta = "", good })
	resp, body := callJSON(t, hc, s.app.URL+"/call")
	var nc struct {
		LoginURL string `json:"login_url"`
	}
	json.Unmarshal([]byte(body), &nc)
	if resp.StatusCode != http.StatusUnauthorized || nc.LoginURL == "" {
		t.Fatalf("/call before connecting: %d %s", resp.StatusCode, body)
	}
	resp, _ = get(t, hc, s.app.URL+nc.LoginURL)
	cb, err := s.op.Login(hc, resp.Header.Get("Location"), "mallory-victim")
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
		t.Fatalf("connect callback: %d %s", resp.StatusCode, body)
	}
	if resp, body := callJSON(t, hc, s.app.URL+"/call"); resp.StatusCode != http.StatusOK || body != "200" {
		t.Fatalf("/call once connected: %d %s", resp.StatusCode, body)
	}
	h.set(func(h *hostileAPI) { h.refuse = true })
	_, callsBefore := h.tokensSent()
	tokBefore := s.op.Counts(t)["/token"]
	resp, body = callJSON(t, hc, s.app.URL+"/call")
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, `"error":"api_refused_token"`) {
		t.Errorf("/call to an API that refuses every token: %d %s, want 502 api_refused_token", resp.StatusCode, body)
	}
	_, callsAfter := h.tokensSent()
	if n := callsAfter - callsBefore; n > 2 {
		t.Errorf("%d calls to the API in one /call, want at most 2", n)
	}
	if n := s.op.Counts(t)["/token"] - tokBefore; n > 1 {
		t.Errorf("%d token requests in one /call, want at most 1", n)
	}
}

// audOf is the aud of a JWT access token in an Authorization header.
func audOf(authz string) string {
	raw, _ := strings.CutPrefix(authz, "Bearer ")
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Aud any `json:"aud"`
	}
	json.Unmarshal(b, &c)
	return fmt.Sprint(c.Aud)
}

// TestDescribedAPIDynamicRegistration: an API whose metadata names an
// authorization server (a second oidc-provider) where the app has no
// registration and which offers dynamic registration only: the app
// registers once (RFC 7591), the user connects there, and the API gets a
// token for its resource from that server.
func TestDescribedAPIDynamicRegistration(t *testing.T) {
	h := newHostileAPI(t)
	op2 := certop.Start(t, certop.Config{
		Features:        map[string]any{"registration": map[string]any{"enabled": true}},
		ResourceServers: map[string]map[string]string{h.URL: {"scope": "read"}},
	})
	s := newCertified(t, certifiedOptions{
		withURL: func(_ string, cfg *middleware.Config) {
			cfg.APIs = append(cfg.APIs, middleware.API{Name: "partner", BaseURL: h.URL, AuthorizationServers: []string{op2.Issuer}})
		}})
	h.set(func(h *hostileAPI) {
		h.meta = func(string) any {
			return map[string]any{"resource": h.URL, "authorization_servers": []string{op2.Issuer}, "scopes_supported": []string{"read"}}
		}
	})
	auth := s.app.Auth
	s.app.Mux.Handle("/partner", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := auth.HTTPClient(r).Get(h.URL)
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
	hc := s.signIn(t, "grace")
	resp, body := callJSON(t, hc, s.app.URL+"/partner")
	var nc struct {
		LoginURL string `json:"login_url"`
	}
	json.Unmarshal([]byte(body), &nc)
	if resp.StatusCode != http.StatusUnauthorized || nc.LoginURL == "" {
		t.Fatalf("/partner before connecting: %d %s", resp.StatusCode, body)
	}
	resp, _ = get(t, hc, s.app.URL+nc.LoginURL)
	if !strings.HasPrefix(resp.Header.Get("Location"), op2.Issuer) {
		t.Fatalf("connect: %d to %q, want the API's server", resp.StatusCode, resp.Header.Get("Location"))
	}
	cb, err := op2.Login(hc, resp.Header.Get("Location"), "grace")
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
		t.Fatalf("connect callback: %d %s", resp.StatusCode, body)
	}
	for range 2 {
		if resp, body := callJSON(t, hc, s.app.URL+"/partner"); resp.StatusCode != http.StatusOK || body != "200" {
			t.Fatalf("/partner once connected: %d %s", resp.StatusCode, body)
		}
	}
	if n := op2.Counts(t)["/reg"]; n != 1 {
		t.Errorf("%d registrations at the API's server, want 1", n)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, c := range h.calls {
		if c != "" && audOf(c) != h.URL {
			t.Errorf("call %d carried a token for %q", i, audOf(c))
		}
	}
}
