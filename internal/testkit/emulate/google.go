package emulate

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
)

// Google emulates Google's OpenID Provider at its real hosts:
// accounts.google.com (discovery, /o/oauth2/v2/auth), oauth2.googleapis.com
// (/token, /revoke), openidconnect.googleapis.com (/v1/userinfo) and
// www.googleapis.com (/oauth2/v3/certs). As Google does, it refuses the
// offline_access scope (invalid_scope), issues a refresh token only for
// access_type=offline, has no end_session endpoint, and puts the Workspace
// domain in the ID token's hd claim.
type Google struct {
	OP     *devprovider.Provider
	Server *httptest.Server
}

// GoogleUser is a Workspace user of example.com.
var GoogleUser = devprovider.User{ID: "109876543210987654321", Username: "grace@example.com", Password: "pw",
	Name: "Grace Hopper", Email: "grace@example.com", Picture: "https://lh3.googleusercontent.com/a/grace",
	Claims: map[string]any{"hd": "example.com"}}

// NewGoogle starts the emulator, mapped in hosts, with clients and users
// (default GoogleUser).
func NewGoogle(t testing.TB, hosts *Hosts, clients []devprovider.Client, users []devprovider.User, lifetime time.Duration) *Google {
	t.Helper()
	if len(users) == 0 {
		users = []devprovider.User{GoogleUser}
	}
	op, err := devprovider.New("https://accounts.google.com", devprovider.Config{Users: users, Clients: clients, AccessTokenLifetime: lifetime})
	if err != nil {
		t.Fatal(err)
	}
	g := &Google{OP: op}
	g.Server = httptest.NewServer(g)
	t.Cleanup(g.Server.Close)
	for _, h := range []string{"accounts.google.com", "oauth2.googleapis.com", "openidconnect.googleapis.com", "www.googleapis.com"} {
		hosts.Map(h, g.Server.URL)
	}
	return g
}

// Google's discovery document, trimmed to what matters.
var googleDiscovery = map[string]any{
	"issuer":                                "https://accounts.google.com",
	"authorization_endpoint":                "https://accounts.google.com/o/oauth2/v2/auth",
	"device_authorization_endpoint":         "https://oauth2.googleapis.com/device/code",
	"token_endpoint":                        "https://oauth2.googleapis.com/token",
	"userinfo_endpoint":                     "https://openidconnect.googleapis.com/v1/userinfo",
	"revocation_endpoint":                   "https://oauth2.googleapis.com/revoke",
	"jwks_uri":                              "https://www.googleapis.com/oauth2/v3/certs",
	"response_types_supported":              []string{"code", "token", "id_token", "code token", "code id_token", "token id_token", "code token id_token", "none"},
	"subject_types_supported":               []string{"public"},
	"id_token_signing_alg_values_supported": []string{"RS256"},
	"scopes_supported":                      []string{"openid", "email", "profile"},
	"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
	"code_challenge_methods_supported":      []string{"plain", "S256"},
	"grant_types_supported":                 []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:jwt-bearer"},
}

func (g *Google) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := func(path string) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = path
		g.OP.ServeHTTP(w, r2)
	}
	switch r.Host + r.URL.Path {
	case "accounts.google.com/.well-known/openid-configuration":
		writeJSON(w, googleDiscovery)
	case "accounts.google.com/o/oauth2/v2/auth":
		q := r.URL.Query()
		scopes := strings.Fields(q.Get("scope"))
		if slices.Contains(scopes, "offline_access") {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte("Error 400: invalid_scope. Some requested scopes were invalid. {invalid=[offline_access]}"))
			return
		}
		if q.Get("access_type") == "offline" {
			// Google's way to ask for a refresh token; the OP's is the scope.
			q.Set("scope", strings.Join(append(scopes, "offline_access"), " "))
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawQuery = devprovider.PathAuthorize, q.Encode()
		g.OP.ServeHTTP(w, r2)
	case "oauth2.googleapis.com/token":
		route(devprovider.PathToken)
	case "oauth2.googleapis.com/revoke":
		route(devprovider.PathRevoke)
	case "openidconnect.googleapis.com/v1/userinfo":
		route(devprovider.PathUserinfo)
	case "www.googleapis.com/oauth2/v3/certs":
		route(devprovider.PathKeys)
	case "accounts.google.com/end_session", "accounts.google.com/oauth/token":
		http.NotFound(w, r) // Google has neither
	default:
		if r.Host == "accounts.google.com" { // login UI and the OP's callback
			g.OP.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	}
}
