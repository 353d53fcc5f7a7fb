package session

import (
	"bytes"
	"testing"
	"time"

	"github.com/confidant-go/confidant"
)

// FuzzUnmarshal: the decoder never panics on any plaintext, and what it
// accepts encodes back to the same session.
func FuzzUnmarshal(f *testing.F) {
	s := &Session{ID: "id",
		AccessToken: "aaa.bbb.ccc", RefreshToken: "rt", IDToken: "x.y.z", Expiry: time.UnixMilli(1e12),
		User: confidant.User{Provider: "p", Subject: "sub", Claims: []byte(`{"a":1}`)},
	}
	f.Add(marshal(s))
	f.Add(marshal(&Session{}))
	f.Add([]byte{formatV1})
	f.Add([]byte{formatV1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := unmarshal(b)
		if err != nil {
			return
		}
		again, err := unmarshal(marshal(got))
		if err != nil {
			t.Fatalf("re-encoding an accepted session fails: %v", err)
		}
		if !bytes.Equal(marshal(again), marshal(got)) {
			t.Fatal("encoding is not stable")
		}
	})
}
