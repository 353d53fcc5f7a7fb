package emulate

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
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

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/confidant-go/confidant/internal/devprovider"
)

// Entra emulates Microsoft Entra ID's multi-tenant endpoints as "OpenID
// Connect on the Microsoft identity platform"
// (learn.microsoft.com/entra/identity-platform/v2-protocols-oidc)
// describes them: discovery at /common/v2.0 (and /organizations/v2.0)
// names the issuer template https://login.microsoftonline.com/{tenantid}/v2.0;
// the authorize, token and logout endpoints live under /common; the keys
// of every tenant at /common/discovery/v2.0/keys; each ID token's iss is its
// tenant's issuer and its tid claim the tenant's ID. Each tenant is a real
// OP of its own (issuer https://login.microsoftonline.com/TID/v2.0) with
// the same client registered (a multi-tenant app); a sign-in at /common
// lands in the tenant Home names, the user's home tenant. Userinfo is
// Microsoft Graph's, https://graph.microsoft.com/oidc/userinfo.
type Entra struct {
	Server  *httptest.Server
	Tenants map[string]*devprovider.Provider
	// Certs are the clients' certificates (by client ID): a token request
	// with a client assertion is checked as "Certificate credentials"
	// (learn.microsoft.com/entra/identity-platform/certificate-credentials)
	// says (x5t#S256 the certificate's thumbprint, aud the token endpoint,
	// iss and sub the client ID, exp, nbf and jti present, the times
	// valid, signed by the certificate's key) and then stands for the
	// client's secret; anything else is invalid_client.
	Certs   map[string]*x509.Certificate
	secrets map[string]string
	now     func() time.Time

	mu      sync.Mutex
	home    string
	granted map[[2]string]int // (tenant, grant_type) → token requests it answered 200
}

// EntraV1Issuer is tenant tid's issuer on Entra's v1.0 endpoints (its
// tokens' iss, and what https://login.microsoftonline.com/TID/ discovery
// names).
func EntraV1Issuer(tid string) string { return "https://sts.windows.net/" + tid + "/" }

// AddV1Tenant adds tenant tid as the v1.0 endpoints see it: an OP whose ID
// tokens' iss is EntraV1Issuer(tid) (with the tid claim), registered in
// Tenants as "v1:"+tid so that SetHome can send sign-ins at /common there.
func (e *Entra) AddV1Tenant(t testing.TB, hosts *Hosts, tid string, users []devprovider.User, clients []devprovider.Client) {
	t.Helper()
	var us []devprovider.User
	for _, u := range users {
		u.Claims = map[string]any{"tid": tid, "oid": "oid-" + u.ID}
		us = append(us, u)
	}
	op, err := devprovider.New(EntraV1Issuer(tid), devprovider.Config{Users: us, Clients: clients, Now: e.now})
	if err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	e.Tenants["v1:"+tid] = op
	e.mu.Unlock()
	hosts.Map("sts.windows.net", e.Server.URL)
}

// EntraIssuer is the issuer of tenant tid.
func EntraIssuer(tid string) string { return "https://login.microsoftonline.com/" + tid + "/v2.0" }

