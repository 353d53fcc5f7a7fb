package middleware_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	mcpauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/testkit/certop"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// mcpServer is a real MCP server (the Go MCP SDK's streamable HTTP
// handler) that takes only access tokens oidc-provider issued for its own
// resource, with the SDK's bearer-token middleware and RFC 9728 metadata.
type mcpServer struct {
	srv    *httptest.Server
	URL    string // the resource: the MCP endpoint
	issuer string // set once the provider runs

	mu       sync.Mutex
	seen     []string // each request's bearer token ("" for none)
	audience []string // the aud of each token verified
	refusing bool     // refuse every token (a server that loops 401s)
	keys     *oidc.RemoteKeySet

	// dpop: the server wants DPoP-bound tokens (its metadata says so),
	// each call with the proof of the key the token is bound to (RFC
	// 9449 7), which it checks before the Go MCP SDK's bearer check.
	dpop   bool
	proofs int // calls whose proof was checked
}

func newMCPServer(t *testing.T) *mcpServer {
	m := &mcpServer{}
	m.srv = httptest.NewServer(nil)
	t.Cleanup(m.srv.Close)
	m.URL = m.srv.URL + "/mcp"
	return m
}

// start serves the MCP server for tokens of issuer.
func (m *mcpServer) start(t *testing.T, issuer string) {
	m.issuer = issuer
	m.keys = oidc.NewRemoteKeySet(context.Background(), issuer+"/jwks")
	server := mcp.NewServer(&mcp.Implementation{Name: "calendar", Version: "1.0.0"}, nil)
	type whoIn struct{}
	type whoOut struct {
		Subject string `json:"subject"`
	}
	mcp.AddTool(server, &mcp.Tool{Name: "whoami", Description: "the user the token is for"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ whoIn) (*mcp.CallToolResult, whoOut, error) {
			return nil, whoOut{Subject: req.Extra.TokenInfo.UserID}, nil
		})
	metaURL := m.srv.URL + "/.well-known/oauth-protected-resource/mcp"
	protect := mcpauth.RequireBearerToken(m.verify, &mcpauth.RequireBearerTokenOptions{ResourceMetadataURL: metaURL})
	mux := http.NewServeMux()
	mux.Handle("/.well-known/oauth-protected-resource/mcp", mcpauth.ProtectedResourceMetadataHandler(&oauthex.ProtectedResourceMetadata{
		Resource: m.URL, AuthorizationServers: []string{issuer}, ScopesSupported: []string{"tools:read", "tools:call"},
		DPOPBoundAccessTokensRequired: m.dpop, DPOPSigningAlgValuesSupported: []string{"ES256"}}))
	mux.Handle("/mcp", protect(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)))
	m.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/mcp" {
			scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			m.mu.Lock()
			m.seen = append(m.seen, tok)
			m.mu.Unlock()
			if m.dpop && tok != "" {
				if err := m.checkProof(r, scheme, tok); err != nil {
					w.Header().Set("WWW-Authenticate", `DPoP error="invalid_dpop_proof", algs="ES256"`)
					http.Error(w, err.Error(), http.StatusUnauthorized)
					return
				}
				// Checked: the SDK's middleware takes Bearer only.
				r.Header.Set("Authorization", "Bearer "+tok)
			}
		}
		mux.ServeHTTP(w, r)
	})
}

