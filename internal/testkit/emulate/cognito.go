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

// Cognito emulates an Amazon Cognito user pool as the Developer Guide's
// "User pool endpoints and managed login reference" describes it: the
// issuer https://cognito-idp.REGION.amazonaws.com/POOL serves discovery and
// /.well-known/jwks.json; the hosted domain https://DOMAIN.auth.REGION.amazoncognito.com
// serves /oauth2/authorize, /oauth2/token, /oauth2/userInfo, /oauth2/revoke
// and /logout?client_id=…&logout_uri=…, which redirects to a registered
// sign-out URL and refuses post_logout_redirect_uri; no end_session in
// discovery; ID tokens with cognito:username and cognito:groups (the users'
// claims); refresh tokens that do not rotate.
type Cognito struct {
	OP      *devprovider.Provider
	Server  *httptest.Server
	Domain  string
	clients []devprovider.Client
	pool    string
}

// NewCognito starts pool (e.g. eu-west-1_AbCdEf123) in region with its
// hosted domain prefix, mapped in hosts.
func NewCognito(t testing.TB, hosts *Hosts, region, pool, domain string, now func() time.Time, clients []devprovider.Client, users []devprovider.User) *Cognito {
	t.Helper()
	issuerHost := "cognito-idp." + region + ".amazonaws.com"
	c := &Cognito{Domain: domain + ".auth." + region + ".amazoncognito.com", clients: clients, pool: pool}
	op, err := devprovider.New("https://"+issuerHost+"/"+pool, devprovider.Config{Users: users, Clients: clients, Now: now,
		NoRefreshRotation: true})
	if err != nil {
		t.Fatal(err)
	}
	c.OP = op
	c.Server = httptest.NewServer(c)
	t.Cleanup(c.Server.Close)
	hosts.Map(issuerHost, c.Server.URL)
	hosts.Map(c.Domain, c.Server.URL)
	return c
}

func (c *Cognito) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	to := func(path string) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = path
		c.OP.ServeHTTP(w, r2)
	}
	hosted := "https://" + c.Domain
	if r.Host != c.Domain {
		// The issuer's host: discovery and keys only.
		switch strings.TrimPrefix(r.URL.Path, "/"+c.pool) {
		case devprovider.PathDiscovery:
			doc := discovery(c.OP, r)
			doc["authorization_endpoint"] = hosted + "/oauth2/authorize"
			doc["token_endpoint"] = hosted + "/oauth2/token"
			doc["userinfo_endpoint"] = hosted + "/oauth2/userInfo"
			doc["revocation_endpoint"] = hosted + "/oauth2/revoke"
			doc["jwks_uri"] = c.OP.Base + "/.well-known/jwks.json"
			delete(doc, "end_session_endpoint")
			writeJSON(w, doc)
		case "/.well-known/jwks.json":
			to(devprovider.PathKeys)
		default:
			// The OP's login UI and callback, under the issuer's path.
			to(strings.TrimPrefix(r.URL.Path, "/"+c.pool))
		}
		return
	}
	switch r.URL.Path {
	case "/oauth2/authorize":
		to(devprovider.PathAuthorize)
	case "/oauth2/token":
		to(devprovider.PathToken)
	case "/oauth2/userInfo":
		to(devprovider.PathUserinfo)
	case "/oauth2/revoke":
		to(devprovider.PathRevoke)
	case "/logout":
		q := r.URL.Query()
		i := slices.IndexFunc(c.clients, func(cl devprovider.Client) bool { return cl.ID == q.Get("client_id") })
		switch {
		case q.Has("post_logout_redirect_uri") || i < 0:
			http.Error(w, "Required String parameter 'logout_uri' is not present", http.StatusBadRequest)
		case !slices.Contains(c.clients[i].PostLogoutRedirects, q.Get("logout_uri")):
			http.Redirect(w, r, hosted+"/error?error=redirect_mismatch", http.StatusFound)
		default:
			http.Redirect(w, r, q.Get("logout_uri"), http.StatusFound)
		}
	default:
		http.NotFound(w, r)
	}
}
