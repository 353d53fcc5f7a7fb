package session

import (
	"cmp"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gorilla/sessions"

	"github.com/confidant-go/confidant/internal/cookies"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/seal"
)

// CookieConfig configures a CookieStore. Zero fields get the defaults
// written beside them.
type CookieConfig struct {
	// Keys are 32-byte AES-256 keys. The first seals new cookies; all open
	// existing ones. To rotate, put a new key first and drop the oldest
	// once cookies sealed with it have expired.
	// Required.
	Keys [][]byte

	// Name is the cookie name. A Secure cookie's name gets a prefix:
	// __Host- with Path "/" and no Domain, else __Secure-.
	// Default: "confidant".
	Name string

	// Options are the cookie attributes, as in gorilla/sessions. HttpOnly
	// is always set (the cookie holds tokens). Secure comes from the app's
	// origin (https, or Options.Secure; middleware.New binds the store to
	// it), never from a request. MaxAge is also enforced on the server: an
	// older session does not load. SameSite=Strict works with the
	// middleware, which lands cross-site navigations through a same-site
	// page (one more round trip for them). Path "/" and SameSite=Lax
	// replace zero ones in Options of the app's own.
	// Default: Path "/", MaxAge 7 days, HttpOnly, SameSite=Lax.
	Options *sessions.Options

	// MaxSize is the budget, in bytes, for all of the session's cookie
	// values together. Save fails with ErrTooLarge beyond it.
	// Default: 8000.
	MaxSize int

	// ChunkSize is the largest value of one cookie; a larger session is
	// split into numbered cookies (name, name.1, name.2, …). The default
	// keeps each Set-Cookie line under the 4096-byte browser limit.
	// Default: 3800; at most 3900.
	ChunkSize int

	// Timeouts are the idle and absolute lifetimes, enforced on load. The
	// absolute one is at most Options.MaxAge, after which the browser drops
	// the cookie.
	// Default: Idle 24h (rolling), Absolute 168h (7 days).
	Timeouts Timeouts

	// CacheSize bounds the cache of cookies already verified: a request
	// that carries the exact bytes of a cookie seen before (compared in
	// full) skips decryption and decoding; timeouts are still checked on
	// every request.
	// Default: 4096 (cookies); negative disables the cache.
	CacheSize int

	// Now is the clock.
	// Default: time.Now.
	Now func() time.Time
}

// maxChunkSize leaves room, within the 4096 bytes a browser keeps per
// cookie, for the name (with prefix and chunk number) and the attributes.
const maxChunkSize = 3900

// CookieStore keeps the whole session in encrypted cookies. Safe for
// concurrent use.
type CookieStore struct {
	cfg    CookieConfig
	opts   sessions.Options
	cipher *seal.Cipher
	sec    cookies.Security

	// Names and chunk names for plain and Secure cookies, computed once:
	// the hot path builds no strings.
	names  [2][]string               // [secure][chunk] → cookie name
	bases  [2]string                 // the sealed sessions' AAD, by Secure
	app    cookies.App               // the app they are bound to
	aads   atomic.Pointer[[2][]byte] // bases bound to app, made once
	caches [2]*verifiedCache
}

var _ Store = (*CookieStore)(nil)

// NewCookieStore validates cfg and returns a CookieStore.
func NewCookieStore(cfg CookieConfig) (*CookieStore, error) {
	c, err := seal.New(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("%w: Keys: %w", fail.SessionConfig, err)
	}
	if cfg.Name == "" {
		cfg.Name = "confidant"
	}
	if err := cookies.CheckName(cfg.Name); err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionConfig, err)
	}
	opts := cookies.Options(cfg.Options)
	if cfg.Options == nil {
		opts.MaxAge = 7 * 24 * 3600
	}
	if cfg.ChunkSize < 0 || cfg.MaxSize < 0 || cfg.Timeouts.Idle < 0 || cfg.Timeouts.Absolute < 0 {
		return nil, fmt.Errorf("%w: negative ChunkSize, MaxSize or Timeouts; leave them zero for the defaults", fail.SessionConfig)
	}
	if cfg.ChunkSize > maxChunkSize {
		return nil, fmt.Errorf("%w: ChunkSize %d: browsers keep at most 4096 bytes per cookie, name and attributes included; use at most %d", fail.SessionConfig, cfg.ChunkSize, maxChunkSize)
	}
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = 3800
	}
	if cfg.MaxSize == 0 {
		cfg.MaxSize = 8000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Timeouts = cfg.Timeouts.withDefaults()
	if opts.MaxAge > 0 {
		// The browser drops the cookie after MaxAge anyway.
		cfg.Timeouts.Absolute = min(cfg.Timeouts.Absolute, time.Duration(opts.MaxAge)*time.Second)
	}
	cfg.Keys = nil // held by the cipher only
	st := &CookieStore{cfg: cfg, opts: opts, cipher: c}
	seal.Share(st, c) // the middleware's flow cookies may use the keys
	st.sec.Forced = opts.Secure
	for i, secure := range []bool{false, true} {
		base := cookies.Name(cfg.Name, secure, &opts)
		for n := range st.maxChunks() {
			name := base
			if n > 0 {
				name += "." + strconv.Itoa(n)
			}
			st.names[i] = append(st.names[i], name)
		}
		st.bases[i] = "confidant/session/" + base
		if cfg.CacheSize >= 0 {
			st.caches[i] = newVerifiedCache(cmp.Or(cfg.CacheSize, 4096))
		}
	}
	st.aads.Store(&[2][]byte{[]byte(st.bases[0]), []byte(st.bases[1])})
	return st, nil
}

