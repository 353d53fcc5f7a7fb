package session

import (
	"encoding/base64"
	"encoding/binary"
	"maps"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/confidant-go/confidant/internal/fail"
)

// The compact encoding: a format byte, then every field in a fixed order.
// Strings are a uvarint length and bytes; times are varint Unix
// milliseconds (0 for the zero time). Tokens that are compact JWTs are
// stored as their three decoded segments, a quarter smaller than their
// base64 text, which keeps a realistic session in a single cookie.
// Format 2 adds a flags byte at the end (bit 0: EmailVerified); format 3
// adds the API tokens after it (a count, then name, token, type, expiry and
// issue time of each, by name); format 4 the DPoP key after those; format
// 5 the app's values (a count, then key and value, by key); format 6 a
// refresh token after each API token's issue time; format 7 the time of the
// claims (ClaimsAt) at the end. Formats 1 to 6, written before, still
// decode.
const (
	formatV1 = 1
	formatV2 = 2
	formatV3 = 3
	formatV4 = 4
	formatV5 = 5
	formatV6 = 6
	formatV7 = 7
)

const flagEmailVerified = 1

var errCorrupt error = fail.Corrupt

func marshal(s *Session) []byte {
	n := 64 + len(s.ID) + len(s.Provider) + len(s.Issuer) + len(s.SID) + len(s.Subject) + len(s.Name) + len(s.Email) + len(s.Picture) +
		len(s.Claims) + len(s.AccessToken) + len(s.TokenType) + len(s.RefreshToken) + len(s.IDToken) + len(s.Scope)
	b := make([]byte, 0, n)
	b = append(b, formatV7)
	for _, f := range []string{s.ID, s.Provider, s.Issuer, s.SID, s.Subject, s.Name, s.Email, s.Picture} {
		b = appendString(b, f)
	}
	b = appendBytes(b, s.Claims)
	b = appendToken(b, s.AccessToken)
	b = appendString(b, s.TokenType)
	b = appendToken(b, s.RefreshToken)
	b = appendToken(b, s.IDToken)
	b = appendString(b, s.Scope)
	for _, t := range []time.Time{s.Expiry, s.Issued, s.CreatedAt, s.LastSeen} {
		b = appendTime(b, t)
	}
	var flags byte
	if s.EmailVerified {
		flags |= flagEmailVerified
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(s.APITokens)))
	for _, name := range slices.Sorted(maps.Keys(s.APITokens)) {
		t := s.APITokens[name]
		b = appendString(b, name)
		b = appendToken(b, t.AccessToken)
		b = appendString(b, t.TokenType)
		b = appendTime(b, t.Expiry)
		b = appendTime(b, t.Issued)
		b = appendToken(b, t.RefreshToken)
	}
	b = appendBytes(b, s.DPoPKey)
	b = binary.AppendUvarint(b, uint64(len(s.Values)))
	for _, k := range slices.Sorted(maps.Keys(s.Values)) {
		b = appendString(b, k)
		b = appendString(b, s.Values[k])
	}
	return appendTime(b, s.ClaimsAt)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, 0)
	}
	return binary.AppendVarint(b, t.UnixMilli())
}

// appendToken stores a compact JWT (three base64url segments that round-trip
// exactly) as its decoded segments, anything else as plain text.
func appendToken(b []byte, tok string) []byte {
	if parts := strings.Split(tok, "."); len(parts) == 3 {
		var segs [3][]byte
		ok := true
		for i, p := range parts {
			d, err := base64.RawURLEncoding.DecodeString(p)
			if err != nil || base64.RawURLEncoding.EncodeToString(d) != p {
				ok = false
				break
			}
			segs[i] = d
		}
		if ok {
			b = append(b, 1)
			for _, s := range segs {
				b = appendBytes(b, s)
			}
			return b
		}
	}
	b = append(b, 0)
	return appendString(b, tok)
}

type reader struct {
	b   []byte
	err error
	// arena holds the short strings read so far, one allocation for the
	// dozen of a session; its bytes up to len are never written again.
	arena []byte
}

const arenaSize = 512

