package seal_test

import (
	"crypto/sha256"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/seal"
	"github.com/confidant-go/confidant/session"
)

func key() []byte { return session.NewKey() }

func TestCipherBindsAAD(t *testing.T) {
	c, err := seal.New([][]byte{key()})
	if err != nil {
		t.Fatal(err)
	}
	sealed := c.Seal([]byte("hello"), []byte("a"))
	if _, err := c.Open(sealed, []byte("b")); !errors.Is(err, seal.ErrInvalid) {
		t.Errorf("opened with another aad: %v", err)
	}
	if got, err := c.Open(sealed, []byte("a")); err != nil || string(got) != "hello" {
		t.Errorf("Open = %q, %v", got, err)
	}
	if strings.Contains(sealed, "hello") {
		t.Error("plaintext visible")
	}
}

// TestKeysRotate: the first key seals, every key opens; a value sealed
// under a retired key does not open.
func TestKeysRotate(t *testing.T) {
	oldKey, newKey := key(), key()
	old, _ := seal.New([][]byte{oldKey})
	both, _ := seal.New([][]byte{newKey, oldKey})
	onlyNew, _ := seal.New([][]byte{newKey})
	v := old.Seal([]byte("x"), nil)
	if _, err := both.Open(v, nil); err != nil {
		t.Errorf("rotated cipher does not open the old key's value: %v", err)
	}
	if _, err := onlyNew.Open(v, nil); !errors.Is(err, seal.ErrInvalid) {
		t.Errorf("retired key's value: %v", err)
	}
	if _, err := old.Open(both.Seal([]byte("y"), nil), nil); !errors.Is(err, seal.ErrInvalid) {
		t.Error("the new cipher does not seal with its first key")
	}
}

// TestKeysRefused: keys that are missing, short, zeroed or text.
func TestKeysRefused(t *testing.T) {
	for name, keys := range map[string][][]byte{
		"none":    nil,
		"short":   {make([]byte, 16)},
		"zeroed":  {make([]byte, 32)},
		"text":    {[]byte(strings.Repeat("ab", 16))},
		"one bad": {key(), make([]byte, 32)},
	} {
		if _, err := seal.New(keys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestOpenAfterHintCollision: two keys whose hints collide, the value
// sealed under the second. The first is tried first and fails, which
// clears the buffer it decrypts in; the second must still open the value,
// from text and from bytes.
func TestOpenAfterHintCollision(t *testing.T) {
	a := key()
	ha := sha256.Sum256(a)
	var b []byte
	for {
		b = key()
		if hb := sha256.Sum256(b); hb[0] == ha[0] {
			break
		}
	}
	both, _ := seal.New([][]byte{a, b})
	second, _ := seal.New([][]byte{b})
	plain := []byte(strings.Repeat("the session ", 20))
	if got, err := both.Open(second.Seal(plain, []byte("k")), []byte("k")); err != nil || string(got) != string(plain) {
		t.Errorf("Open = %q, %v", got, err)
	}
	if got, err := both.OpenBytes(string(second.SealBytes(plain, []byte("k"))), []byte("k")); err != nil || string(got) != string(plain) {
		t.Errorf("OpenBytes = %q, %v", got, err)
	}
}

// TestSealBytes: a quarter smaller than the text, told apart from it,
// bound to its aad, refused when tampered with or truncated.
func TestSealBytes(t *testing.T) {
	c, _ := seal.New([][]byte{key()})
	plain := []byte(strings.Repeat("x", 3000))
	raw, text := c.SealBytes(plain, []byte("a")), c.Seal(plain, []byte("a"))
	if len(raw)*4 > len(text)*3+4 {
		t.Errorf("%d bytes sealed, %d as text: want a quarter less", len(raw), len(text))
	}
	if !seal.IsBytes(string(raw)) || seal.IsBytes(text) || seal.IsBytes("") {
		t.Error("IsBytes does not tell them apart")
	}
	if _, err := c.OpenBytes(string(raw), []byte("b")); !errors.Is(err, seal.ErrInvalid) {
		t.Errorf("other aad: %v", err)
	}
	// The last byte flipped, not replaced: a replacement equal to the
	// byte it replaces (1 in 256) left the value intact.
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)-1] ^= 1
	for _, bad := range []string{"", string(raw[:20]), string(raw[:len(raw)-1]), string(flipped), text} {
		if _, err := c.OpenBytes(bad, []byte("a")); !errors.Is(err, seal.ErrInvalid) {
			t.Errorf("a bad value of %d bytes: %v", len(bad), err)
		}
	}
	if got, err := c.OpenBytes(string(raw), []byte("a")); err != nil || string(got) != string(plain) {
		t.Errorf("OpenBytes: %v", err)
	}
}

// TestShare: a store's cipher is found by the store, not by another value
// or a nil one, and the entry goes when the store is collected.
func TestShare(t *testing.T) {
	type store struct{ _ [16]byte }
	c, _ := seal.New([][]byte{key()})
	s, other := &store{}, &store{}
	seal.Share(s, c)
	if seal.SharedBy(s) != c {
		t.Error("the store's cipher is not found")
	}
	type wrapper struct{ *store }
	type wrapperOfWrapper struct{ any }
	for name, v := range map[string]any{"a wrapper embedding it": wrapper{s}, "a pointer to one": &wrapper{s},
		"an embedded interface": wrapperOfWrapper{&wrapper{s}}} {
		if seal.SharedBy(v) != c {
			t.Errorf("%s: the store's cipher is not found", name)
		}
	}
	var nilStore *store
	for name, v := range map[string]any{"another store": other, "a value": *s, "nil": nil, "a nil pointer": nilStore,
		"a wrapper of another": wrapper{other}, "a nil wrapper": (*wrapper)(nil)} {
		if seal.SharedBy(v) != nil {
			t.Errorf("%s: found a cipher", name)
		}
	}
	n := seal.Shared()
	s = nil
	for range 50 {
		runtime.GC()
		if seal.Shared() < n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("the entry outlived its store: %d entries", seal.Shared())
}