func (s *CookieStore) name() (string, bool) {
	secure := s.sec.Secure()
	return s.names[b2i(secure)][0], secure
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *CookieStore) maxChunks() int { return s.cfg.MaxSize/s.cfg.ChunkSize + 2 }

// Load implements Store.
func (s *CookieStore) Load(r *http.Request) (*Session, error) {
	sec := b2i(s.sec.Secure())
	names := s.names[sec]
	value, ok := cookies.Value(r, names[0])
	if !ok {
		if s.sealedUnbound(r) {
			return nil, errSealedUnbound
		}
		return nil, ErrNoSession
	}
	if next, ok := cookies.Value(r, names[1]); ok {
		value += next
		for _, n := range names[2:] {
			c, ok := cookies.Value(r, n)
			if !ok {
				break
			}
			value += c
		}
	}
	if len(value) > s.cfg.MaxSize {
		return nil, fmt.Errorf("%w: %w", ErrNoSession, fail.InvalidSession)
	}
	cache := s.caches[sec]
	sess := cache.get(value)
	if sess == nil {
		plain, err := s.cipher.Open(value, s.aads.Load()[sec])
		if err != nil {
			if s.sealedUnbound(r) {
				return nil, errSealedUnbound
			}
			return nil, fmt.Errorf("%w: %w", ErrNoSession, fail.InvalidSession)
		}
		if sess, err = unmarshal(plain); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoSession, fail.InvalidSession)
		}
		sess.denyKeys = denyKeys(sess)
		cache.put(value, sess)
	}
	now := s.cfg.Now()
	if s.cfg.Timeouts.expired(sess, now) {
		return nil, fmt.Errorf("%w: expired", ErrNoSession)
	}
	return sess, nil
}

// sealedUnbound reports whether r carries a session cookie that this store
// sealed before it was bound to its app (under the name an unbound store
// uses, the Secure one, or the other): refused all the same, but named.
// It costs a failed request at most two more decryptions.
func (s *CookieStore) sealedUnbound(r *http.Request) bool {
	if len(s.aads.Load()[0]) == len(s.bases[0]) || r.Header.Get("Cookie") == "" {
		return false // not bound (nothing was sealed otherwise), or no cookie at all
	}
	for sec := range 2 {
		v, ok := cookies.Value(r, s.names[sec][0])
		if !ok {
			continue
		}
		for _, n := range s.names[sec][1:] {
			c, ok := cookies.Value(r, n)
			if !ok {
				break
			}
			v += c
		}
		if len(v) > s.cfg.MaxSize {
			continue
		}
		if _, err := s.cipher.Open(v, []byte(s.bases[sec])); err == nil {
			return true
		}
	}
	return false
}

// errSealedUnbound is the Load error of a cookie that this store sealed
// before it was bound to its app: a session saved (confidanttest.SignedIn)
// before middleware.New, which no app accepts.
var errSealedUnbound error = fail.SealedUnbound

// Save implements Store. The stored copy gets LastSeen set to now, and
// CreatedAt when unset; sess itself is not modified (it may be shared by
// concurrent requests). A session larger than MaxSize is not written and
// gives ErrTooLarge.
func (s *CookieStore) Save(w http.ResponseWriter, r *http.Request, sess *Session) error {
	now := s.cfg.Now()
	cp := *sess
	if cp.CreatedAt.IsZero() {
		cp.CreatedAt = now
	}
	cp.LastSeen = now
	name, secure := s.name()
	value := s.cipher.Seal(marshal(&cp), s.aads.Load()[b2i(secure)])
	if len(value) > s.cfg.MaxSize {
		return fmt.Errorf("%w: %d bytes encoded, budget %d (MaxSize): ask for fewer scopes and claims, leave FetchUserInfo off, or keep sessions server-side with redisstore.Store", ErrTooLarge, len(value), s.cfg.MaxSize)
	}
	n := 0
	for len(value) > 0 {
		part := value[:min(len(value), s.cfg.ChunkSize)]
		value = value[len(part):]
		cname := name
		if n > 0 {
			cname += "." + strconv.Itoa(n)
		}
		s.writeCookie(w, cname, part, secure, s.opts.MaxAge)
		n++
	}
	s.expireChunks(w, r, name, n, secure)
	return nil
}

// Delete implements Store: it expires every chunk the request carries. A
// request without the session cookie gets no Set-Cookie.
func (s *CookieStore) Delete(w http.ResponseWriter, r *http.Request) error {
	name, secure := s.name()
	if _, ok := cookies.Value(r, name); !ok {
		return nil
	}
	s.writeCookie(w, name, "", secure, -1)
	s.expireChunks(w, r, name, 1, secure)
	return nil
}

// expireChunks deletes chunk cookies from index from on that the request
// still carries (left over from a larger session).
func (s *CookieStore) expireChunks(w http.ResponseWriter, r *http.Request, name string, from int, secure bool) {
	for _, cname := range s.names[b2i(secure)][max(from, 1):] {
		if _, ok := cookies.Value(r, cname); !ok {
			break
		}
		s.writeCookie(w, cname, "", secure, -1)
	}
}

func (s *CookieStore) writeCookie(w http.ResponseWriter, name, value string, secure bool, maxAge int) {
	cookies.Write(w, name, value, &s.opts, secure, maxAge, s.cfg.Now())
}