// NewEntra starts tenants (ID → its users; each user gets the tid claim and
// an oid) with clients registered in each, mapped in hosts, on the clock
// now (nil: time.Now). The first tenant is home until SetHome.
func NewEntra(t testing.TB, hosts *Hosts, now func() time.Time, tenants []string, users map[string][]devprovider.User, clients []devprovider.Client) *Entra {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	e := &Entra{Tenants: map[string]*devprovider.Provider{}, home: tenants[0], Certs: map[string]*x509.Certificate{}, secrets: map[string]string{},
		now: now, granted: map[[2]string]int{}}
	for _, c := range clients {
		e.secrets[c.ID] = c.Secret
	}
	for _, tid := range tenants {
		var us []devprovider.User
		for _, u := range users[tid] {
			claims := map[string]any{"tid": tid, "oid": "oid-" + u.ID}
			for k, v := range u.Claims {
				claims[k] = v
			}
			u.Claims = claims
			us = append(us, u)
		}
		op, err := devprovider.New(EntraIssuer(tid), devprovider.Config{Users: us, Clients: clients, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		e.Tenants[tid] = op
	}
	e.Server = httptest.NewServer(e)
	t.Cleanup(e.Server.Close)
	hosts.Map("login.microsoftonline.com", e.Server.URL)
	hosts.Map("graph.microsoft.com", e.Server.URL) // its /oidc/userinfo
	return e
}

// SetHome makes tid the tenant the next sign-ins at /common land in.
func (e *Entra) SetHome(tid string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.home = tid
}

// Granted reports how many token requests of grantType (authorization_code,
// refresh_token, …) tenant tid answered with tokens.
func (e *Entra) Granted(tid, grantType string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.granted[[2]string{tid, grantType}]
}

func (e *Entra) homeOP() *devprovider.Provider {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.Tenants[e.home]
}

const entraBase = "https://login.microsoftonline.com"

func (e *Entra) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		if a := form.Get("client_assertion"); a != "" {
			id, err := e.checkAssertion(a, entraBase+r.URL.Path)
			if err != nil {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error":"invalid_client","error_description":"AADSTS700027: `+strings.ReplaceAll(err.Error(), `"`, "'")+`"}`)
				return
			}
			form.Del("client_assertion")
			form.Del("client_assertion_type")
			form.Del("client_id")
			body = []byte(form.Encode())
			r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(e.secrets[id])) // the OP knows the client by its secret
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	}
	to := func(op *devprovider.Provider, path string) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = path
		op.ServeHTTP(w, r2)
	}
	switch r.URL.Path {
	case "/common/v2.0" + devprovider.PathDiscovery, "/organizations/v2.0" + devprovider.PathDiscovery:
		doc := discovery(e.homeOP(), r)
		doc["issuer"] = EntraIssuer("{tenantid}")
		doc["authorization_endpoint"] = entraBase + "/common/oauth2/v2.0/authorize"
		doc["token_endpoint"] = entraBase + "/common/oauth2/v2.0/token"
		doc["end_session_endpoint"] = entraBase + "/common/oauth2/v2.0/logout"
		doc["jwks_uri"] = entraBase + "/common/discovery/v2.0/keys"
		doc["userinfo_endpoint"] = "https://graph.microsoft.com/oidc/userinfo"
		delete(doc, "revocation_endpoint") // Entra has none
		writeJSON(w, doc)
	case "/common/oauth2/v2.0/authorize":
		to(e.homeOP(), devprovider.PathAuthorize)
	case "/common/oauth2/v2.0/logout":
		to(e.homeOP(), devprovider.PathEndSession)
	case "/common/discovery/v2.0/keys":
		var all []json.RawMessage
		for _, op := range e.Tenants {
			rec := httptest.NewRecorder()
			r2 := r.Clone(r.Context())
			r2.URL.Path = devprovider.PathKeys
			op.ServeHTTP(rec, r2)
			var set struct {
				Keys []json.RawMessage `json:"keys"`
			}
			json.Unmarshal(rec.Body.Bytes(), &set)
			all = append(all, set.Keys...)
		}
		writeJSON(w, map[string]any{"keys": all})
	case "/common/oauth2/v2.0/token", "/common/oidc/userinfo", "/oidc/userinfo":
		// The tenant that issued the code, refresh or access token
		// answers; the others refuse it.
		path := devprovider.PathToken
		if strings.HasSuffix(r.URL.Path, "userinfo") {
			path = devprovider.PathUserinfo
		}
		body, _ := io.ReadAll(r.Body)
		var last *httptest.ResponseRecorder
		for tid, op := range e.Tenants {
			rec := httptest.NewRecorder()
			r2 := r.Clone(r.Context())
			r2.URL.Path = path
			r2.Body = io.NopCloser(bytes.NewReader(body))
			op.ServeHTTP(rec, r2)
			last = rec
			if rec.Code == http.StatusOK {
				if path == devprovider.PathToken {
					form, _ := url.ParseQuery(string(body))
					e.mu.Lock()
					e.granted[[2]string{tid, form.Get("grant_type")}]++
					e.mu.Unlock()
				}
				break
			}
		}
		for k, v := range last.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(last.Code)
		w.Write(last.Body.Bytes())
	default:
		// A tenant's own paths (its login UI and callback), and its v1.0
		// discovery (https://login.microsoftonline.com/TID/), which names
		// the v1.0 issuer.
		for tid, op := range e.Tenants {
			if v1, ok := strings.CutPrefix(tid, "v1:"); ok {
				if rest, ok := strings.CutPrefix(r.URL.Path, "/"+v1); ok && r.Host == "sts.windows.net" {
					to(op, rest)
					return
				}
				continue
			}
			if r.URL.Path == "/"+tid+devprovider.PathDiscovery {
				doc := discovery(op, r)
				doc["issuer"] = EntraV1Issuer(tid)
				writeJSON(w, doc)
				return
			}
			if rest, ok := strings.CutPrefix(r.URL.Path, "/"+tid+"/v2.0"); ok {
				to(op, rest)
				return
			}
		}
		http.NotFound(w, r)
	}
}

// checkAssertion checks a client assertion for the token endpoint aud and
// returns the client it authenticates. "Certificate credentials" lists
// the claims Entra requires, each checked here: aud (the token endpoint),
// exp, nbf, iss and sub (the client ID, both), jti; iat is optional.
// Time is Entra's clock, with a minute of leeway.
func (e *Entra) checkAssertion(raw, aud string) (string, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.PS256, jose.RS256})
	if err != nil {
		return "", err
	}
	var claims jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return "", err
	}
	cert := e.Certs[claims.Subject]
	if cert == nil || claims.Issuer != claims.Subject {
		return "", fmt.Errorf("no certificate for client %q", claims.Subject)
	}
	sum := sha256.Sum256(cert.Raw)
	if x5t, _ := tok.Headers[0].ExtraHeaders["x5t#S256"].(string); x5t != base64.RawURLEncoding.EncodeToString(sum[:]) {
		return "", errors.New("x5t#S256 is not the certificate's thumbprint")
	}
	if err := tok.Claims(cert.PublicKey, &claims); err != nil {
		return "", err
	}
	var missing []string
	for name, absent := range map[string]bool{"aud": len(claims.Audience) == 0, "exp": claims.Expiry == nil,
		"nbf": claims.NotBefore == nil, "jti": claims.ID == ""} {
		if absent {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return "", fmt.Errorf("the assertion lacks %s", strings.Join(missing, ", "))
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{AnyAudience: jwt.Audience{aud}, Time: e.now()}, time.Minute); err != nil {
		return "", fmt.Errorf("claims: %v (aud %q, want %q)", err, claims.Audience, aud)
	}
	return claims.Subject, nil
}
