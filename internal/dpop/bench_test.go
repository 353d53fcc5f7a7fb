package dpop

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"net/url"
	"testing"
	"time"
)

// BenchmarkProof: a proof, beside the one ES256 signature it contains
// (bare-signature, the baseline): a proof is a fixed header, a handful of
// claims and that signature, so the ratio should stay near 1.
func BenchmarkProof(b *testing.B) {
	k := NewKey()
	u, _ := url.Parse("https://api.example.com/items")
	s, _ := NewSigner(k)
	b.Run("bare-signature", func(b *testing.B) {
		b.ReportAllocs()
		digest := sha256.Sum256([]byte("a proof's header and claims"))
		for b.Loop() {
			ecdsa.Sign(rand.Reader, k, digest[:])
		}
	})
	b.Run("new-signer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Proof(k, "GET", u, "token", "", time.Now())
		}
	})
	b.Run("cached-signer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Proof("GET", u, "token", "", time.Now())
		}
	})
}
