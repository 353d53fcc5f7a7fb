package client

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/confidant-go/confidant/internal/fail"
)

// clientAssertionType is RFC 7523's client_assertion_type for a JWT.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// PrivateKey is the key of private_key_jwt client authentication (RFC
// 7523, Config.PrivateKey), which also signs request objects (JAR).
type PrivateKey struct {
	// Key signs. Any crypto.Signer works, so the key can live in a KMS or
	// HSM; its public key (ECDSA P-256, RSA of 2048 bits or more, or
	// Ed25519) is registered at the provider.
	// Required.
	Key crypto.Signer
	// KeyID is the key's kid as registered (the JWT's kid header).
	// Default: none; most providers with several keys need it.
	KeyID string
	// Alg is the signature algorithm: ES256 for P-256 keys; RS256 or
	// PS256 for RSA keys; EdDSA for Ed25519 keys.
	// Default: the key's: ES256, RS256 (PS256 under Config.FAPI) or EdDSA.
	Alg string
	// Cert is Key's certificate, for providers that know the key by it
	// (Entra ID's certificate credentials): the assertion's header names
	// it by its SHA-256 thumbprint (x5t#S256).
	// Default: none.
	Cert *x509.Certificate
}

// assertionSigner signs private_key_jwt client assertions (RFC 7523) with a
// crypto.Signer, so that the key can stay in a KMS or HSM: go-jose hands
// it the payload through the OpaqueSigner interface.
type assertionSigner struct {
	key  crypto.Signer
	alg  jose.SignatureAlgorithm
	kid  string
	cert *x509.Certificate // named in the header (x5t#S256), when set
	jws  jose.Signer
	jar  jose.Signer // request objects (RFC 9101): typ oauth-authz-req+jwt
}

// newAssertionSigner checks that key and alg fit together: ES256 for an
// ECDSA P-256 key; RS256 (default) or PS256 for RSA of at least 2048 bits;
// EdDSA for Ed25519.
func newAssertionSigner(key crypto.Signer, alg, kid, field string, cert *x509.Certificate) (*assertionSigner, error) {
	s := &assertionSigner{key: key, kid: kid, cert: cert}
	switch pub := key.Public().(type) {
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() || (alg != "" && alg != "ES256") {
			return nil, fmt.Errorf("%w: %s: an ECDSA key must be P-256, signing ES256", fail.ClientConfig, field)
		}
		s.alg = jose.ES256
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return nil, fmt.Errorf("%w: %s: an RSA key needs at least 2048 bits", fail.ClientConfig, field)
		}
		switch alg {
		case "", "RS256":
			s.alg = jose.RS256
		case "PS256":
			s.alg = jose.PS256
		default:
			return nil, fmt.Errorf("%w: %s: alg %q: an RSA key signs RS256 or PS256", fail.ClientConfig, field, alg)
		}
	case ed25519.PublicKey:
		if alg != "" && alg != "EdDSA" {
			return nil, fmt.Errorf("%w: %s: an Ed25519 key signs EdDSA", fail.ClientConfig, field)
		}
		s.alg = jose.EdDSA
	default:
		return nil, fmt.Errorf("%w: %s: %T keys are not supported; use ECDSA P-256, RSA or Ed25519", fail.ClientConfig, field, pub)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	if cert != nil {
		// A provider that knows the key by its certificate (Entra ID):
		// the header names it by its SHA-256 thumbprint.
		if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(cert.PublicKey) {
			return nil, fmt.Errorf("%w: %s: Cert is not the certificate of Key", fail.ClientConfig, field)
		}
		sum := sha256.Sum256(cert.Raw)
		opts = opts.WithHeader(jose.HeaderKey("x5t#S256"), base64.RawURLEncoding.EncodeToString(sum[:]))
	}
	jws, err := jose.NewSigner(jose.SigningKey{Algorithm: s.alg, Key: s}, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", fail.ClientConfig, field, err)
	}
	s.jws = jws
	jarOpts := (&jose.SignerOptions{}).WithType("oauth-authz-req+jwt")
	if kid != "" {
		jarOpts = jarOpts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	if s.jar, err = jose.NewSigner(jose.SigningKey{Algorithm: s.alg, Key: s}, jarOpts); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", fail.ClientConfig, field, err)
	}
	return s, nil
}

// requestObjectLifetime is how long a request object is valid: FAPI 2.0
// Message Signing allows at most 60 minutes from nbf; the browser needs
// seconds.
const requestObjectLifetime = 5 * time.Minute

