// Package seal encrypts the small values the SDK keeps in cookies and in
// Redis (sessions, sign-in attempts) with AES-256-GCM under rotating keys.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"unsafe"

	"github.com/confidant-go/confidant/internal/fail"
)

// Cipher seals and opens small values with AES-256-GCM under a list of
// keys: the first key seals, every key opens, so keys can be rotated by
// putting a new key first and removing an old one once its cookies have
// expired. Safe for concurrent use.
type Cipher struct {
	aeads []cipher.AEAD
	hints []byte   // first byte of SHA-256(key): picks the key to try first
	keys  [][]byte // for Derive
}

const (
	sealVersion = 1
	nonceSize   = 12
	overhead    = 2 + nonceSize + 16 // version, key hint, nonce, GCM tag
)

// ErrInvalid means a sealed value was tampered with, truncated, bound to
// other data or sealed under a key that is not (or no longer) configured.
var ErrInvalid error = fail.SealInvalid

// New returns a Cipher for keys, each exactly 32 bytes (AES-256) of
// random data. Its errors say what is wrong with which key; callers wrap
// them in their ErrConfig.
func New(keys [][]byte) (*Cipher, error) {
	if len(keys) == 0 {
		return nil, errors.New("at least one key is required")
	}
	c := &Cipher{}
	for i, k := range keys {
		if len(k) != 32 {
			return nil, fmt.Errorf("key %d of %d (the first is the newest) is %d bytes, want 32", i+1, len(keys), len(k))
		}
		if err := checkRandom(k); err != nil {
			return nil, fmt.Errorf("key %d of %d (the first is the newest) %v; make one with crypto/rand (or: openssl rand -base64 32, decoded)", i+1, len(keys), err)
		}
		block, _ := aes.NewCipher(k)
		aead, _ := cipher.NewGCM(block)
		h := sha256.Sum256(k)
		c.aeads = append(c.aeads, aead)
		c.hints = append(c.hints, h[0])
		c.keys = append(c.keys, append([]byte(nil), k...))
	}
	return c, nil
}

// Derive is HMAC-SHA256(key, label) for each key, the first key's
// first: a value every instance with the same keys computes alike (and
// accepts for any key while they are rotated), which reveals nothing of
// the keys.
func (c *Cipher) Derive(label string) [][]byte {
	out := make([][]byte, len(c.keys))
	for i, k := range c.keys {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(label))
		out[i] = m.Sum(nil)
	}
	return out
}

// Seal encrypts and authenticates plaintext bound to aad (which is not
// stored) and returns it as unpadded base64url text.
func (c *Cipher) Seal(plaintext, aad []byte) string {
	return base64.RawURLEncoding.EncodeToString(c.SealBytes(plaintext, aad))
}

// SealBytes is Seal without the text encoding: the sealed bytes, a
// quarter smaller, for a store that keeps binary values (Redis). They
// start with the version byte, which no text from Seal starts with.
func (c *Cipher) SealBytes(plaintext, aad []byte) []byte {
	buf := make([]byte, 2+nonceSize, overhead+len(plaintext))
	buf[0], buf[1] = sealVersion, c.hints[0]
	rand.Read(buf[2 : 2+nonceSize])
	return c.aeads[0].Seal(buf, buf[2:2+nonceSize], plaintext, aad)
}

// IsBytes reports whether v (a stored value) is from SealBytes rather
// than Seal.
func IsBytes(v string) bool { return len(v) > 0 && v[0] == sealVersion }

// Open reverses Seal. Any tampering, truncation, wrong aad or unknown key
// gives ErrInvalid.
func (c *Cipher) Open(text string, aad []byte) ([]byte, error) {
	buf, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil {
		return nil, ErrInvalid
	}
	return c.open(buf, aad, func(b []byte) { base64.RawURLEncoding.Decode(b, []byte(text)) })
}

// OpenBytes reverses SealBytes, given what it returned as a string (as
// Redis returns values), with the errors of Open.
func (c *Cipher) OpenBytes(sealed string, aad []byte) ([]byte, error) {
	pt, _, err := c.openAt([]byte(sealed), aad, func(b []byte) { copy(b, sealed) })
	return pt, err
}

