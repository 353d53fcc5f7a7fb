package dpop

import (
	"net/url"
	"testing"
	"time"
)

func BenchmarkProof(b *testing.B) {
	k := NewKey()
	u, _ := url.Parse("https://api.example.com/items")
	s, _ := NewSigner(k)
	b.Run("new-signer", func(b *testing.B) {
		for b.Loop() {
			Proof(k, "GET", u, "token", "", time.Now())
		}
	})
	b.Run("cached-signer", func(b *testing.B) {
		for b.Loop() {
			s.Proof("GET", u, "token", "", time.Now())
		}
	})
}
