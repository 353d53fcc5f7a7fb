package session

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/confidant-go/confidant/internal/fail"
)

// NewKey returns a new random 32-byte key for CookieConfig.Keys (and
// redisstore.Config.Keys). To make one for configuration instead:
//
//	openssl rand -base64 32
//
// and put it, base64 as printed, in an environment variable read with
// ParseKeys.
func NewKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// ParseKeys reads keys from their usual text form, such as an environment
// variable: one or more 32-byte keys, each in standard or URL-safe base64
// (padded or not) or in hex, separated by commas or spaces. The first key
// seals and every key opens, so a rotation is "new,old" until the old
// key's cookies have expired, then "new". Errors wrap confidant.ErrConfig and name
// the key by position, never by value.
//
//	keys, err := session.ParseKeys(os.Getenv("SESSION_KEYS"))
func ParseKeys(s string) ([][]byte, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: no keys given (make one with: openssl rand -base64 32)", fail.SessionConfig)
	}
	keys := make([][]byte, 0, len(fields))
	for i, f := range fields {
		k, ok := decodeKey(f)
		if !ok {
			return nil, fmt.Errorf("%w: key %d of %d (the first is the newest) is not 32 bytes in base64 or hex (make one with: openssl rand -base64 32)", fail.SessionConfig, i+1, len(fields))
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func decodeKey(s string) ([]byte, bool) {
	if len(s) == 64 {
		if k, err := hex.DecodeString(s); err == nil {
			return k, true
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == 32 {
			return k, true
		}
	}
	return nil, false
}
