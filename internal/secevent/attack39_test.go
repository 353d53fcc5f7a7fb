package secevent

// Attacks on SET verification, #39: each test fails on the code as it is
// and passes once the weakness it names is fixed.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// TestAttack39TypNotProtected: explicit typing (RFC 8417 2.3, RFC 8725
// 3.11) is what keeps another JWT signed by the same keys (a provider
// often signs its ID tokens, logout tokens and SETs with one JWKS) from
// being taken as a SET. Verify reads typ from go-jose's merged header, and
// go-jose's ParseSigned also takes the JWS JSON serialization, whose
// unprotected "header" nobody signed: anyone holding a JWT signed by the
// transmitter's key with no typ (or another one left out of the protected
// header) re-serializes it as JSON with {"header":{"typ":"secevent+jwt"}}
// and it passes as a SET. A SET is a JWT: compact serialization, typ in
// the protected header.
func TestAttack39TypNotProtected(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	// A JWT signed by the transmitter's key, not typed as a SET.
	compact := sign(t, key, jose.ES256, "k1", "", claims())
	parts := strings.Split(compact, ".")
	flattened, _ := json.Marshal(map[string]any{"protected": parts[0], "payload": parts[1], "signature": parts[2],
		"header": map[string]any{"typ": "secevent+jwt"}})
	keys := func(context.Context, string) ([]jose.JSONWebKey, error) {
		return []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}, nil
	}
	want := Want{Issuer: iss, Audience: []string{aud}, Now: func() time.Time { return now }}
	if _, err := Verify(context.Background(), compact, keys, want); err == nil {
		t.Fatal("the untyped compact JWT is taken: the test's premise is wrong")
	}
	if tok, err := Verify(context.Background(), string(flattened), keys, want); err == nil {
		t.Errorf("a JWT without typ, re-serialized as JWS JSON with an unprotected typ secevent+jwt, is taken as a SET (event %q)", tok.Event)
	}
}
