package session_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/session"
)

func TestParseKeys(t *testing.T) {
	a, b := session.NewKey(), session.NewKey()
	if bytes.Equal(a, b) || len(a) != 32 {
		t.Fatal("NewKey does not make distinct 32-byte keys")
	}
	for _, in := range []string{
		base64.StdEncoding.EncodeToString(a) + "," + base64.StdEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(a) + " " + hex.EncodeToString(b),
		" " + hex.EncodeToString(a) + ",\n" + base64.URLEncoding.EncodeToString(b) + " ",
	} {
		keys, err := session.ParseKeys(in)
		if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], a) || !bytes.Equal(keys[1], b) {
			t.Errorf("ParseKeys(%.20q…) = %d keys, %v", in, len(keys), err)
		}
	}
	secret := base64.StdEncoding.EncodeToString(a[:16])
	for _, in := range []string{"", " , ", secret, "not base64!", base64.StdEncoding.EncodeToString(a) + "," + secret} {
		_, err := session.ParseKeys(in)
		if !errors.Is(err, fail.SessionConfig) {
			t.Errorf("ParseKeys(%q): %v, want fail.SessionConfig", in, err)
		}
		if in != "" && err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows the key: %v", err)
		}
	}
	// One numbering: the same bad second key is "key 2 of 2" whether
	// ParseKeys or NewCookieStore finds it.
	_, perr := session.ParseKeys(base64.StdEncoding.EncodeToString(a) + "," + secret)
	_, serr := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{a, a[:16]}})
	for _, err := range []error{perr, serr} {
		if err == nil || !strings.Contains(err.Error(), "key 2 of 2") {
			t.Errorf("a bad second key: %v, want it named key 2 of 2", err)
		}
	}
	// The keys work in a store.
	keys, _ := session.ParseKeys(base64.StdEncoding.EncodeToString(a))
	if _, err := session.NewCookieStore(session.CookieConfig{Keys: keys}); err != nil {
		t.Error(err)
	}
}
