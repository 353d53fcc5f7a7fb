package seal_test

import (
	"errors"
	"strings"
	"testing"

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
