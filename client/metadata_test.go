package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/seam"
)

// The well-known paths of the two kinds of metadata.
const (
	openIDPath = "/.well-known/openid-configuration"
	asPath     = "/.well-known/oauth-authorization-server"
)

// asPlumbing is what a package of the module that needs an authorization
// server asks of the *client.Provider plumbing (internal/seam).
type asPlumbing interface {
	DiscoverAuthorizationServer(ctx context.Context, issuer string, opts ...client.ProviderOption) (*client.Provider, error)
	Discovered(ctx context.Context) (seam.Discovered, error)
	IsOIDC() bool
}

func discoverAS(ctx context.Context, issuer string, opts ...client.ProviderOption) (*client.Provider, error) {
	return seam.Of((*client.Provider)(nil)).(asPlumbing).DiscoverAuthorizationServer(ctx, issuer, opts...)
}

func asOf(p *client.Provider) asPlumbing { return seam.Of(p).(asPlumbing) }

// metadataServer serves the documents docs holds, by path (ISSUER in them
// stands for its URL; a nil document is a 404), and counts the requests.
type metadataServer struct {
	*httptest.Server
	mu     sync.Mutex
	docs   map[string]any
	faults map[string]http.HandlerFunc
	counts map[string]int
}

func newMetadataServer(t *testing.T) *metadataServer {
	s := &metadataServer{docs: map[string]any{}, faults: map[string]http.HandlerFunc{}, counts: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.counts[r.URL.Path]++
		doc, fault := s.docs[r.URL.Path], s.faults[r.URL.Path]
		s.mu.Unlock()
		switch {
		case fault != nil:
			fault(w, r)
		case doc == nil:
			http.NotFound(w, r)
		default:
			b, _ := json.Marshal(doc)
			w.Header().Set("Content-Type", "application/json")
			w.Write(bytes.ReplaceAll(b, []byte("ISSUER"), []byte(s.URL)))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *metadataServer) serve(path string, doc any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[path] = doc
}

func (s *metadataServer) fault(path string, f http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = f
}

func (s *metadataServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[path]
}

// asMetadata is an OAuth 2.0 authorization server's RFC 8414 metadata
// (no jwks_uri), its endpoints under ISSUER/as.
func asMetadata(issuer string) map[string]any {
	return map[string]any{
		"issuer":                                         issuer,
		"authorization_endpoint":                         "ISSUER/as/authorize",
		"token_endpoint":                                 "ISSUER/as/token",
		"revocation_endpoint":                            "ISSUER/as/revoke",
		"pushed_authorization_request_endpoint":          "ISSUER/as/par",
		"response_types_supported":                       []string{"code"},
		"scopes_supported":                               []string{"files.read", "offline_access"},
		"authorization_response_iss_parameter_supported": true,
	}
}

// openIDMetadata is an OpenID Connect provider's discovery document, its
// endpoints under ISSUER/oidc.
func openIDMetadata(issuer string) map[string]any {
	return map[string]any{
		"issuer":                   issuer,
		"authorization_endpoint":   "ISSUER/oidc/authorize",
		"token_endpoint":           "ISSUER/oidc/token",
		"jwks_uri":                 "ISSUER/oidc/jwks",
		"response_types_supported": []string{"code"},
		"scopes_supported":         []string{"openid", "email"},
	}
}

// TestDiscoverAuthorizationServerMetadata: an OAuth 2.0 authorization
// server that publishes only RFC 8414 metadata is found by Discover (after
// its OpenID Connect discovery answered 404) and by the plumbing's
// DiscoverAuthorizationServer (first, alone); without jwks_uri it is a
// plain OAuth 2.0 provider with the metadata's endpoints and scopes.
func TestDiscoverAuthorizationServerMetadata(t *testing.T) {
	ctx := context.Background()
	s := newMetadataServer(t)
	s.serve(asPath, asMetadata("ISSUER"))
	s.serve("/as/token", map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 60, "refresh_token": "rt"})
	s.serve("/as/revoke", map[string]any{})
	for _, tc := range []struct {
		name         string
		discover     func(context.Context, string, ...client.ProviderOption) (*client.Provider, error)
		openIDAsked  int
		metadataSeen int
	}{
		{"Discover", client.Discover, 1, 1},
		{"DiscoverAuthorizationServer", discoverAS, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := map[string]int{openIDPath: s.count(openIDPath), asPath: s.count(asPath)}
			prov, err := tc.discover(ctx, s.URL)
			if err != nil {
				t.Fatal(err)
			}
			if n := s.count(openIDPath) - before[openIDPath]; n != tc.openIDAsked {
				t.Errorf("OpenID Connect discovery asked %d times, want %d", n, tc.openIDAsked)
			}
			if n := s.count(asPath) - before[asPath]; n != tc.metadataSeen {
				t.Errorf("RFC 8414 metadata asked %d times, want %d", n, tc.metadataSeen)
			}
			ep, err := prov.Endpoints(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := client.Endpoints{AuthURL: s.URL + "/as/authorize", TokenURL: s.URL + "/as/token",
				RevocationURL: s.URL + "/as/revoke", PARURL: s.URL + "/as/par"}
			if ep.Issuer != "" || ep.JWKSURL != "" || ep.AuthURL != want.AuthURL || ep.TokenURL != want.TokenURL ||
				ep.RevocationURL != want.RevocationURL || ep.PARURL != want.PARURL {
				t.Errorf("endpoints %+v, want %+v", ep, want)
			}
			if asOf(prov).IsOIDC() {
				t.Error("IsOIDC: true for metadata without jwks_uri")
			}
			d, err := asOf(prov).Discovered(ctx)
			if err != nil || !slices.Equal(d.ScopesSupported, []string{"files.read", "offline_access"}) || !d.ResponseIss {
				t.Errorf("Discovered = %+v, %v: want the metadata's scopes_supported and its iss parameter", d, err)
			}

			// A client of it: no nonce, no openid scope; RFC 9207's iss
			// is the metadata's issuer; no user without ID token.
			c, err := client.New(client.Config{Provider: prov, ClientID: "rp", ClientSecret: "s", RedirectURL: "http://127.0.0.1:1/cb",
				Scopes: []string{"files.read", "offline_access"}})
			if err != nil {
				t.Fatal(err)
			}
			l, err := c.NewLogin(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(l.URL)
			if q := u.Query(); !strings.HasPrefix(l.URL, want.AuthURL+"?") || q.Has("nonce") || q.Get("scope") != "files.read offline_access" {
				t.Errorf("authorization URL %s", l.URL)
			}
			if err := client.CheckResponseIssuer(c, ctx, url.Values{"iss": {s.URL}}); err != nil {
				t.Errorf("iss of the metadata: %v", err)
			}
			if err := client.CheckResponseIssuer(c, ctx, url.Values{"iss": {"https://mix-up.example"}}); !errors.Is(err, fail.ResponseIssuer) {
				t.Errorf("another iss: %v, want fail.ResponseIssuer", err)
			}
			if err := client.CheckResponseIssuer(c, ctx, url.Values{}); !errors.Is(err, fail.ResponseIssuer) {
				t.Errorf("no iss from a server that says it sends it: %v, want fail.ResponseIssuer", err)
			}
			_, err = c.Callback(ctx, url.Values{"code": {"c"}, "state": {l.State}, "iss": {s.URL}}, l)
			if !errors.Is(err, fail.NotSupported) || !errors.Is(err, confidant.ErrConfig) || !strings.Contains(err.Error(), "jwks_uri") {
				t.Errorf("Callback: %v, want fail.NotSupported saying there is no jwks_uri", err)
			}
			// Its tokens are refreshed and revoked.
			res, err := c.Refresh(ctx, &client.Result{Token: &oauth2.Token{RefreshToken: "rt0"}})
			if err != nil || res.Token.AccessToken != "at" {
				t.Errorf("Refresh: %+v, %v", res, err)
			}
			if err := c.Revoke(ctx, &oauth2.Token{RefreshToken: "rt"}); err != nil || s.count("/as/revoke") == 0 {
				t.Errorf("Revoke: %v (%d revocation requests)", err, s.count("/as/revoke"))
			}
		})
	}
}

// TestAuthorizationServerMetadataPath: RFC 8414 3.1 inserts the
// well-known path between the host and the issuer's path (a terminating
// "/" removed), not after the path as OpenID Connect discovery does.
func TestAuthorizationServerMetadataPath(t *testing.T) {
	s := newMetadataServer(t)
	for _, tc := range []struct{ issuerPath, at string }{
		{"/tenant", asPath + "/tenant"},
		{"/tenant/", asPath + "/tenant"},
		{"/a/b", asPath + "/a/b"},
		{"/", asPath},
	} {
		issuer := s.URL + tc.issuerPath
		s.serve(tc.at, asMetadata(issuer))
		// The appended form names the same issuer with other endpoints:
		// found there, the endpoints would say so.
		wrong := asMetadata(issuer)
		wrong["authorization_endpoint"] = "ISSUER/appended"
		if appended := strings.TrimSuffix(tc.issuerPath, "/") + asPath; appended != tc.at {
			s.serve(appended, wrong)
		}
		for name, discover := range map[string]func(context.Context, string, ...client.ProviderOption) (*client.Provider, error){
			"Discover": client.Discover, "DiscoverAuthorizationServer": discoverAS} {
			prov, err := discover(context.Background(), issuer)
			if err != nil {
				t.Errorf("%s(%s): %v", name, issuer, err)
				continue
			}
			if ep, err := prov.Endpoints(context.Background()); err != nil || ep.AuthURL != s.URL+"/as/authorize" {
				t.Errorf("%s(%s): endpoints %+v, %v: not the metadata at %s", name, issuer, ep, err, tc.at)
			}
		}
		s.serve(tc.at, nil)
	}
}

// TestAuthorizationServerMetadataIssuer: metadata that names another
// issuer, even one differing only in a trailing slash, is refused (RFC
// 8414 3.3) with ErrInvalidResponse, and OpenID Connect discovery is then
// not tried in its place.
func TestAuthorizationServerMetadataIssuer(t *testing.T) {
	s := newMetadataServer(t)
	for _, named := range []string{"ISSUER/", "https://other.example", ""} {
		s.serve(asPath, asMetadata(named))
		for name, discover := range map[string]func(context.Context, string, ...client.ProviderOption) (*client.Provider, error){
			"Discover": client.Discover, "DiscoverAuthorizationServer": discoverAS} {
			_, err := discover(context.Background(), s.URL)
			if !errors.Is(err, client.ErrInvalidResponse) || !errors.Is(err, fail.Discovery) {
				t.Errorf("%s: metadata naming issuer %q: %v, want ErrInvalidResponse (fail.Discovery)", name, named, err)
			}
		}
	}
	// A valid OpenID Connect document does not stand in for metadata
	// that names another issuer.
	s.serve(openIDPath, openIDMetadata("ISSUER"))
	s.serve(asPath, asMetadata("https://other.example"))
	before := s.count(openIDPath)
	if _, err := discoverAS(context.Background(), s.URL); !errors.Is(err, client.ErrInvalidResponse) {
		t.Errorf("DiscoverAuthorizationServer with another issuer's metadata: %v, want ErrInvalidResponse", err)
	}
	if n := s.count(openIDPath) - before; n != 0 {
		t.Errorf("OpenID Connect discovery asked %d times after the metadata named another issuer", n)
	}
	// Discover asks OpenID Connect discovery first, which answers.
	if _, err := client.Discover(context.Background(), s.URL); err != nil {
		t.Errorf("Discover: %v", err)
	}
}

// TestAuthorizationServerFirst: with both documents, the plumbing's
// DiscoverAuthorizationServer uses RFC 8414's and Discover OpenID
// Connect's, without asking for the other; each gives its own
// scopes_supported. Metadata with a jwks_uri gives an OpenID Connect
// provider.
func TestAuthorizationServerFirst(t *testing.T) {
	ctx := context.Background()
	s := newMetadataServer(t)
	as := asMetadata("ISSUER")
	as["jwks_uri"] = "ISSUER/as/jwks"
	s.serve(asPath, as)
	s.serve(openIDPath, openIDMetadata("ISSUER"))

	prov, err := discoverAS(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	ep, _ := prov.Endpoints(ctx)
	d, _ := asOf(prov).Discovered(ctx)
	if ep.AuthURL != s.URL+"/as/authorize" || ep.Issuer != s.URL || ep.JWKSURL != s.URL+"/as/jwks" || !asOf(prov).IsOIDC() ||
		!slices.Equal(d.ScopesSupported, []string{"files.read", "offline_access"}) {
		t.Errorf("DiscoverAuthorizationServer: endpoints %+v, scopes %q: want RFC 8414's, with its jwks_uri", ep, d.ScopesSupported)
	}
	if n := s.count(openIDPath); n != 0 {
		t.Errorf("DiscoverAuthorizationServer asked OpenID Connect discovery %d times", n)
	}

	prov, err = client.Discover(ctx, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	ep, _ = prov.Endpoints(ctx)
	d, _ = asOf(prov).Discovered(ctx)
	if ep.AuthURL != s.URL+"/oidc/authorize" || ep.JWKSURL != s.URL+"/oidc/jwks" || !slices.Equal(d.ScopesSupported, []string{"openid", "email"}) {
		t.Errorf("Discover: endpoints %+v, scopes %q: want OpenID Connect discovery's", ep, d.ScopesSupported)
	}
	if n := s.count(asPath); n != 1 {
		t.Errorf("RFC 8414 metadata asked %d times, want once (DiscoverAuthorizationServer's only)", n)
	}
}

// TestAuthorizationServerFirstFallsBack: at an OpenID Connect provider
// without RFC 8414 metadata (the in-process provider answers 404 there),
// DiscoverAuthorizationServer uses OpenID Connect discovery, and users
// sign in as with Discover.
func TestAuthorizationServerFirstFallsBack(t *testing.T) {
	op := startOP(t)
	prov, err := discoverAS(context.Background(), op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	if op.Count(asPath) != 1 || op.Count(devprovider.PathDiscovery) != 1 {
		t.Errorf("asked RFC 8414 metadata %d times and OpenID Connect discovery %d times, want once each",
			op.Count(asPath), op.Count(devprovider.PathDiscovery))
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: clientID, ClientSecret: secret, RedirectURL: redirect})
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.NewLogin(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := op.Login(http.DefaultClient, l.URL, devprovider.DemoUser)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Callback(context.Background(), cb.Query(), l)
	if err != nil || res.User.Subject != devprovider.DemoUser.ID || res.IDToken == "" {
		t.Fatalf("sign-in: %v", err)
	}
}

// TestAuthorizationServerMetadataFaults: the metadata is found as OpenID
// Connect discovery is: a server that is down is discovered on first use
// (and OpenID Connect discovery that is down does not send Discover to
// RFC 8414); an issuer with neither document, an error answer, or a body
// past the size bound is an error that says so.
func TestAuthorizationServerMetadataFaults(t *testing.T) {
	ctx := context.Background()
	down := func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }

	s := newMetadataServer(t)
	s.fault(asPath, down)
	for name, discover := range map[string]func(context.Context, string, ...client.ProviderOption) (*client.Provider, error){
		"Discover": client.Discover, "DiscoverAuthorizationServer": discoverAS} {
		s.fault(asPath, down)
		prov, err := discover(ctx, s.URL, client.WithRetryInterval(time.Millisecond))
		if err != nil {
			t.Fatalf("%s with the metadata down: %v, want a provider discovered on first use", name, err)
		}
		if _, err := prov.Endpoints(ctx); !errors.Is(err, client.ErrProviderUnavailable) {
			t.Fatalf("%s: while down: %v", name, err)
		}
		s.fault(asPath, nil)
		s.serve(asPath, asMetadata("ISSUER"))
		time.Sleep(5 * time.Millisecond)
		if ep, err := prov.Endpoints(ctx); err != nil || ep.TokenURL != s.URL+"/as/token" {
			t.Fatalf("%s: after recovery: %+v, %v", name, ep, err)
		}
		s.serve(asPath, nil)
	}

	s = newMetadataServer(t)
	s.fault(openIDPath, down)
	s.serve(asPath, asMetadata("ISSUER"))
	if _, err := client.Discover(ctx, s.URL); err != nil || s.count(asPath) != 0 {
		t.Errorf("Discover with OpenID Connect discovery down: %v, RFC 8414 asked %d times; want a lazy provider, not asked", err, s.count(asPath))
	}

	s = newMetadataServer(t)
	for name, discover := range map[string]func(context.Context, string, ...client.ProviderOption) (*client.Provider, error){
		"Discover": client.Discover, "DiscoverAuthorizationServer": discoverAS} {
		_, err := discover(ctx, s.URL)
		if !errors.Is(err, fail.Discovery) || !strings.Contains(err.Error(), s.URL+asPath) || !strings.Contains(err.Error(), s.URL+openIDPath) {
			t.Errorf("%s with neither document: %v, want fail.Discovery naming both", name, err)
		}
	}
	s.fault(asPath, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) })
	if _, err := client.Discover(ctx, s.URL); !errors.Is(err, fail.Discovery) || !strings.Contains(err.Error(), "403") {
		t.Errorf("metadata answering 403: %v, want fail.Discovery saying 403", err)
	}
	s.fault(asPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for range 160 { // 10 MB
			if _, err := w.Write(bytes.Repeat([]byte(" "), 64<<10)); err != nil {
				return
			}
		}
	})
	if _, err := discoverAS(ctx, s.URL); !errors.Is(err, fail.ResponseTooLarge) || !errors.Is(err, fail.Discovery) {
		t.Errorf("10 MB metadata: %v, want fail.Discovery, fail.ResponseTooLarge", err)
	}
}