// OpenBytesStale is OpenBytes, and reports whether a key other than the
// first (a retired one) opened it: a value kept for long is sealed again
// then, before that key is dropped.
func (c *Cipher) OpenBytesStale(sealed string, aad []byte) (plain []byte, stale bool, err error) {
	pt, i, err := c.openAt([]byte(sealed), aad, func(b []byte) { copy(b, sealed) })
	return pt, err == nil && i != 0, err
}

// open decrypts the sealed buf in place, one allocation in all. A failed
// attempt clears the plaintext it wrote (crypto/cipher does, so as not to
// release unauthenticated data), so before the next key is tried, reload
// puts the sealed bytes back into buf.
func (c *Cipher) open(buf, aad []byte, reload func([]byte)) ([]byte, error) {
	pt, _, err := c.openAt(buf, aad, reload)
	return pt, err
}

// openAt is open, with the index of the key that opened buf.
func (c *Cipher) openAt(buf, aad []byte, reload func([]byte)) ([]byte, int, error) {
	if len(buf) < overhead || buf[0] != sealVersion {
		return nil, 0, ErrInvalid
	}
	hint, nonce, ct := buf[1], buf[2:2+nonceSize], buf[2+nonceSize:]
	// Try the key the hint names first, then the rest: a hint collision
	// costs one extra attempt, never a wrong answer.
	tried := false
	for pass := range 2 {
		for i, aead := range c.aeads {
			if (c.hints[i] == hint) != (pass == 0) {
				continue
			}
			if tried {
				reload(buf)
			}
			tried = true
			if pt, err := aead.Open(ct[:0], nonce, ct, aad); err == nil {
				return pt, i, nil
			}
		}
	}
	return nil, 0, ErrInvalid
}

// checkRandom refuses keys that cannot have come from a random source: all
// one byte value (a zero-filled buffer), or all printable ASCII (a password
// or a hex or base64 string used as the key itself, which has far less than
// 256 bits of entropy). A random key is all printable with probability
// about 10^-14.
func checkRandom(k []byte) error {
	same, printable := true, true
	for _, b := range k {
		if b != k[0] {
			same = false
		}
		if b < 0x20 || b > 0x7e {
			printable = false
		}
	}
	switch {
	case same:
		return fmt.Errorf("is one byte value repeated (an unset or zeroed buffer?)")
	case printable:
		return fmt.Errorf("is printable text, not random bytes (decode it if it is base64 or hex)")
	}
	return nil
}

// shared holds the Cipher of each store that offers its keys to the
// middleware (for its sign-in attempt cookies, when it is given no keys of
// its own), by the store's address: nothing exported carries a Cipher.
// An entry goes when its store is collected.
var shared sync.Map // uintptr → sharedEntry

type sharedEntry struct {
	typ    reflect.Type
	cipher *Cipher
}

// Share records that owner seals with c, for SharedBy.
func Share[T any](owner *T, c *Cipher) {
	p := uintptr(unsafe.Pointer(owner))
	e := sharedEntry{typ: reflect.TypeOf(owner), cipher: c}
	shared.Store(p, e)
	runtime.AddCleanup(owner, func(p uintptr) { shared.CompareAndDelete(p, e) }, p)
}

// SharedBy returns the Cipher that store (a pointer) was given by Share,
// or, for a store that embeds one (a wrapper that counts or logs), the
// embedded store's; nil when there is none.
func SharedBy(store any) *Cipher {
	return sharedBy(reflect.ValueOf(store), 0)
}

func sharedBy(v reflect.Value, depth int) *Cipher {
	if depth > 4 || !v.IsValid() {
		return nil
	}
	switch v.Kind() {
	case reflect.Interface:
		return sharedBy(v.Elem(), depth+1)
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		if e, ok := shared.Load(uintptr(v.UnsafePointer())); ok && e.(sharedEntry).typ == v.Type() {
			return e.(sharedEntry).cipher
		}
		return sharedBy(v.Elem(), depth+1)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).Anonymous {
				if c := sharedBy(v.Field(i), depth+1); c != nil {
					return c
				}
			}
		}
	}
	return nil
}