// frozen is b as a string, without a copy: b must never be written again.
func frozen(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (r *reader) bytes() []byte {
	if r.err != nil {
		return nil
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) {
		r.err = errCorrupt
		return nil
	}
	p := r.b[k : k+int(n)]
	r.b = r.b[k+int(n):]
	return p
}

func (r *reader) string() string {
	p := r.bytes()
	switch {
	case len(p) == 0:
		return ""
	case len(p) > arenaSize/4:
		return string(p) // a long one has its own
	case len(p) > cap(r.arena)-len(r.arena):
		r.arena = make([]byte, 0, arenaSize)
	}
	start := len(r.arena)
	r.arena = append(r.arena, p...)
	return frozen(r.arena[start:])
}

// count reads the number of entries that follow; each takes at least a
// byte, so a count beyond the bytes left is corrupt.
func (r *reader) count() uint64 {
	if r.err != nil {
		return 0
	}
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) {
		r.err = errCorrupt
		return 0
	}
	r.b = r.b[k:]
	return n
}

func (r *reader) time() time.Time {
	if r.err != nil {
		return time.Time{}
	}
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.err = errCorrupt
		return time.Time{}
	}
	r.b = r.b[k:]
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

func (r *reader) token() string {
	if r.err != nil {
		return ""
	}
	if len(r.b) == 0 {
		r.err = errCorrupt
		return ""
	}
	kind := r.b[0]
	r.b = r.b[1:]
	switch kind {
	case 0:
		return r.string()
	case 1:
		a, b, c := r.bytes(), r.bytes(), r.bytes()
		if r.err != nil {
			return ""
		}
		// One buffer, one string: the three segments re-encoded in place.
		enc := base64.RawURLEncoding
		la, lb, lc := enc.EncodedLen(len(a)), enc.EncodedLen(len(b)), enc.EncodedLen(len(c))
		buf := make([]byte, la+lb+lc+2)
		enc.Encode(buf, a)
		buf[la] = '.'
		enc.Encode(buf[la+1:], b)
		buf[la+1+lb] = '.'
		enc.Encode(buf[la+lb+2:], c)
		return frozen(buf)
	}
	r.err = errCorrupt
	return ""
}

func unmarshal(b []byte) (*Session, error) {
	s := new(Session)
	if err := unmarshalInto(s, b); err != nil {
		return nil, err
	}
	return s, nil
}

// unmarshalInto decodes b into s, which it sets whole; on error s is
// left partly set.
func unmarshalInto(s *Session, b []byte) error {
	if len(b) == 0 || b[0] < formatV1 || b[0] > formatV7 {
		return errCorrupt
	}
	r := &reader{b: b[1:]}
	*s = Session{}
	s.ID, s.Provider, s.Issuer, s.SID, s.Subject = r.string(), r.string(), r.string(), r.string(), r.string()
	s.Name, s.Email, s.Picture = r.string(), r.string(), r.string()
	if c := r.bytes(); len(c) > 0 {
		s.Claims = append([]byte(nil), c...)
	}
	s.AccessToken = r.token()
	s.TokenType = r.string()
	s.RefreshToken = r.token()
	s.IDToken = r.token()
	s.Scope = r.string()
	s.Expiry, s.Issued, s.CreatedAt, s.LastSeen = r.time(), r.time(), r.time(), r.time()
	if b[0] >= formatV2 && r.err == nil {
		if len(r.b) == 0 || r.b[0]&^flagEmailVerified != 0 {
			return errCorrupt
		}
		s.EmailVerified = r.b[0]&flagEmailVerified != 0
		r.b = r.b[1:]
	}
	if b[0] >= formatV3 && r.err == nil {
		n := r.count()
		if n > 0 {
			s.APITokens = make(map[string]APIToken, n)
		}
		for range n {
			name := r.string()
			t := APIToken{AccessToken: r.token(), TokenType: r.string()}
			t.Expiry, t.Issued = r.time(), r.time()
			if b[0] >= formatV6 {
				t.RefreshToken = r.token()
			}
			if _, dup := s.APITokens[name]; dup || r.err != nil {
				return errCorrupt
			}
			s.APITokens[name] = t
		}
	}
	if b[0] >= formatV4 && r.err == nil {
		if k := r.bytes(); len(k) > 0 {
			s.DPoPKey = append([]byte(nil), k...)
		}
	}
	if b[0] >= formatV5 && r.err == nil {
		n := r.count()
		if n > 0 {
			s.Values = make(map[string]string, n)
		}
		for range n {
			key, v := r.string(), r.string()
			if _, dup := s.Values[key]; dup || r.err != nil {
				return errCorrupt
			}
			s.Values[key] = v
		}
	}
	if b[0] >= formatV7 && r.err == nil {
		s.ClaimsAt = r.time()
	}
	if r.err != nil || len(r.b) != 0 {
		return errCorrupt
	}
	return nil
}