// requestObject signs the authorization request's parameters as a request
// object (RFC 9101): iss and client_id the client, aud the provider's
// issuer, nbf and iat now, exp five minutes on, a random jti. max_age is a
// number, a parameter given several times (resource) an array.
func (s *assertionSigner) requestObject(clientID string, ep Endpoints, params url.Values, now time.Time) (string, error) {
	claims := map[string]any{}
	for k, vs := range params {
		switch {
		case len(vs) > 1:
			claims[k] = vs
		case k == "max_age":
			n, err := strconv.Atoi(vs[0])
			if err != nil {
				return "", fmt.Errorf("%w: max_age %q is not a number of seconds", fail.ClientConfig, vs[0])
			}
			claims[k] = n
		default:
			claims[k] = vs[0]
		}
	}
	claims["iss"], claims["client_id"], claims["aud"] = clientID, clientID, ep.Issuer
	claims["iat"], claims["nbf"], claims["exp"] = now.Unix(), now.Unix(), now.Add(requestObjectLifetime).Unix()
	claims["jti"] = randomString(16)
	payload, _ := json.Marshal(claims)
	obj, err := s.jar.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("client: signing the request object: %w", err)
	}
	return obj.CompactSerialize()
}

// Public implements jose.OpaqueSigner.
func (s *assertionSigner) Public() *jose.JSONWebKey {
	return &jose.JSONWebKey{Key: s.key.Public(), KeyID: s.kid, Algorithm: string(s.alg), Use: "sig"}
}

// Algs implements jose.OpaqueSigner.
func (s *assertionSigner) Algs() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{s.alg} }

// SignPayload implements jose.OpaqueSigner: SHA-256 of the payload, signed
// by the key; an ECDSA signature's ASN.1 form becomes JWS's r || s.
func (s *assertionSigner) SignPayload(payload []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	if alg == jose.EdDSA {
		return s.key.Sign(rand.Reader, payload, crypto.Hash(0)) // Ed25519 signs the message itself
	}
	h := crypto.SHA256.New()
	h.Write(payload)
	digest := h.Sum(nil)
	switch alg {
	case jose.ES256:
		der, err := s.key.Sign(rand.Reader, digest, crypto.SHA256)
		if err != nil {
			return nil, err
		}
		var sig struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(der, &sig); err != nil || len(rest) > 0 {
			return nil, errors.New("client: the key's ECDSA signature is not ASN.1")
		}
		out := make([]byte, 64)
		sig.R.FillBytes(out[:32])
		sig.S.FillBytes(out[32:])
		return out, nil
	case jose.RS256:
		return s.key.Sign(rand.Reader, digest, crypto.SHA256)
	case jose.PS256:
		return s.key.Sign(rand.Reader, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	}
	return nil, fmt.Errorf("client: cannot sign %s", alg)
}

// assertion returns a fresh client assertion for the client, for aud: iss
// and sub the client ID, a random jti, iat and nbf now, exp one minute on
// (Entra refuses an assertion without nbf or exp).
func (s *assertionSigner) assertion(clientID, aud string, now time.Time) (string, error) {
	claims, _ := json.Marshal(map[string]any{"iss": clientID, "sub": clientID, "aud": aud,
		"jti": randomString(16), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	obj, err := s.jws.Sign(claims)
	if err != nil {
		return "", fmt.Errorf("client: signing the client assertion: %w", err)
	}
	return obj.CompactSerialize()
}

// assertionAudience is the aud of a client assertion sent to endpoint (a
// URL of ep: the token, PAR or revocation endpoint, or its mTLS alias):
// the provider's issuer, which every endpoint of the provider accepts
// (RFC 7523 3, RFC 9126 2; FAPI 2.0 wants it); or endpoint itself, where
// there is no issuer to name (a plain OAuth 2.0 provider, a multi-tenant
// template) or the provider wants an endpoint's URL (Entra ID). Never
// another endpoint's URL: an assertion is for the endpoint it is sent to
// (a provider that checks aud strictly refuses one for its token endpoint
// at PAR or revocation, and the endpoint that got it would hold an
// assertion good at the token endpoint).
func (c *Client) assertionAudience(ep Endpoints, endpoint string) string {
	if ep.Issuer == "" || strings.Contains(ep.Issuer, tenantPlaceholder) || c.cfg.Provider.q.AssertionAudEndpoint {
		return endpoint
	}
	return ep.Issuer
}

// addAssertion puts a fresh client assertion for endpoint, one of ep's
// URLs, into form.
func (c *Client) addAssertion(form url.Values, ep Endpoints, endpoint string) error {
	a, err := c.signer.assertion(c.cfg.ClientID, c.assertionAudience(ep, endpoint), c.cfg.Now())
	if err != nil {
		return err
	}
	form.Set("client_id", c.cfg.ClientID)
	form.Set("client_assertion_type", clientAssertionType)
	form.Set("client_assertion", a)
	return nil
}
