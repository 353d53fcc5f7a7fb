package dpop

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// TestProof: the proof is a dpop+jwt signed by the key whose public half
// it embeds, with htm, htu without query and fragment, iat, a fresh jti,
// ath of the token and the nonce.
func TestProof(t *testing.T) {
	key := NewKey()
	u, _ := url.Parse("https://api.example.com/v1/items?page=2#top")
	now := time.Unix(1_790_000_000, 0)
	var jtis []string
	for range 2 {
		raw, err := Proof(key, "POST", u, "the-token", "n-1", now)
		if err != nil {
			t.Fatal(err)
		}
		jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		h := jws.Signatures[0].Header
		if h.ExtraHeaders["typ"] != "dpop+jwt" || h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() {
			t.Fatalf("header %+v", h)
		}
		payload, err := jws.Verify(h.JSONWebKey)
		if err != nil {
			t.Fatalf("the embedded key does not verify the proof: %v", err)
		}
		var c struct {
			JTI, HTM, HTU, ATH, Nonce string
			IAT                       int64
		}
		json.Unmarshal(payload, &c)
		ath := sha256.Sum256([]byte("the-token"))
		if c.HTM != "POST" || c.HTU != "https://api.example.com/v1/items" || c.IAT != now.Unix() || c.Nonce != "n-1" ||
			c.ATH != base64.RawURLEncoding.EncodeToString(ath[:]) || len(c.JTI) < 20 {
			t.Errorf("claims %+v", c)
		}
		if tp, _ := h.JSONWebKey.Thumbprint(crypto.SHA256); base64.RawURLEncoding.EncodeToString(tp) != Thumbprint(key) {
			t.Error("the embedded key is not the session's")
		}
		jtis = append(jtis, c.JTI)
	}
	if jtis[0] == jtis[1] {
		t.Error("two proofs share a jti")
	}
	if k, err := Parse(Marshal(key)); err != nil || !k.Equal(key) {
		t.Errorf("Parse(Marshal(key)): %v", err)
	}
}
