package emulate

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/testop"
)

// Auth0 emulates an Auth0 tenant at https://DOMAIN/: the real OP behind
// Auth0's issuer (with its trailing slash) and paths, ID tokens with
// updated_at as a string, /oidc/logout as the discovered end_session
// endpoint (or none, for older tenants), and /v2/logout?client_id=&returnTo=.
type Auth0 struct {
	Domain string
	OP     *testop.Provider
	Server *httptest.Server

	noEndSession bool
	clients      []testop.Client
	v2Logouts    atomic.Int64
}

// Auth0Options adjust the tenant.
type Auth0Options struct {
	// NoEndSession leaves end_session_endpoint out of discovery, as on
	// tenants without RP-initiated logout.
	NoEndSession bool
	// AccessTokenLifetime of the OP (default 5 minutes).
	AccessTokenLifetime time.Duration
}

// Auth0User is the tenant's user; its updated_at is a string, as Auth0 sends it.
var Auth0User = testop.User{ID: "auth0|64f1c0ffee0123456789abcd", Username: "ada", Password: "pw",
	Name: "Ada Lovelace", Email: "ada@example.com", Picture: "https://s.gravatar.com/avatar/ada",
	Claims: map[string]any{"nickname": "ada", "updated_at": "2026-11-01T10:00:00.000Z"}}

// NewAuth0 starts a tenant at domain, mapped in hosts, with clients.
func NewAuth0(t testing.TB, hosts *Hosts, domain string, clients []testop.Client, o Auth0Options) *Auth0 {
	t.Helper()
	op, err := testop.New("https://"+domain+"/", testop.Config{Users: []testop.User{Auth0User}, Clients: clients,
		AccessTokenLifetime: o.AccessTokenLifetime})
	if err != nil {
		t.Fatal(err)
	}
	a := &Auth0{Domain: domain, OP: op, noEndSession: o.NoEndSession, clients: clients}
	a.Server = httptest.NewServer(a)
	t.Cleanup(a.Server.Close)
	hosts.Map(domain, a.Server.URL)
	return a
}

// V2Logouts counts requests to /v2/logout that signed a user out.
func (a *Auth0) V2Logouts() int64 { return a.v2Logouts.Load() }

func (a *Auth0) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case testop.PathDiscovery:
		doc := discovery(a.OP, r)
		if a.noEndSession {
			delete(doc, "end_session_endpoint")
		} else {
			doc["end_session_endpoint"] = "https://" + a.Domain + "/oidc/logout"
		}
		writeJSON(w, doc)
	case "/oidc/logout":
		r2 := r.Clone(r.Context())
		r2.URL.Path = testop.PathEndSession
		a.OP.ServeHTTP(w, r2)
	case "/v2/logout":
		q := r.URL.Query()
		i := slices.IndexFunc(a.clients, func(c testop.Client) bool { return c.ID == q.Get("client_id") })
		if i < 0 {
			http.Error(w, "unknown client_id", http.StatusBadRequest)
			return
		}
		to := q.Get("returnTo")
		if to != "" && !slices.Contains(a.clients[i].PostLogoutRedirects, to) {
			http.Error(w, "returnTo is not an allowed logout URL", http.StatusBadRequest)
			return
		}
		// End the provider session by going through the OP's end_session.
		http.SetCookie(w, &http.Cookie{Name: "testop_sso", Value: "", Path: "/", MaxAge: -1})
		a.v2Logouts.Add(1)
		if to == "" {
			to = "https://" + a.Domain + "/logged-out"
		}
		http.Redirect(w, r, to, http.StatusFound)
	default:
		a.OP.ServeHTTP(w, r)
	}
}

// discovery returns the OP's discovery document as a map.
func discovery(op *testop.Provider, r *http.Request) map[string]any {
	rec := httptest.NewRecorder()
	r2 := r.Clone(r.Context())
	r2.URL.Path = testop.PathDiscovery
	op.ServeHTTP(rec, r2)
	var doc map[string]any
	json.Unmarshal(rec.Body.Bytes(), &doc)
	return doc
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}
