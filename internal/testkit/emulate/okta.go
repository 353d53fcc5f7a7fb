package emulate

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
)

// Okta emulates an Okta org at https://DOMAIN as "Authorization servers"
// (developer.okta.com/docs/concepts/auth-servers) describes it: the org
// authorization server (issuer https://DOMAIN, endpoints under /oauth2/v1)
// and the custom server "default" (issuer https://DOMAIN/oauth2/default,
// endpoints under /oauth2/default/v1), each a real OP of its own with the
// same client; keys under .../v1/keys; sign-out at .../v1/logout, which
// wants id_token_hint with a registered post_logout_redirect_uri.
type Okta struct {
	Org, Default *devprovider.Provider
	Server       *httptest.Server
}

// NewOkta starts the org at domain, mapped in hosts.
func NewOkta(t testing.TB, hosts *Hosts, domain string, now func() time.Time, clients []devprovider.Client, users []devprovider.User) *Okta {
	t.Helper()
	o := &Okta{}
	for _, s := range []struct {
		op     **devprovider.Provider
		issuer string
	}{{&o.Org, "https://" + domain}, {&o.Default, "https://" + domain + "/oauth2/default"}} {
		op, err := devprovider.New(s.issuer, devprovider.Config{Users: users, Clients: clients, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		*s.op = op
	}
	o.Server = httptest.NewServer(o)
	t.Cleanup(o.Server.Close)
	hosts.Map(domain, o.Server.URL)
	return o
}

func (o *Okta) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, rest := o.Org, r.URL.Path
	if after, ok := strings.CutPrefix(r.URL.Path, "/oauth2/default"); ok && (after == "" || strings.HasPrefix(after, "/")) {
		op, rest = o.Default, after
	}
	api := op.Base + "/oauth2/v1"
	if op == o.Default {
		api = op.Base + "/v1"
		rest = "/oauth2" + rest // the same paths as the org server's below
	}
	to := func(path string) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = path
		op.ServeHTTP(w, r2)
	}
	switch rest {
	case devprovider.PathDiscovery, "/oauth2" + devprovider.PathDiscovery:
		doc := discovery(op, r)
		for k, p := range map[string]string{"authorization_endpoint": "/authorize", "token_endpoint": "/token", "userinfo_endpoint": "/userinfo",
			"jwks_uri": "/keys", "revocation_endpoint": "/revoke", "end_session_endpoint": "/logout"} {
			doc[k] = api + p
		}
		writeJSON(w, doc)
	case "/oauth2/v1/authorize":
		to(devprovider.PathAuthorize)
	case "/oauth2/v1/token":
		to(devprovider.PathToken)
	case "/oauth2/v1/userinfo":
		to(devprovider.PathUserinfo)
	case "/oauth2/v1/keys":
		to(devprovider.PathKeys)
	case "/oauth2/v1/revoke":
		to(devprovider.PathRevoke)
	case "/oauth2/v1/logout":
		if r.URL.Query().Get("id_token_hint") == "" {
			http.Error(w, "id_token_hint is required", http.StatusBadRequest)
			return
		}
		to(devprovider.PathEndSession)
	default:
		to(strings.TrimPrefix(rest, "/oauth2")) // the login UI and the OP's callback
	}
}