// verify takes a JWT access token of the provider's whose aud is this
// server's resource.
func (m *mcpServer) verify(ctx context.Context, token string, _ *http.Request) (*mcpauth.TokenInfo, error) {
	payload, err := m.keys.VerifySignature(ctx, token)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", mcpauth.ErrInvalidToken, err)
	}
	var c struct {
		Iss   string          `json:"iss"`
		Sub   string          `json:"sub"`
		Aud   json.RawMessage `json:"aud"`
		Exp   int64           `json:"exp"`
		Scope string          `json:"scope"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", mcpauth.ErrInvalidToken, err)
	}
	var aud []string
	if json.Unmarshal(c.Aud, &aud) != nil {
		var one string
		json.Unmarshal(c.Aud, &one)
		aud = []string{one}
	}
	m.mu.Lock()
	m.audience = append(m.audience, strings.Join(aud, " "))
	refusing := m.refusing
	m.mu.Unlock()
	if c.Iss != m.issuer || !slices.Contains(aud, m.URL) || refusing {
		return nil, fmt.Errorf("%w: issuer %q, audience %q", mcpauth.ErrInvalidToken, c.Iss, aud)
	}
	return &mcpauth.TokenInfo{Scopes: strings.Fields(c.Scope), Expiration: time.Unix(c.Exp, 0), UserID: c.Sub}, nil
}

// checkProof checks a DPoP-bound token's call (RFC 9449 7.1): the DPoP
// scheme; a proof (typ dpop+jwt, signed by the key in its header) for this
// method and URL, recent, with ath the token's hash; and the token bound
// to that key (cnf.jkt; its signature is checked after, by verify).
func (m *mcpServer) checkProof(r *http.Request, scheme, tok string) error {
	if scheme != "DPoP" {
		return fmt.Errorf("a DPoP-bound token is sent with the DPoP scheme, not %q", scheme)
	}
	jws, err := jose.ParseSigned(r.Header.Get("DPoP"), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return fmt.Errorf("no DPoP proof: %v", err)
	}
	h := jws.Signatures[0].Header
	if h.ExtraHeaders[jose.HeaderType] != "dpop+jwt" || h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() {
		return errors.New("the proof's header")
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		return err
	}
	var p struct {
		HTM, HTU, ATH, JTI string
		IAT                int64
	}
	json.Unmarshal(payload, &p)
	sum := sha256.Sum256([]byte(tok))
	if p.HTM != r.Method || p.HTU != "http://"+r.Host+r.URL.Path || p.JTI == "" ||
		p.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) || time.Since(time.Unix(p.IAT, 0)).Abs() > 5*time.Minute {
		return fmt.Errorf("the proof's claims: %+v", p)
	}
	thumb, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return err
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errors.New("not a JWT")
	}
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	json.Unmarshal(body, &c)
	if c.Cnf.JKT != base64.RawURLEncoding.EncodeToString(thumb) {
		return errors.New("the token is not bound to the proof's key")
	}
	m.mu.Lock()
	m.proofs++
	m.mu.Unlock()
	return nil
}

func (m *mcpServer) tokens() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.seen)
}

// describedMCP is an app that signs users in with oidc-provider and calls
// an MCP server configured by its URL alone: the server's metadata names
// oidc-provider, the app's only trusted authorization server.
type describedMCP struct {
	*certified
	mcp   *mcpServer
	clock *testenv.Clock
}

func newDescribedMCP(t *testing.T) *describedMCP { return newDescribedMCPWith(t, false) }

// newDescribedMCPWith is newDescribedMCP with an MCP server that wants
// DPoP-bound tokens, and a sign-in client with DPoP, when dpop.
func newDescribedMCPWith(t *testing.T, dpop bool) *describedMCP {
	t.Helper()
	m := newMCPServer(t)
	m.dpop = dpop
	other := "https://other.example/api" // a resource server of the provider's that is not the MCP server
	d := &describedMCP{mcp: m, clock: &testenv.Clock{}}
	d.certified = newCertified(t, certifiedOptions{clock: d.clock, accessTTL: 120,
		grantTypes: []string{"authorization_code", "refresh_token", "client_credentials"},
		features:   map[string]any{"clientCredentials": map[string]any{"enabled": true}},
		op: func(c *certop.Config) {
			c.ResourceServers = map[string]map[string]string{m.URL: {"scope": "tools:read tools:call"}, other: {"scope": "read"}}
		},
		client: func(c *client.Config) { c.DPoP = dpop },
		withURL: func(_ string, cfg *middleware.Config) {
			ep, err := cfg.Clients[0].Provider().Endpoints(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			m.start(t, ep.Issuer)
			// As docs/connected.md says: the URL, and the servers the app trusts.
			cfg.APIs = append(cfg.APIs, middleware.API{Name: "calendar", BaseURL: m.URL, AuthorizationServers: []string{ep.Issuer}})
		}})
	auth := d.app.Auth
	d.app.Mux.Handle("/tools", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "app", Version: "1"}, nil).Connect(r.Context(),
			&mcp.StreamableClientTransport{Endpoint: m.URL, HTTPClient: auth.HTTPClient(r), MaxRetries: -1}, nil)
		if auth.StepUp(w, r, err) {
			return
		}
		if err != nil {
			http.Error(w, err.Error(), middleware.StatusCode(err))
			return
		}
		defer cs.Close()
		tools, err := cs.ListTools(r.Context(), nil)
		if err != nil {
			http.Error(w, err.Error(), middleware.StatusCode(err))
			return
		}
		res, err := cs.CallTool(r.Context(), &mcp.CallToolParams{Name: "whoami"})
		if err != nil {
			http.Error(w, err.Error(), middleware.StatusCode(err))
			return
		}
		var names []string
		for _, tl := range tools.Tools {
			names = append(names, tl.Name)
		}
		json.NewEncoder(w).Encode(map[string]any{"tools": names, "whoami": res.StructuredContent})
	})))
	return d
}

// callJSON GETs path as a page's fetch does.
func callJSON(t *testing.T, hc *http.Client, u string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestDescribedMCPServer: an MCP server known by its URL alone. Its first
// call carries no token; its 401 names its metadata, which names the
// provider; the user connects once (a grant for the MCP server's
// resource, with PKCE); then the app lists its tools and calls one, with a
// token whose audience is that server, refreshed when it is due. No token
// of the sign-in ever reaches it, and a token of the same provider for
// another resource is refused.
func TestDescribedMCPServer(t *testing.T) {
	d := newDescribedMCP(t)
	hc := d.signIn(t, "alice")
	before := d.op.Counts(t)["/token"]

	resp, body := callJSON(t, hc, d.app.URL+"/tools")
	if seen := d.mcp.tokens(); len(seen) != 1 || seen[0] != "" {
		t.Fatalf("the MCP server's first calls carried %.40q, want one call without a token", seen)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/tools before connecting: %d %s", resp.StatusCode, body)
	}
	var nc struct {
		Error    string `json:"error"`
		API      string `json:"api"`
		LoginURL string `json:"login_url"`
	}
	json.Unmarshal([]byte(body), &nc)
	if nc.Error != "not_connected" || nc.API != "calendar" || !strings.HasPrefix(nc.LoginURL, "/auth/connect?") {
		t.Fatalf("/tools before connecting: %s", body)
	}
	if n := d.op.Counts(t)["/token"]; n > before+1 {
		t.Errorf("%d token requests before the user connected, want at most 1 (a refresh grant for the resource, refused)", n-before)
	}

	// The user connects: the provider's consent for the MCP server's
	// resource and scopes.
	resp, _ = get(t, hc, d.app.URL+nc.LoginURL)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("connect: %d", resp.StatusCode)
	}
	authz, _ := url.Parse(resp.Header.Get("Location"))
	if !strings.HasPrefix(authz.String(), d.op.Issuer) {
		t.Fatalf("connect went to %s, not the provider", authz)
	}
	cb, err := d.op.Login(hc, authz.String(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/tools" {
		t.Fatalf("connect callback: %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}

	resp, body = callJSON(t, hc, d.app.URL+"/tools")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"whoami"`) || !strings.Contains(body, `"subject":"alice"`) {
		t.Fatalf("/tools once connected: %d %s", resp.StatusCode, body)
	}
	first := d.assertOnlyOwnTokens(t)

	// Due: the app's clock past the token's lifetime (the server's own
	// check uses the wall clock, so the old token would still pass there).
	d.clock.Add(3 * time.Minute)
	tokBefore := d.op.Counts(t)["/token"]
	if resp, body := callJSON(t, hc, d.app.URL+"/tools"); resp.StatusCode != http.StatusOK {
		t.Fatalf("/tools after the token was due: %d %s", resp.StatusCode, body)
	}
	if got := d.assertOnlyOwnTokens(t); len(got) < 2 || got[len(got)-1] == first[0] {
		t.Errorf("the MCP server saw tokens %d, the last the same as the first: not refreshed", len(got))
	}
	if d.op.Counts(t)["/token"] == tokBefore {
		t.Error("no token request once the token was due")
	}

	// A token of the same provider for another resource: refused.
	other := d.clientCredentials(t, "https://other.example/api")
	req, _ := http.NewRequest(http.MethodPost, d.mcp.URL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set("Authorization", "Bearer "+other)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusUnauthorized || !strings.Contains(r2.Header.Get("WWW-Authenticate"), "resource_metadata=") {
		t.Errorf("a token for another resource: %d %q, want 401 naming the metadata", r2.StatusCode, r2.Header.Get("WWW-Authenticate"))
	}
}

