package session

import (
	"reflect"
	"testing"
	"time"

	"github.com/confidant-go/confidant"
)

func TestCodecRoundTrip(t *testing.T) {
	now := time.UnixMilli(1_790_000_000_000)
	for name, s := range map[string]*Session{
		"verified":   {ID: "a", User: confidant.User{Provider: "p", Subject: "s", Email: "e@x", EmailVerified: true, Claims: []byte(`{"x":1}`)}, Expiry: now},
		"unverified": {ID: "b", User: confidant.User{Provider: "p", Subject: "s", Email: "e@x"}, AccessToken: "h.p.s", CreatedAt: now},
		"empty":      {},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := unmarshal(marshal(s))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, s) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, s)
			}
		})
	}
}

// TestCodecReadsFormat1: cookies and Redis entries written before
// EmailVerified was stored still decode after an upgrade.
func TestCodecReadsFormat1(t *testing.T) {
	s := &Session{ID: "a", User: confidant.User{Provider: "p", Subject: "s", Email: "e@x"}, RefreshToken: "rt"}
	b := marshal(s)
	v1 := append([]byte{formatV1}, b[1:len(b)-1]...) // format 1 had no flags byte
	got, err := unmarshal(v1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("format 1:\n got %+v\nwant %+v", got, s)
	}
	for name, bad := range map[string][]byte{
		"v2 without flags": b[:len(b)-1],
		"unknown flag":     append(append([]byte{}, b[:len(b)-1]...), 0x80),
		"v1 with flags":    append([]byte{formatV1}, b[1:]...),
	} {
		if _, err := unmarshal(bad); err == nil {
			t.Errorf("%s: decoded, want errCorrupt", name)
		}
	}
}
