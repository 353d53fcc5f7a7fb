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
	"strconv"
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
//
// A proof is a fixed header (the key's public half, computed once), a
// handful of claims and one ES256 signature, assembled here without a JWT
// library: the signature is nearly all of its cost (BenchmarkProof shows
// the ratio to a bare signature).
type Signer struct {
	key    *ecdsa.PrivateKey
	header string // base64url of the protected header, with the "."
}

// NewSigner returns the proof maker for key.
func NewSigner(key *ecdsa.PrivateKey) (*Signer, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, errors.New("dpop: not a P-256 key")
	}
	pub, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, fmt.Errorf("dpop: %w", err)
	}
	b64 := base64.RawURLEncoding
	h := `{"alg":"ES256","jwk":{"crv":"P-256","kty":"EC","x":"` + b64.EncodeToString(pub[1:33]) + `","y":"` +
		b64.EncodeToString(pub[33:65]) + `"},"typ":"dpop+jwt"}`
	return &Signer{key: key, header: b64.EncodeToString([]byte(h)) + "."}, nil
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
	var jti [16]byte
	rand.Read(jti[:])
	b64 := base64.RawURLEncoding

	// The claims, as JSON: strings through json.Marshal's escaping (a
	// method, URL or nonce cannot break out), the rest fixed.
	claims := make([]byte, 0, 256)
	claims = append(claims, `{"jti":"`...)
	claims = b64.AppendEncode(claims, jti[:])
	claims = append(claims, `","htm":`...)
	claims = appendJSONString(claims, method)
	claims = append(claims, `,"htu":`...)
	claims = appendJSONString(claims, htu.String())
	claims = append(claims, `,"iat":`...)
	claims = strconv.AppendInt(claims, now.Unix(), 10)
	if accessToken != "" {
		h := sha256.Sum256([]byte(accessToken))
		claims = append(claims, `,"ath":"`...)
		claims = b64.AppendEncode(claims, h[:])
		claims = append(claims, '"')
	}
	if nonce != "" {
		claims = append(claims, `,"nonce":`...)
		claims = appendJSONString(claims, nonce)
	}
	claims = append(claims, '}')

	out := make([]byte, 0, len(s.header)+b64.EncodedLen(len(claims))+1+86)
	out = append(out, s.header...)
	out = b64.AppendEncode(out, claims)
	digest := sha256.Sum256(out)
	r, sig, err := ecdsa.Sign(rand.Reader, s.key, digest[:])
	if err != nil {
		return "", fmt.Errorf("dpop: %w", err)
	}
	var rs [64]byte // JWS ES256: R || S, 32 bytes each (RFC 7518 3.4)
	r.FillBytes(rs[:32])
	sig.FillBytes(rs[32:])
	out = append(out, '.')
	out = b64.AppendEncode(out, rs[:])
	return string(out), nil
}

// appendJSONString appends v as a JSON string.
func appendJSONString(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			q, _ := json.Marshal(v)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, v...)
	return append(b, '"')
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