// assertOnlyOwnTokens fails unless every token the MCP server saw was
// issued for it (the first call excepted, which carried none), and
// returns the distinct ones in order.
func (d *describedMCP) assertOnlyOwnTokens(t *testing.T) []string {
	t.Helper()
	var distinct []string
	for i, tok := range d.mcp.tokens() {
		if tok == "" {
			if i != 0 {
				t.Errorf("call %d to the MCP server carried no token", i)
			}
			continue
		}
		if !slices.Contains(distinct, tok) {
			distinct = append(distinct, tok)
		}
	}
	d.mcp.mu.Lock()
	defer d.mcp.mu.Unlock()
	for _, aud := range d.mcp.audience {
		if aud != d.mcp.URL {
			t.Errorf("the MCP server was sent a token for %q", aud)
		}
	}
	return distinct
}

// clientCredentials is an access token of the app's own for resource.
func (d *describedMCP) clientCredentials(t *testing.T, resource string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, d.op.Issuer+"/token", strings.NewReader(url.Values{
		"grant_type": {"client_credentials"}, "resource": {resource}, "scope": {"read"}}.Encode()))
	req.SetBasicAuth("app", "app-secret-value-never-logged")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := d.op.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("client credentials: %d %v", resp.StatusCode, err)
	}
	return tr.AccessToken
}

