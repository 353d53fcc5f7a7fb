package emulate

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
)

// Auth0 emulates an Auth0 tenant at https://DOMAIN/: the real OP behind
// Auth0's issuer (with its trailing slash) and paths, ID tokens with
// updated_at as a string, /oidc/logout as the discovered end_session
// endpoint (or none, for older tenants), and /v2/logout?client_id=&returnTo=.
//
// Organizations follow "Work with Tokens and Organizations"
// (auth0.com/docs/manage-users/organizations/using-tokens): an
// authorization request with organization= (an ID, org_…, or a name) signs
// the user in to that organization, whose org_id and org_name (lowercase)
// the ID token then carries; an unknown organization is refused at
// /authorize. The parameter travels through the browser, so the app must
// check the claims.
type Auth0 struct {
	Domain string
	OP     *devprovider.Provider
	Server *httptest.Server

	noEndSession bool
	clients      []devprovider.Client
	v2Logouts    atomic.Int64
	orgs         map[string]string // ID → name
	orgOfNonce   sync.Map          // the authorization request's nonce → organization ID
}

// Auth0Options adjust the tenant.
type Auth0Options struct {
	// NoEndSession leaves end_session_endpoint out of discovery, as on
	// tenants without RP-initiated logout.
	NoEndSession bool
	// AccessTokenLifetime of the OP (default 5 minutes).
	AccessTokenLifetime time.Duration
	// Organizations the user belongs to, by ID (org_…) → name.
	Organizations map[string]string
}

// Auth0User is the tenant's user; its updated_at is a string, as Auth0 sends it.
var Auth0User = devprovider.User{ID: "auth0|64f1c0ffee0123456789abcd", Username: "ada", Password: "pw",
	Name: "Ada Lovelace", Email: "ada@example.com", Picture: "https://s.gravatar.com/avatar/ada",
	Claims: map[string]any{"nickname": "ada", "updated_at": "2026-11-01T10:00:00.000Z"}}

// NewAuth0 starts a tenant at domain, mapped in hosts, with clients.
func NewAuth0(t testing.TB, hosts *Hosts, domain string, clients []devprovider.Client, o Auth0Options) *Auth0 {
	t.Helper()
	clients = slices.Clone(clients)
	for i := range clients {
		if clients[i].TokenAuth == "" {
			// An Auth0 application's default (Regular Web Application:
			// Client Secret (Post)).
			clients[i].TokenAuth = "client_secret_post"
		}
	}
	op, err := devprovider.New("https://"+domain+"/", devprovider.Config{Users: []devprovider.User{Auth0User}, Clients: clients,
		AccessTokenLifetime: o.AccessTokenLifetime})
	if err != nil {
		t.Fatal(err)
	}
	a := &Auth0{Domain: domain, OP: op, noEndSession: o.NoEndSession, clients: clients, orgs: o.Organizations}
	a.Server = httptest.NewServer(a)
	t.Cleanup(a.Server.Close)
	hosts.Map(domain, a.Server.URL)
	return a
}

// V2Logouts counts requests to /v2/logout that signed a user out.
func (a *Auth0) V2Logouts() int64 { return a.v2Logouts.Load() }

func (a *Auth0) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case devprovider.PathDiscovery:
		doc := discovery(a.OP, r)
		if a.noEndSession {
			delete(doc, "end_session_endpoint")
		} else {
			doc["end_session_endpoint"] = "https://" + a.Domain + "/oidc/logout"
		}
		writeJSON(w, doc)
	case "/oidc/logout":
		r2 := r.Clone(r.Context())
		r2.URL.Path = devprovider.PathEndSession
		a.OP.ServeHTTP(w, r2)
	case "/v2/logout":
		q := r.URL.Query()
		i := slices.IndexFunc(a.clients, func(c devprovider.Client) bool { return c.ID == q.Get("client_id") })
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
	case devprovider.PathAuthorize:
		if org := r.URL.Query().Get("organization"); org != "" {
			id, ok := a.orgID(org)
			if !ok {
				http.Error(w, "parameter organization is invalid: no organization found by that identifier or name", http.StatusBadRequest)
				return
			}
			a.orgOfNonce.Store(r.URL.Query().Get("nonce"), id)
		}
		a.OP.ServeHTTP(w, r)
	case devprovider.PathToken:
		rec := httptest.NewRecorder()
		a.OP.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var m map[string]any
		if rec.Code == http.StatusOK && json.Unmarshal(body, &m) == nil && a.addOrganization(m) {
			body, _ = json.Marshal(m)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		w.Write(body)
	default:
		a.OP.ServeHTTP(w, r)
	}
}

// orgID finds an organization by ID or (case-insensitively) by name.
func (a *Auth0) orgID(org string) (string, bool) {
	for id, name := range a.orgs {
		if id == org || strings.EqualFold(name, org) {
			return id, true
		}
	}
	return "", false
}

// addOrganization puts org_id and org_name in the ID token of a token
// response whose sign-in named an organization (the nonce ties the token
// to its authorization request; a refresh keeps the nonce claim).
func (a *Auth0) addOrganization(m map[string]any) bool {
	raw, _ := m["id_token"].(string)
	claims, ok := payload(raw)
	if !ok {
		return false
	}
	nonce, _ := claims["nonce"].(string)
	id, ok := a.orgOfNonce.Load(nonce)
	if !ok || nonce == "" {
		return false
	}
	claims["org_id"], claims["org_name"] = id, strings.ToLower(a.orgs[id.(string)])
	m["id_token"] = a.OP.Sign(claims)
	devprovider.RecordIssued(m["id_token"].(string))
	return true
}

// payload is the claims of a JWT, unverified (the emulator's own tokens).
func payload(raw string) (map[string]any, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(b, &claims) != nil {
		return nil, false
	}
	return claims, true
}

// discovery returns the OP's discovery document as a map.
func discovery(op *devprovider.Provider, r *http.Request) map[string]any {
	rec := httptest.NewRecorder()
	r2 := r.Clone(r.Context())
	r2.URL.Path = devprovider.PathDiscovery
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
