// Package hostile is a small OpenID Provider whose every answer a test can
// corrupt: discovery, JWKS, authorization (approved at once), token and
// userinfo. It plays the OpenID Foundation's RP certification cases and
// provider faults against the SDK. For the honest flow, tests use the real
// OP (internal/devprovider).
package hostile

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Key is a signing key the OP may publish.
type Key struct {
	ID  string
	Key *rsa.PrivateKey
}

// NewKey returns a fresh 2048-bit RSA key.
func NewKey(id string) Key {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return Key{ID: id, Key: k}
}

// IDToken is how the next ID token is minted; a test changes it through
// OP.Mint.
type IDToken struct {
	Claims  map[string]any // the claims; the OP fills iss, sub, aud, exp, iat, nonce, at_hash first
	Sign    *Key           // key to sign with (default: the first published key)
	OmitKid bool           // no kid in the header
	AlgNone bool           // unsigned, alg "none"
	Garble  bool           // flip a bit in the signature
	HMAC    []byte         // sign with HS256 and this secret (the client secret, say)
}

// OP is the hostile provider. Its fields may be changed between requests
// (under the OP's lock through the setters).
type OP struct {
	Server *httptest.Server
	Issuer string

	mu              sync.Mutex
	keys            []Key // published in the JWKS
	discoveryIssuer string
	algs            []string
	authMethods     []string // listed in discovery
	enforcedAuth    string   // the only client authentication the token endpoint accepts
	mint            func(tok *IDToken, grant string)
	userinfoSub     string
	tokenFault      http.HandlerFunc
	jwksFault       http.HandlerFunc
	discoveryFault  http.HandlerFunc
	userinfoBody    []byte
	codes           map[string]codeInfo
	refresh         map[string]bool
	counts          map[string]int
}

type codeInfo struct{ nonce, challenge, clientID string }

// Subject is the user every token is about.
const Subject = "hostile-user-1"

// New starts a hostile OP with one published key.
func New(t testing.TB) *OP {
	t.Helper()
	op := &OP{keys: []Key{NewKey("k1")}, codes: map[string]codeInfo{}, refresh: map[string]bool{}, counts: map[string]int{}}
	op.Server = httptest.NewServer(op)
	t.Cleanup(op.Server.Close)
	op.Issuer = op.Server.URL
	return op
}

// SetKeys replaces the published keys (key rotation).
func (op *OP) SetKeys(keys ...Key) { op.mu.Lock(); op.keys = keys; op.mu.Unlock() }

// SetDiscoveryIssuer makes discovery name another issuer.
func (op *OP) SetDiscoveryIssuer(iss string) { op.mu.Lock(); op.discoveryIssuer = iss; op.mu.Unlock() }

// SetAuthMethods makes discovery list methods as
// token_endpoint_auth_methods_supported, and the token endpoint accept
// only enforced ("client_secret_basic" or "client_secret_post"; "" any).
func (op *OP) SetAuthMethods(enforced string, methods ...string) {
	op.mu.Lock()
	op.authMethods, op.enforcedAuth = methods, enforced
	op.mu.Unlock()
}

// SetDiscoveryAlgs makes discovery advertise these ID token algorithms.
func (op *OP) SetDiscoveryAlgs(algs ...string) { op.mu.Lock(); op.algs = algs; op.mu.Unlock() }

// Mint sets how ID tokens are corrupted; grant is "authorization_code" or
// "refresh_token".
func (op *OP) Mint(f func(tok *IDToken, grant string)) { op.mu.Lock(); op.mint = f; op.mu.Unlock() }

// SetUserinfoSub makes userinfo answer about another subject.
func (op *OP) SetUserinfoSub(sub string) { op.mu.Lock(); op.userinfoSub = sub; op.mu.Unlock() }

// SetUserinfoBody makes userinfo answer with body as it is.
func (op *OP) SetUserinfoBody(body []byte) { op.mu.Lock(); op.userinfoBody = body; op.mu.Unlock() }

// SetTokenFault, SetJWKSFault and SetDiscoveryFault replace an endpoint.
func (op *OP) SetTokenFault(f http.HandlerFunc) { op.mu.Lock(); op.tokenFault = f; op.mu.Unlock() }
func (op *OP) SetJWKSFault(f http.HandlerFunc)  { op.mu.Lock(); op.jwksFault = f; op.mu.Unlock() }
func (op *OP) SetDiscoveryFault(f http.HandlerFunc) {
	op.mu.Lock()
	op.discoveryFault = f
	op.mu.Unlock()
}

// Count reports the requests to path ("/token", "/jwks", …).
func (op *OP) Count(path string) int { op.mu.Lock(); defer op.mu.Unlock(); return op.counts[path] }

