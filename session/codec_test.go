package session

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant"
)

func TestCodecRoundTrip(t *testing.T) {
	now := time.UnixMilli(1_790_000_000_000)
	for name, s := range map[string]*Session{
		"verified":    {ID: "a", User: confidant.User{Provider: "p", Subject: "s", Email: "e@x", EmailVerified: true, Claims: []byte(`{"x":1}`)}, Expiry: now},
		"unverified":  {ID: "b", User: confidant.User{Provider: "p", Subject: "s", Email: "e@x"}, AccessToken: "h.p.s", CreatedAt: now},
		"empty":       {},
		"dpop key":    {ID: "d", TokenType: "DPoP", DPoPKey: []byte{1, 2, 3}},
		"values":      {ID: "v", Values: map[string]string{"roles": "admin billing", "account": "42"}},
		"claims time": {ID: "t", CreatedAt: now, ClaimsAt: now.Add(time.Hour)},
		"api tokens": {ID: "c", APITokens: map[string]APIToken{
			"orders":  {AccessToken: "aaa.bbb.ccc", TokenType: "Bearer", Expiry: now, Issued: now},
			"billing": {AccessToken: "opaque", TokenType: "DPoP", Expiry: now},
			"ledger":  {AccessToken: "x", RefreshToken: "exchange-grant-refresh-token", Issued: now}}},
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
// EmailVerified (format 1) or the API tokens (format 2) were stored still
// decode after an upgrade.
func TestCodecReadsFormat1(t *testing.T) {
	s := &Session{ID: "a", User: confidant.User{Provider: "p", Subject: "s", Email: "e@x"}, RefreshToken: "rt"}
	b := marshal(s)
	v1 := append([]byte{formatV1}, b[1:len(b)-5]...) // format 1: no flags byte, no API tokens, DPoP key, values or claims time
	got, err := unmarshal(v1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("format 1:\n got %+v\nwant %+v", got, s)
	}
	for f, cut := range map[byte]int{formatV2: 4, formatV3: 3, formatV4: 2, formatV5: 1, formatV6: 1} { // without what each later format added
		old := append([]byte{f}, b[1:len(b)-cut]...)
		if got, err := unmarshal(old); err != nil || !reflect.DeepEqual(got, s) {
			t.Errorf("format %d: %+v, %v", f, got, err)
		}
	}
	for name, bad := range map[string][]byte{
		"v7 without claims time": b[:len(b)-1],
		"unknown flag":           append(append([]byte{}, b[:len(b)-5]...), 0x80, 0, 0, 0, 0),
		"v1 with flags":          append([]byte{formatV1}, b[1:]...),
		"more values than bytes": append(append([]byte{}, b[:len(b)-2]...), 5),
	} {
		if _, err := unmarshal(bad); err == nil {
			t.Errorf("%s: decoded, want errCorrupt", name)
		}
	}
}

// TestCodecOwnsItsStrings: the decoded session shares nothing with the
// bytes it came from (strings are read into arenas of the decoder's own, a
// JWT into a buffer of its own), so a caller may reuse them (redisstore's
// do, through the codec's Unmarshal); and strings of every length, many
// more than one arena holds, come back whole.
func TestCodecOwnsItsStrings(t *testing.T) {
	s := &Session{ID: "id-1", User: confidant.User{Provider: "p", Subject: "s", Name: "Dee", Claims: []byte(`{"a":1}`)},
		AccessToken: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzIn0.c2ln", RefreshToken: "opaque-refresh", DPoPKey: []byte{1, 2, 3},
		Values: map[string]string{}}
	for i := range 60 {
		s.Values[fmt.Sprintf("k%02d", i)] = strings.Repeat(string(rune('a'+i%26)), i*3)
	}
	b := marshal(s)
	got, err := codec{}.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if !reflect.DeepEqual(got, s) {
		t.Errorf("after the input was cleared:\n got %+v\nwant %+v", got, s)
	}
}