// TestDescribedMCPServerDPoP: an MCP server whose metadata says it wants
// DPoP-bound tokens, and an app whose sign-in client uses DPoP: the
// token for the server's resource is bound to the session's key, and
// every call to the server carries it with the DPoP scheme and a proof
// the server checks (method, URL, the token's hash, the key the token is
// bound to). The token alone, as a Bearer token, is refused.
func TestDescribedMCPServerDPoP(t *testing.T) {
	d := newDescribedMCPWith(t, true)
	hc := d.signIn(t, "alice")
	resp, body := callJSON(t, hc, d.app.URL+"/tools")
	if resp.StatusCode == http.StatusUnauthorized {
		var nc struct {
			LoginURL string `json:"login_url"`
		}
		json.Unmarshal([]byte(body), &nc)
		resp, _ = get(t, hc, d.app.URL+nc.LoginURL)
		cb, err := d.op.Login(hc, resp.Header.Get("Location"), "alice")
		if err != nil {
			t.Fatal(err)
		}
		get(t, hc, cb.String())
		resp, body = callJSON(t, hc, d.app.URL+"/tools")
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"subject":"alice"`) {
		t.Fatalf("/tools: %d %s", resp.StatusCode, body)
	}
	d.assertOnlyOwnTokens(t)
	d.mcp.mu.Lock()
	proofs, seen := d.mcp.proofs, slices.Clone(d.mcp.seen)
	d.mcp.mu.Unlock()
	if proofs < 2 {
		t.Errorf("%d calls with a checked proof, want every call with a token (%d)", proofs, len(seen))
	}
	// The token without its key.
	tok := seen[len(seen)-1]
	req, _ := http.NewRequest(http.MethodPost, d.mcp.URL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusUnauthorized {
		t.Errorf("the DPoP-bound token as a Bearer token: %d, want 401", r2.StatusCode)
	}
}