func (op *OP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	op.counts[r.URL.Path]++
	var fault http.HandlerFunc
	switch r.URL.Path {
	case "/token":
		fault = op.tokenFault
	case "/jwks":
		fault = op.jwksFault
	case "/.well-known/openid-configuration":
		fault = op.discoveryFault
	}
	op.mu.Unlock()
	if fault != nil {
		fault(w, r)
		return
	}
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		op.discovery(w)
	case "/jwks":
		op.jwks(w)
	case "/authorize":
		op.authorize(w, r)
	case "/token":
		op.token(w, r)
	case "/userinfo":
		op.userinfo(w, r)
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

func (op *OP) discovery(w http.ResponseWriter) {
	op.mu.Lock()
	iss := op.Issuer
	if op.discoveryIssuer != "" {
		iss = op.discoveryIssuer
	}
	algs := op.algs
	if algs == nil {
		algs = []string{"RS256"}
	}
	methods := op.authMethods
	op.mu.Unlock()
	writeJSON(w, map[string]any{
		"issuer": iss, "authorization_endpoint": op.Issuer + "/authorize", "token_endpoint": op.Issuer + "/token",
		"userinfo_endpoint": op.Issuer + "/userinfo", "jwks_uri": op.Issuer + "/jwks",
		"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": algs, "token_endpoint_auth_methods_supported": methods,
	})
}

func (op *OP) jwks(w http.ResponseWriter) {
	op.mu.Lock()
	defer op.mu.Unlock()
	var set jose.JSONWebKeySet
	for _, k := range op.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.Key.PublicKey, KeyID: k.ID, Algorithm: "RS256", Use: "sig"})
	}
	writeJSON(w, set)
}

// authorize approves at once and redirects back with a code.
func (op *OP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code := rand.Text()
	op.mu.Lock()
	op.codes[code] = codeInfo{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), clientID: q.Get("client_id")}
	op.mu.Unlock()
	back := url.Values{"code": {code}, "state": {q.Get("state")}}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

func tokenError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": code})
}

func (op *OP) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	used := "client_secret_post"
	if _, _, ok := r.BasicAuth(); ok {
		used = "client_secret_basic"
	}
	op.mu.Lock()
	enforced := op.enforcedAuth
	op.mu.Unlock()
	if enforced != "" && used != enforced {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
		return
	}
	grant := r.PostForm.Get("grant_type")
	var info codeInfo
	op.mu.Lock()
	switch grant {
	case "authorization_code":
		var ok bool
		info, ok = op.codes[r.PostForm.Get("code")]
		delete(op.codes, r.PostForm.Get("code"))
		if !ok {
			op.mu.Unlock()
			tokenError(w, "invalid_grant")
			return
		}
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != info.challenge {
			op.mu.Unlock()
			tokenError(w, "invalid_grant")
			return
		}
	case "refresh_token":
		if !op.refresh[r.PostForm.Get("refresh_token")] {
			op.mu.Unlock()
			tokenError(w, "invalid_grant")
			return
		}
		delete(op.refresh, r.PostForm.Get("refresh_token"))
	default:
		op.mu.Unlock()
		tokenError(w, "unsupported_grant_type")
		return
	}
	clientID, _, _ := r.BasicAuth()
	if clientID == "" {
		clientID = r.PostForm.Get("client_id")
	}
	at, rt := rand.Text(), rand.Text()
	op.refresh[rt] = true
	now := time.Now()
	tok := &IDToken{Claims: map[string]any{"iss": op.Issuer, "sub": Subject, "aud": clientID,
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "name": "Hostile User", "email": "hostile@example.com"}}
	if info.nonce != "" {
		tok.Claims["nonce"] = info.nonce
	}
	sum := sha256.Sum256([]byte(at))
	tok.Claims["at_hash"] = base64.RawURLEncoding.EncodeToString(sum[:16])
	mint := op.mint
	if len(op.keys) > 0 {
		k := op.keys[0]
		tok.Sign = &k
	}
	op.mu.Unlock()
	if mint != nil {
		mint(tok, grant)
	}
	writeJSON(w, map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": 3600,
		"refresh_token": rt, "id_token": tok.serialize()})
}

func (t *IDToken) serialize() string {
	payload, _ := json.Marshal(t.Claims)
	enc := base64.RawURLEncoding
	if t.HMAC != nil {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: t.HMAC}, (&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			panic(err)
		}
		obj, _ := signer.Sign(payload)
		s, _ := obj.CompactSerialize()
		return s
	}
	if t.AlgNone || t.Sign == nil {
		return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(payload) + "."
	}
	jwk := jose.JSONWebKey{Key: t.Sign.Key, KeyID: t.Sign.ID}
	if t.OmitKid {
		jwk.KeyID = ""
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jwk}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(err)
	}
	obj, _ := signer.Sign(payload)
	s, _ := obj.CompactSerialize()
	if t.Garble {
		b := []byte(s)
		i := len(b) - 5
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		s = string(b)
	}
	return s
}

func (op *OP) userinfo(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	sub, body := Subject, op.userinfoBody
	if op.userinfoSub != "" {
		sub = op.userinfoSub
	}
	op.mu.Unlock()
	if body != nil {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
		return
	}
	writeJSON(w, map[string]any{"sub": sub, "email": "hostile@example.com", "name": "Hostile User"})
}
