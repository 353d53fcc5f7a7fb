package secevent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const (
	iss = "https://op.example"
	aud = "https://app.example"
	// sessionRevoked is CAEP 1.0's session-revoked event type.
	sessionRevoked = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
)

var now = time.Unix(1_800_000_000, 0)

// sign makes a SET with go-jose (not this package): claims, a typ, a kid.
func sign(t *testing.T, key any, alg jose.SignatureAlgorithm, kid, typ string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithHeader(jose.HeaderKey("kid"), kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	obj, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func claims() map[string]any {
	return map[string]any{"iss": iss, "aud": aud, "jti": "j1", "iat": now.Unix(),
		"sub_id": map[string]any{"format": "complex",
			"user":    map[string]any{"format": "iss_sub", "iss": iss, "sub": "alice"},
			"session": map[string]any{"format": "opaque", "id": "sid-1"}},
		"events": map[string]any{sessionRevoked: map[string]any{"event_timestamp": now.Unix()}}}
}

// TestVerify: a SET signed by the transmitter's key, for this receiver,
// is taken with its event and subject; each departure is refused with
// the RFC 8935 err code a push endpoint answers.
func TestVerify(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keys := func(context.Context, string) ([]jose.JSONWebKey, error) {
		return []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}, nil
	}
	want := Want{Issuer: iss, Audience: []string{aud}, MaxAge: time.Hour, Now: func() time.Time { return now }}

	tok, err := Verify(context.Background(), sign(t, key, jose.ES256, "k1", "secevent+jwt", claims()), keys, want)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Event != sessionRevoked || tok.ID != "j1" || tok.Subject == nil || tok.Subject.Format != "complex" ||
		tok.Subject.User.Sub != "alice" || tok.Subject.Session.ID != "sid-1" || !tok.IssuedAt.Equal(now) {
		t.Errorf("token %+v", tok)
	}

	with := func(k string, v any) map[string]any {
		c := claims()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	for _, c := range []struct {
		name string
		raw  string
		code string
	}{
		{"another key", sign(t, other, jose.ES256, "k1", "secevent+jwt", claims()), "invalid_key"},
		{"HMAC", sign(t, []byte("0123456789abcdef0123456789abcdef"), jose.HS256, "k1", "secevent+jwt", claims()), "invalid_request"},
		{"no typ", sign(t, key, jose.ES256, "k1", "", claims()), "invalid_request"},
		{"an ID token's typ", sign(t, key, jose.ES256, "k1", "JWT", claims()), "invalid_request"},
		{"another issuer", sign(t, key, jose.ES256, "k1", "secevent+jwt", with("iss", "https://evil.example")), "invalid_issuer"},
		{"another audience", sign(t, key, jose.ES256, "k1", "secevent+jwt", with("aud", []string{"https://other.example"})), "invalid_audience"},
		{"no jti", sign(t, key, jose.ES256, "k1", "secevent+jwt", with("jti", nil)), "invalid_request"},
		{"no iat", sign(t, key, jose.ES256, "k1", "secevent+jwt", with("iat", nil)), "invalid_request"},
		{"iat in the future", sign(t, key, jose.ES256, "k1", "secevent+jwt", with("iat", now.Add(time.Hour).Unix())), "invalid_request"},
		{"iat too old", sign(t, key, jose.ES256, "k1", "secevent+jwt", with("iat", now.Add(-2*time.Hour).Unix())), "invalid_request"},
		{"expired", sign(t, key, jose.ES256, "k1", "secevent+jwt", with("exp", now.Add(-time.Hour).Unix())), "invalid_request"},
		{"two events", sign(t, key, jose.ES256, "k1", "secevent+jwt", with("events", map[string]any{sessionRevoked: map[string]any{}, "urn:x": map[string]any{}})), "invalid_request"},
		{"no event", sign(t, key, jose.ES256, "k1", "secevent+jwt", with("events", nil)), "invalid_request"},
		{"an event that is not an object", sign(t, key, jose.ES256, "k1", "secevent+jwt", with("events", map[string]any{sessionRevoked: "x"})), "invalid_request"},
		{"not a JWT", "not.a.jwt", "invalid_request"},
		{"too large", strings.Repeat("a", 70<<10), "invalid_request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Verify(context.Background(), c.raw, keys, want)
			if err == nil || Code(err) != c.code {
				t.Errorf("Verify: %v (code %q), want %s", err, Code(err), c.code)
			}
		})
	}

	// A key the token brings along (jwk header) is never used, even when
	// it verifies the signature.
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType("secevent+jwt")
	s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: other}, opts)
	b, _ := json.Marshal(claims())
	obj, _ := s.Sign(b)
	raw, _ := obj.CompactSerialize()
	if _, err := Verify(context.Background(), raw, keys, want); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("a SET with its own jwk: %v, want invalid_key", err)
	}

	// The subject of an event, CAEP's form before SSF 1.0.
	c := claims()
	delete(c, "sub_id")
	c["events"] = map[string]any{sessionRevoked: map[string]any{"subject": map[string]any{"format": "email", "email": "Alice@Example.com"}}}
	tok, err = Verify(context.Background(), sign(t, key, jose.ES256, "k1", "secevent+jwt", c), keys, want)
	if err != nil || tok.Subject == nil || tok.Subject.Email != "Alice@Example.com" {
		t.Errorf("an event's subject: %+v %v", tok, err)
	}
}
