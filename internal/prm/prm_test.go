package prm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/confidant-go/confidant/internal/fail"
)

func TestWellKnown(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.example":            "https://api.example/.well-known/oauth-protected-resource",
		"https://api.example/":           "https://api.example/.well-known/oauth-protected-resource",
		"https://api.example/v1":         "https://api.example/.well-known/oauth-protected-resource/v1",
		"https://api.example/v1/":        "https://api.example/.well-known/oauth-protected-resource/v1/",
		"https://api.example:8443/mcp?x": "https://api.example:8443/.well-known/oauth-protected-resource/mcp?x",
	} {
		if got, err := WellKnown(in); err != nil || got != want {
			t.Errorf("WellKnown(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := WellKnown("/relative"); !errors.Is(err, fail.MetadataURLRefused) {
		t.Errorf("a relative URL: %v", err)
	}
}

func TestFromChallenge(t *testing.T) {
	h := http.Header{}
	h.Add("WWW-Authenticate", `Basic realm="x"`)
	h.Add("WWW-Authenticate", `Bearer error="invalid_token", resource_metadata="https://api.example/.well-known/oauth-protected-resource/mcp", scope="a b"`)
	if got := FromChallenge(h); got != "https://api.example/.well-known/oauth-protected-resource/mcp" {
		t.Errorf("FromChallenge = %q", got)
	}
	if got := FromChallenge(http.Header{"Www-Authenticate": {`Bearer realm="x"`}}); got != "" {
		t.Errorf("no resource_metadata: %q", got)
	}
}

// serve answers the metadata of resource (as body when not empty).
func serve(t *testing.T, body func(srvURL string) string) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/.well-known/oauth-protected-resource/api", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body(srv.URL))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetch(t *testing.T) {
	srv := serve(t, func(u string) string {
		return `{"resource":"` + u + `/api","authorization_servers":["https://as.example","https://other.example"],"scopes_supported":["read"]}`
	})
	hc := Client(false, true, nil)
	m, err := Fetch(context.Background(), hc, srv.URL+"/.well-known/oauth-protected-resource/api", srv.URL+"/api")
	if err != nil || m.ScopesSupported[0] != "read" {
		t.Fatalf("Fetch: %+v %v", m, err)
	}
	if as, err := m.Trusted([]string{"https://other.example"}); err != nil || as != "https://other.example" {
		t.Errorf("Trusted: %q %v", as, err)
	}
	if _, err := m.Trusted([]string{"https://as.example/"}); !errors.Is(err, fail.UntrustedServer) {
		t.Errorf("a look-alike issuer trusted: %v", err)
	}
	// The resource must be the API's URL, byte for byte.
	for _, other := range []string{srv.URL + "/api/", srv.URL + "/API", srv.URL + "/ap"} {
		if _, err := Fetch(context.Background(), hc, srv.URL+"/.well-known/oauth-protected-resource/api", other); !errors.Is(err, fail.ResourceMismatch) {
			t.Errorf("resource %q accepted for metadata naming %s/api: %v", other, srv.URL, err)
		}
	}
	// No redirects.
	if _, err := Fetch(context.Background(), hc, srv.URL+"/redirect", srv.URL+"/api"); err == nil || !strings.Contains(err.Error(), "302") {
		t.Errorf("a redirect was followed: %v", err)
	}
	// https, or http to loopback only.
	for _, bad := range []string{"http://api.example/.well-known/oauth-protected-resource", "ftp://127.0.0.1/x", "https://user@api.example/x", "/x"} {
		if _, err := Fetch(context.Background(), hc, bad, srv.URL+"/api"); !errors.Is(err, fail.MetadataURLRefused) {
			t.Errorf("%q: %v, want refused", bad, err)
		}
	}
}

func TestFetchTooLarge(t *testing.T) {
	srv := serve(t, func(u string) string {
		return `{"resource":"` + u + `/api","resource_name":"` + strings.Repeat("x", MaxSize) + `"}`
	})
	if _, err := Fetch(context.Background(), Client(false, true, nil), srv.URL+"/m", srv.URL+"/api"); !errors.Is(err, fail.MetadataTooLarge) {
		t.Errorf("a metadata document over 1 MiB: %v", err)
	}
}

func TestFetchTimeout(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stop }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	if _, err := Fetch(ctx, Client(false, true, nil), srv.URL+"/m", srv.URL+"/api"); !errors.Is(err, fail.MetadataTimeout) {
		t.Errorf("a metadata fetch past its time: %v", err)
	}
}

// TestRefuseInternal: the dialer refuses private, link-local, unique
// local, unspecified and other special-use addresses (IPv4-mapped, NAT64
// and 6to4 forms too), and loopback when told to; it allows public ones.
func TestRefuseInternal(t *testing.T) {
	for addr, refused := range map[string]bool{
		"10.1.2.3:443": true, "172.16.0.1:443": true, "172.31.255.255:443": true, "192.168.1.1:443": true,
		"169.254.169.254:80": true, "[fd00::1]:443": true, "[fe80::1]:443": true, "[::ffff:10.0.0.1]:443": true,
		"0.0.0.0:80": true, "[::]:80": true, "100.64.0.1:443": true, "198.18.0.1:443": true, "192.0.0.8:443": true,
		"240.0.0.1:443": true, "224.0.0.1:443": true, "255.255.255.255:443": true, "[ff02::1]:443": true,
		"[64:ff9b::a9fe:a9fe]:80": true, "[64:ff9b:1::a00:1]:443": true, "[2002:a9fe:a9fe::1]:80": true,
		"127.0.0.1:443": false, "[::1]:443": false, "93.184.216.34:443": false, "172.32.0.1:443": false,
	} {
		err := refuse(addr, true, false)
		if (err != nil) != refused || (err != nil && !errors.Is(err, fail.MetadataURLRefused)) {
			t.Errorf("%s: %v, want refused %v", addr, err, refused)
		}
	}
	for _, addr := range []string{"127.0.0.1:443", "127.9.9.9:80", "[::1]:443", "[::ffff:127.0.0.1]:80"} {
		if err := refuse(addr, false, true); !errors.Is(err, fail.MetadataURLRefused) {
			t.Errorf("%s with loopback refused: %v", addr, err)
		}
	}
	// And through the client: a metadata URL whose host resolves to a
	// private address is refused when dialling (with an https URL, as a
	// hostile API would give).
	if _, err := Fetch(context.Background(), Client(false, true, nil), "https://10.255.255.1:9/m", "https://10.255.255.1:9/api"); !errors.Is(err, fail.MetadataURLRefused) {
		t.Errorf("a private address dialled: %v", err)
	}
}
