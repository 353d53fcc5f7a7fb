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

// GitLab emulates gitlab.com as "GitLab as an OpenID Connect identity
// provider" (docs.gitlab.com/integration/openid_connect_provider) and its
// OAuth 2.0 API docs describe it: endpoints under /oauth, ID tokens that
// live two minutes beside two-hour access tokens, groups and
// groups_direct in userinfo only, a refresh token with every code, the
// offline_access scope refused (invalid_scope), no end_session endpoint.
type GitLab struct {
	OP     *devprovider.Provider
	Server *httptest.Server
}

// NewGitLab starts the emulator for clients and users, mapped in hosts.
func NewGitLab(t testing.TB, hosts *Hosts, now func() time.Time, clients []devprovider.Client, users []devprovider.User) *GitLab {
	t.Helper()
	op, err := devprovider.New("https://gitlab.com", devprovider.Config{Users: users, Clients: clients, Now: now,
		IDTokenLifetime: 2 * time.Minute, AccessTokenLifetime: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	g := &GitLab{OP: op}
	g.Server = httptest.NewServer(g)
	t.Cleanup(g.Server.Close)
	hosts.Map("gitlab.com", g.Server.URL)
	return g
}

func (g *GitLab) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	to := func(path string) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = path
		g.OP.ServeHTTP(w, r2)
	}
	switch r.URL.Path {
	case devprovider.PathDiscovery:
		doc := discovery(g.OP, r)
		doc["authorization_endpoint"] = "https://gitlab.com/oauth/authorize"
		doc["token_endpoint"] = "https://gitlab.com/oauth/token"
		doc["userinfo_endpoint"] = "https://gitlab.com/oauth/userinfo"
		doc["jwks_uri"] = "https://gitlab.com/oauth/discovery/keys"
		doc["revocation_endpoint"] = "https://gitlab.com/oauth/revoke"
		doc["scopes_supported"] = []string{"api", "read_user", "openid", "profile", "email"}
		delete(doc, "end_session_endpoint")
		writeJSON(w, doc)
	case "/oauth/authorize":
		q := r.URL.Query()
		scopes := strings.Fields(q.Get("scope"))
		if slices.Contains(scopes, "offline_access") {
			http.Error(w, "The requested scope is invalid, unknown, or malformed.", http.StatusBadRequest)
			return
		}
		q.Set("scope", strings.Join(append(scopes, "offline_access"), " ")) // GitLab always issues one
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawQuery = devprovider.PathAuthorize, q.Encode()
		g.OP.ServeHTTP(w, r2)
	case "/oauth/token":
		to(devprovider.PathToken)
	case "/oauth/userinfo":
		to(devprovider.PathUserinfo)
	case "/oauth/discovery/keys":
		to(devprovider.PathKeys)
	case "/oauth/revoke":
		to(devprovider.PathRevoke)
	default:
		g.OP.ServeHTTP(w, r) // the login UI and the OP's callback
	}
}
