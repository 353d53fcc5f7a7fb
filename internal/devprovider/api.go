package devprovider

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
)

// API is a protected resource server that accepts the OP's JWT access
// tokens: signature with the OP's key, iss, exp, and the token still live
// at the OP (not revoked, not rotated away). It answers GET with the
// token's subject and remembers the tokens it accepted.
type API struct {
	p  *Provider
	mu sync.Mutex
	ok []string
}

// maxAccepted bounds the tokens an API remembers (the newest are kept).
const maxAccepted = 10000

// NewAPI returns an API guarded by p's tokens.
func (p *Provider) NewAPI() *API { return &API{p: p} }

// Accepted returns the access tokens the API accepted, oldest first.
func (a *API) Accepted() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.ok...)
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		a.deny(w, "missing bearer token")
		return
	}
	claims, err := a.verify(raw)
	if err != nil {
		a.deny(w, err.Error())
		return
	}
	a.mu.Lock()
	if len(a.ok) >= maxAccepted { // a long-running devprovider
		a.ok = append(a.ok[:0], a.ok[len(a.ok)/2:]...)
	}
	a.ok = append(a.ok, raw)
	a.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{"sub": claims["sub"], "scope": claims["scope"],
		"message": "hello from the API", "exp": claims["exp"]})
}

// Subject checks r's bearer token as ServeHTTP does and returns its
// subject; a refused token is answered with 401 (false).
func (a *API) Subject(w http.ResponseWriter, r *http.Request) (string, bool) {
	raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	claims, err := a.verify(raw)
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		a.deny(w, err.Error())
		return "", false
	}
	sub, _ := claims["sub"].(string)
	return sub, true
}

func (a *API) deny(w http.ResponseWriter, why string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	w.WriteHeader(http.StatusUnauthorized)
	json.NewEncoder(w).Encode(map[string]string{"error": "invalid_token", "error_description": why})
}

type apiError string

func (e apiError) Error() string { return string(e) }

func (a *API) verify(raw string) (map[string]any, error) {
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, apiError("malformed token")
	}
	var payload []byte
	err = apiError("bad signature")
	for _, k := range a.p.store.publicKeys() {
		if payload, err = jws.Verify(k); err == nil {
			break
		}
	}
	if err != nil {
		return nil, apiError("bad signature")
	}
	var c map[string]any
	if json.Unmarshal(payload, &c) != nil {
		return nil, apiError("bad claims")
	}
	if c["iss"] != a.p.Issuer {
		return nil, apiError("wrong issuer")
	}
	exp, _ := c["exp"].(float64)
	if a.p.cfg.Now().Unix() >= int64(exp) {
		return nil, apiError("token expired")
	}
	jti, _ := c["jti"].(string)
	a.p.store.mu.Lock()
	_, live := a.p.store.access[jti]
	a.p.store.mu.Unlock()
	if !live {
		return nil, apiError("token revoked")
	}
	return c, nil
}
