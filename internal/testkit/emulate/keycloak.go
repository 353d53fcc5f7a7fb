package emulate

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
)

// Keycloak emulates a Keycloak realm at https://HOST/realms/REALM as the
// Server Administration Guide and the OpenID Connect endpoints of Keycloak
// 18 and later describe them: endpoints under
// /realms/REALM/protocol/openid-connect (auth, token, userinfo, certs,
// logout, revoke); the logout endpoint refuses redirect_uri (removed in
// 18) and wants id_token_hint or client_id with post_logout_redirect_uri;
// realm roles in realm_access.roles and client roles in
// resource_access.CLIENT.roles (the users' claims).
type Keycloak struct {
	OP     *devprovider.Provider
	Server *httptest.Server
	prefix string
}

// NewKeycloak starts realm on host, mapped in hosts.
func NewKeycloak(t testing.TB, hosts *Hosts, host, realm string, now func() time.Time, clients []devprovider.Client, users []devprovider.User) *Keycloak {
	t.Helper()
	k := &Keycloak{prefix: "/realms/" + realm}
	op, err := devprovider.New("https://"+host+k.prefix, devprovider.Config{Users: users, Clients: clients, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	k.OP = op
	k.Server = httptest.NewServer(k)
	t.Cleanup(k.Server.Close)
	hosts.Map(host, k.Server.URL)
	return k
}

func (k *Keycloak) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, k.prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	to := func(path string) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = path
		k.OP.ServeHTTP(w, r2)
	}
	base := k.OP.Base + "/protocol/openid-connect"
	switch rest {
	case devprovider.PathDiscovery:
		doc := discovery(k.OP, r)
		doc["authorization_endpoint"] = base + "/auth"
		doc["token_endpoint"] = base + "/token"
		doc["userinfo_endpoint"] = base + "/userinfo"
		doc["jwks_uri"] = base + "/certs"
		doc["end_session_endpoint"] = base + "/logout"
		doc["revocation_endpoint"] = base + "/revoke"
		writeJSON(w, doc)
	case "/protocol/openid-connect/auth":
		to(devprovider.PathAuthorize)
	case "/protocol/openid-connect/token":
		to(devprovider.PathToken)
	case "/protocol/openid-connect/userinfo":
		to(devprovider.PathUserinfo)
	case "/protocol/openid-connect/certs":
		to(devprovider.PathKeys)
	case "/protocol/openid-connect/revoke":
		to(devprovider.PathRevoke)
	case "/protocol/openid-connect/logout":
		q := r.URL.Query()
		if q.Has("redirect_uri") {
			http.Error(w, "Invalid parameter: redirect_uri", http.StatusBadRequest)
			return
		}
		if q.Has("post_logout_redirect_uri") && q.Get("id_token_hint") == "" && q.Get("client_id") == "" {
			http.Error(w, "Missing parameters: id_token_hint", http.StatusBadRequest)
			return
		}
		to(devprovider.PathEndSession)
	default:
		to(rest) // the login UI and the OP's callback
	}
}
