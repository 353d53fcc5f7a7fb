// Package dpop makes DPoP proofs (RFC 9449): the short JWTs that show, with
// each token request and each API call, that the sender holds the private
// key the tokens are bound to. Package client uses it at the token
// endpoint, package middleware for API calls.
package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// NewKey makes a key pair for one session: ECDSA P-256, signing ES256.
func NewKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("dpop: " + err.Error()) // crypto/rand does not fail
	}
	return k
}

// Marshal encodes key for the session (PKCS#8 DER; the session is sealed).
func Marshal(key *ecdsa.PrivateKey) []byte {
	b, _ := x509.MarshalPKCS8PrivateKey(key)
	return b
}

// Parse decodes what Marshal made.
func Parse(b []byte) (*ecdsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(b)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, errors.New("dpop: not a P-256 key")
	}
	return ek, nil
}

// Thumbprint is the key's JWK SHA-256 thumbprint (RFC 7638), base64url:
// the jkt a bound token names.
func Thumbprint(key *ecdsa.PrivateKey) string {
	t, _ := (&jose.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
	return base64.RawURLEncoding.EncodeToString(t)
}

// Signer makes the proofs of one key. Safe for concurrent use.
type Signer struct {
	jws jose.Signer
}

// NewSigner returns the proof maker for key.
func NewSigner(key *ecdsa.PrivateKey) (*Signer, error) {
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt")
	jws, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		return nil, fmt.Errorf("dpop: %w", err)
	}
	return &Signer{jws: jws}, nil
}

// Proof returns a DPoP proof of key for a request of method to target (its
// query and fragment are left out of htu), with ath when accessToken is set
// (API calls) and nonce when the server gave one.
func Proof(key *ecdsa.PrivateKey, method string, target *url.URL, accessToken, nonce string, now time.Time) (string, error) {
	s, err := NewSigner(key)
	if err != nil {
		return "", err
	}
	return s.Proof(method, target, accessToken, nonce, now)
}

// Proof is the package's Proof with s's key.
func (s *Signer) Proof(method string, target *url.URL, accessToken, nonce string, now time.Time) (string, error) {
	htu := url.URL{Scheme: target.Scheme, Host: target.Host, Path: target.Path, RawPath: target.RawPath}
	jti := make([]byte, 16)
	rand.Read(jti)
	claims := map[string]any{"jti": base64.RawURLEncoding.EncodeToString(jti), "htm": method, "htu": htu.String(), "iat": now.Unix()}
	if accessToken != "" {
		h := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(h[:])
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	payload, _ := json.Marshal(claims)
	obj, err := s.jws.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("dpop: %w", err)
	}
	return obj.CompactSerialize()
}

// Nonces remembers the last DPoP-Nonce each server (origin) gave, for the
// next proofs to it. Safe for concurrent use.
type Nonces struct{ m sync.Map }

// Get returns the nonce for u's origin, or "".
func (n *Nonces) Get(u *url.URL) string {
	v, _ := n.m.Load(strings.ToLower(u.Scheme + "://" + u.Host))
	s, _ := v.(string)
	return s
}

// Learn keeps the DPoP-Nonce of resp, the answer to a request to u, if it
// has one, and reports whether the server asked for a new one
// (use_dpop_nonce: 400 at a token endpoint, 401 with a DPoP challenge at
// an API), so that the request is retried once with it. The origin comes
// from u, never from resp.Request, which a custom transport may leave nil.
func (n *Nonces) Learn(u *url.URL, resp *http.Response, body []byte) (retry bool) {
	nonce := resp.Header.Get("DPoP-Nonce")
	if nonce == "" {
		return false
	}
	n.m.Store(strings.ToLower(u.Scheme+"://"+u.Host), nonce)
	switch resp.StatusCode {
	case http.StatusBadRequest:
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(body, &e)
		return e.Error == "use_dpop_nonce"
	case http.StatusUnauthorized:
		for _, h := range resp.Header.Values("WWW-Authenticate") {
			if strings.HasPrefix(strings.ToLower(h), "dpop") && strings.Contains(h, "use_dpop_nonce") {
				return true
			}
		}
	}
	return false
}
