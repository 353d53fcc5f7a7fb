package redisstore

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/confidant-go/confidant/session"
)

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}

// hashTagged is prefix + "{" + hash(s) + "}" + suffix, in one allocation
// (it names a session's keys on every request).
func hashTagged(prefix, s, suffix string) string {
	h := sha256.Sum256([]byte(s))
	var hx [32]byte
	hex.Encode(hx[:], h[:16])
	var b strings.Builder
	b.Grow(len(prefix) + len(hx) + 2 + len(suffix))
	b.WriteString(prefix)
	b.WriteByte('{')
	b.Write(hx[:])
	b.WriteByte('}')
	b.WriteString(suffix)
	return b.String()
}

// The session's keys share a hash tag, so they live in one Cluster slot.
// Redis holds only hashes of session IDs: nothing in it works as a cookie.
func (s *Store) sessionKey(id string) string { return hashTagged(s.cfg.Prefix, id, ":s") }

func (s *Store) hashedKey(hid string) string { return s.cfg.Prefix + "{" + hid + "}:s" }

func (s *Store) lockKey(id string) string { return hashTagged(s.cfg.Prefix, id, ":l") }

func (s *Store) indexKey(key string) string { return s.cfg.Prefix + "i:" + hash(key) }

func (s *Store) replayKey(key string) string { return s.cfg.Prefix + "r:" + hash(key) }

func (s *Store) indexKeysOf(sess *session.Session) []string {
	return mapKeys(codec.IndexKeys(sess), s.indexKey)
}

func mapKeys(keys []string, f func(string) string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = f(k)
	}
	return out
}
