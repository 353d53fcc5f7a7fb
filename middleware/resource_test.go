package middleware_test

import (
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
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

	"github.com/confidant-go/confidant/internal/testkit/certop"
)

// resourceServer is an API that verifies its access tokens as a real
// resource server does: a JWT signed by the trusted issuer's key (from its
// JWKS), that issuer's iss, the API's own audience, not expired, and the
// API's scope. It answers 200 with "AUD EXP SCOPE", or 401 with
// "refused: why".
type resourceServer struct {
	*httptest.Server
	aud, scope string
	// bound: over TLS (newBoundResourceServer), only sender-constrained
	// tokens, each checked against its cnf: x5t#S256 the client
	// certificate of the connection, jkt the key of the request's DPoP
	// proof (htm, htu, ath).
	bound bool
	hc    *http.Client // for the issuer's keys

	mu     sync.Mutex
	issuer string
	keys   *jose.JSONWebKeySet
}

func newResourceServer(t *testing.T, aud, scope string) *resourceServer {
	rs := &resourceServer{aud: aud, scope: scope, hc: http.DefaultClient}
	rs.Server = httptest.NewServer(rs)
	t.Cleanup(rs.Close)
	return rs
}

// newBoundResourceServer is a resource server on https (a certificate of
// ca's, which also issued the provider's) that asks for client
// certificates and takes only sender-constrained tokens. It answers 200
// with "AUD EXP SCOPE CNF", CNF the confirmation checked.
func newBoundResourceServer(t *testing.T, aud, scope string, ca *certop.CA) *resourceServer {
	rs := &resourceServer{aud: aud, scope: scope, bound: true, hc: &http.Client{Transport: ca.Transport()}}
	rs.Server = httptest.NewUnstartedServer(rs)
	rs.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "127.0.0.1", false)}, ClientAuth: tls.RequestClientCert}
	rs.StartTLS()
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
	if rs.bound {
		fmt.Fprintf(w, "%v %d %s %s", claims.Aud, claims.Exp, claims.Scope, claims.confirmed)
		return
	}
	fmt.Fprintf(w, "%v %d %s", claims.Aud, claims.Exp, claims.Scope)
}

type rsClaims struct {
	Iss   string `json:"iss"`
	Aud   any    `json:"aud"`
	Exp   int64  `json:"exp"`
	Scope string `json:"scope"`
	Cnf   struct {
		X5t string `json:"x5t#S256"`
		JKT string `json:"jkt"`
	} `json:"cnf"`
	confirmed string // bound: "x5t#S256" or "jkt"
}

func (rs *resourceServer) verify(r *http.Request) (*rsClaims, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok && rs.bound {
		raw, ok = strings.CutPrefix(r.Header.Get("Authorization"), "DPoP ")
	}
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
	if rs.bound {
		if err := confirm(r, raw, &c); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// confirm checks a sender-constrained token's cnf (RFC 8705 3, RFC 9449
// 6-7) against the request, and refuses a token without one.
func confirm(r *http.Request, token string, c *rsClaims) error {
	switch {
	case c.Cnf.X5t != "":
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return fmt.Errorf("a certificate-bound token without a client certificate")
		}
		sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
		if base64.RawURLEncoding.EncodeToString(sum[:]) != c.Cnf.X5t {
			return fmt.Errorf("cnf x5t#S256 is not the client certificate's")
		}
		c.confirmed = "x5t#S256"
	case c.Cnf.JKT != "":
		if !strings.HasPrefix(r.Header.Get("Authorization"), "DPoP ") {
			return fmt.Errorf("a DPoP-bound token sent as %q", strings.Fields(r.Header.Get("Authorization"))[0])
		}
		jws, err := jose.ParseSigned(r.Header.Get("DPoP"), []jose.SignatureAlgorithm{jose.ES256})
		if err != nil || len(jws.Signatures) != 1 || jws.Signatures[0].Protected.JSONWebKey == nil {
			return fmt.Errorf("no DPoP proof")
		}
		jwk := jws.Signatures[0].Protected.JSONWebKey
		payload, err := jws.Verify(jwk)
		if err != nil {
			return fmt.Errorf("DPoP proof: %v", err)
		}
		tp, _ := jwk.Thumbprint(crypto.SHA256)
		var p struct{ HTM, HTU, ATH string }
		json.Unmarshal(payload, &p)
		ath := sha256.Sum256([]byte(token))
		switch {
		case base64.RawURLEncoding.EncodeToString(tp) != c.Cnf.JKT:
			return fmt.Errorf("DPoP proof by another key than cnf jkt")
		case p.HTM != r.Method || p.HTU != "https://"+r.Host+r.URL.Path || p.ATH != base64.RawURLEncoding.EncodeToString(ath[:]):
			return fmt.Errorf("DPoP proof for %s %s (ath %q)", p.HTM, p.HTU, p.ATH)
		}
		c.confirmed = "jkt"
	default:
		return fmt.Errorf("not sender-constrained (no cnf)")
	}
	return nil
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
	if err := getJSON(rs.hc, rs.issuer+"/.well-known/openid-configuration", &doc); err != nil {
		return nil, "", err
	}
	var set jose.JSONWebKeySet
	if err := getJSON(rs.hc, doc.JWKS, &set); err != nil {
		return nil, "", err
	}
	rs.keys = &set
	return rs.keys, rs.issuer, nil
}

func getJSON(hc *http.Client, u string, v any) error {
	resp, err := hc.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
