package middleware_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// resourceServer is an API that verifies its access tokens as a real
// resource server does: a JWT signed by the trusted issuer's key (from its
// JWKS), that issuer's iss, the API's own audience, not expired, and the
// API's scope. It answers 200 with "AUD EXP SCOPE", or 401 with
// "refused: why".
type resourceServer struct {
	*httptest.Server
	aud, scope string

	mu     sync.Mutex
	issuer string
	keys   *jose.JSONWebKeySet
}

func newResourceServer(t *testing.T, aud, scope string) *resourceServer {
	rs := &resourceServer{aud: aud, scope: scope}
	rs.Server = httptest.NewServer(rs)
	t.Cleanup(rs.Close)
	return rs
}

// trust pins the issuer whose tokens the API accepts.
func (rs *resourceServer) trust(issuer string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.issuer, rs.keys = issuer, nil
}

func (rs *resourceServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	claims, err := rs.verify(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "refused: %v", err)
		return
	}
	fmt.Fprintf(w, "%v %d %s", claims.Aud, claims.Exp, claims.Scope)
}

type rsClaims struct {
	Iss   string `json:"iss"`
	Aud   any    `json:"aud"`
	Exp   int64  `json:"exp"`
	Scope string `json:"scope"`
}

func (rs *resourceServer) verify(r *http.Request) (*rsClaims, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, fmt.Errorf("no bearer token")
	}
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("not a signed JWT")
	}
	keys, issuer, err := rs.jwks()
	if err != nil {
		return nil, err
	}
	var payload []byte
	for _, k := range keys.Key(jws.Signatures[0].Header.KeyID) {
		if payload, err = jws.Verify(k); err == nil {
			break
		}
	}
	if payload == nil {
		return nil, fmt.Errorf("bad signature")
	}
	var c rsClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, err
	}
	var auds []string
	switch a := c.Aud.(type) {
	case string:
		auds = []string{a}
	case []any:
		for _, v := range a {
			if s, ok := v.(string); ok {
				auds = append(auds, s)
			}
		}
	}
	switch {
	case c.Iss != issuer:
		return nil, fmt.Errorf("iss %q", c.Iss)
	case !slices.Contains(auds, rs.aud):
		return nil, fmt.Errorf("aud %v, not this API's", auds)
	case time.Now().Unix() >= c.Exp:
		return nil, fmt.Errorf("expired")
	case rs.scope != "" && !slices.Contains(strings.Fields(c.Scope), rs.scope):
		return nil, fmt.Errorf("scope %q lacks %q", c.Scope, rs.scope)
	}
	return &c, nil
}

// jwks fetches the trusted issuer's keys once, through its discovery.
func (rs *resourceServer) jwks() (*jose.JSONWebKeySet, string, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.issuer == "" {
		return nil, "", fmt.Errorf("no issuer trusted")
	}
	if rs.keys != nil {
		return rs.keys, rs.issuer, nil
	}
	var doc struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := getJSON(rs.issuer+"/.well-known/openid-configuration", &doc); err != nil {
		return nil, "", err
	}
	var set jose.JSONWebKeySet
	if err := getJSON(doc.JWKS, &set); err != nil {
		return nil, "", err
	}
	rs.keys = &set
	return rs.keys, rs.issuer, nil
}

func getJSON(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
