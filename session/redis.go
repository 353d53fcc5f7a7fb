package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/internal/seal"
)

// RedisConfig configures a RedisStore. Zero fields get the defaults written
// beside them.
type RedisConfig struct {
	// Client is a single node, Sentinel or Cluster client. Required.
	Client redis.UniversalClient

	// Keys encrypt the sessions in Redis (AES-256-GCM, first seals, all
	// open), so Redis never holds tokens in clear. Required.
	Keys [][]byte

	// Prefix of every Redis key. Default "confidant:".
	Prefix string

	// Name of the cookie that holds the session ID. Default "confidant_sid"
	// (with __Host- when Secure).
	Name string

	// Options are the cookie attributes, as for CookieConfig.
	Options *sessions.Options

	// Timeouts: idle (default 24 hours, rolling) and absolute (default 7
	// days). Sessions expire in Redis accordingly and are checked on load.
	Timeouts Timeouts

	// OpTimeout bounds every Redis operation. Default 2 seconds.
	OpTimeout time.Duration

	// LockLease is the lease of the per-session refresh lock; the holder
	// renews it every third of the lease for as long as it works, so a slow
	// refresh never loses the lock while its holder is alive. Default 3
	// seconds.
	LockLease time.Duration

	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// RedisStore keeps sessions in Redis: the cookie holds only a random session
// ID (128 bits); the session, encrypted, lives under a key derived from a
// hash of that ID, with a TTL. Writes are compare-and-swap on a version, and
// a per-session lock with a renewed lease lets app instances refresh one at
// a time. Indexes by user and by provider session serve back-channel logout
// and "sign out everywhere". Safe for concurrent use.
type RedisStore struct {
	cfg    RedisConfig
	opts   sessions.Options
	cipher *seal.Cipher
	sec    cookieSecurity
}

var (
	_ Store       = (*RedisStore)(nil)
	_ SharedStore = (*RedisStore)(nil)
)

// SharedStore is a Store whose sessions live on a server shared by all app
// instances. The middleware uses it to refresh one instance at a time and
// to end sessions from elsewhere (back-channel logout).
type SharedStore interface {
	Store
	// LoadID loads session id (ErrNoSession when gone).
	LoadID(ctx context.Context, id string) (*Session, error)
	// Update writes s if the stored version is still s.Version and returns
	// the stored copy with its new version; ErrConflict otherwise (also
	// when the session was deleted meanwhile).
	Update(ctx context.Context, s *Session) (*Session, error)
	// Lock takes session id's refresh lock, waiting while another holder
	// has it (bounded by ctx), and keeps it until unlock is called. held
	// is done, with cause ErrLockLost, if the lease was lost meanwhile
	// (the holder must not start a refresh then).
	Lock(ctx context.Context, id string) (held context.Context, unlock func(), err error)
	// Touch rolls s's idle timeout without writing s: it never makes a
	// concurrent Update fail.
	Touch(ctx context.Context, s *Session) error
	// EndSessions deletes every session indexed under the keys (UserKey,
	// SIDKey) and reports how many there were.
	EndSessions(ctx context.Context, keys ...string) (int, error)
}

// ErrLockLost is the cause of a refresh lock's context when its lease was
// lost: another instance may hold the lock now.
var ErrLockLost = errors.New("session: refresh lock lost")

// ReplayCache remembers one-time values (a logout token's jti) so that each
// is accepted once; RedisStore and RedisDenyList share it between app
// instances.
type ReplayCache interface {
	// FirstUse records key for ttl and reports whether it was new.
	FirstUse(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// NewRedisStore validates cfg and returns a RedisStore.
func NewRedisStore(cfg RedisConfig) (*RedisStore, error) {
	if cfg.Client == nil {
		return nil, fmt.Errorf("%w: RedisConfig.Client is required", ErrConfig)
	}
	c, err := seal.New(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("%w: Keys: %w", ErrConfig, err)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "confidant:"
	}
	if cfg.Name == "" {
		cfg.Name = "confidant_sid"
	}
	if strings.ContainsAny(cfg.Name, "=;, \t\r\n") || strings.HasPrefix(cfg.Name, "__") {
		return nil, fmt.Errorf("%w: cookie name %q", ErrConfig, cfg.Name)
	}
	opts := sessions.Options{Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if cfg.Options != nil {
		opts = *cfg.Options
		opts.HttpOnly = true
		if opts.Path == "" {
			opts.Path = "/"
		}
		if opts.SameSite == 0 {
			opts.SameSite = http.SameSiteLaxMode
		}
	}
	cfg.Timeouts.defaults()
	if opts.MaxAge == 0 {
		opts.MaxAge = int(cfg.Timeouts.Absolute / time.Second)
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = 2 * time.Second
	}
	if cfg.LockLease <= 0 {
		cfg.LockLease = 3 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Keys = nil
	st := &RedisStore{cfg: cfg, opts: opts, cipher: c}
	st.sec.forced = opts.Secure
	return st, nil
}

// Cipher returns the store's cipher (for the login flow cookies).
func (s *RedisStore) Cipher() *seal.Cipher { return s.cipher }

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:16])
}

// The session's keys share a hash tag, so they live in one Cluster slot.
// Redis holds only hashes of session IDs: nothing in it works as a cookie.
func (s *RedisStore) sessionKey(id string) string        { return s.hashedKey(hash(id)) }
func (s *RedisStore) hashedKey(hid string) string        { return s.cfg.Prefix + "{" + hid + "}:s" }
func (s *RedisStore) lockKey(id string) string           { return s.cfg.Prefix + "{" + hash(id) + "}:l" }
func (s *RedisStore) indexKey(key string) string         { return s.cfg.Prefix + "i:" + hash(key) }
func (s *RedisStore) replayKey(key string) string        { return s.cfg.Prefix + "r:" + hash(key) }
func (s *RedisStore) indexKeysOf(sess *Session) []string { return mapKeys(indexKeys(sess), s.indexKey) }

func mapKeys(keys []string, f func(string) string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = f(k)
	}
	return out
}

func (s *RedisStore) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.OpTimeout)
}

func unavailable(err error) error { return fmt.Errorf("%w: %w", ErrUnavailable, err) }

// BindOrigin implements OriginBinder.
func (s *RedisStore) BindOrigin(origin *url.URL) (CookiePolicy, error) {
	return s.sec.bind(origin, s.opts.SameSite)
}

func (s *RedisStore) cookieName() string { return CookieName(s.cfg.Name, s.sec.secure(), &s.opts) }

func (s *RedisStore) cookieID(r *http.Request) (string, bool) {
	v, ok := cookieValue(r, s.cookieName())
	if !ok || len(v) < 22 || len(v) > 64 {
		return "", false
	}
	return v, true
}

// Load implements Store: one Redis round trip.
func (s *RedisStore) Load(r *http.Request) (*Session, error) {
	id, ok := s.cookieID(r)
	if !ok {
		return nil, ErrNoSession
	}
	return s.LoadID(r.Context(), id)
}

// LoadID implements SharedStore.
func (s *RedisStore) LoadID(ctx context.Context, id string) (*Session, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	key := s.sessionKey(id)
	m, err := s.cfg.Client.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	if len(m) == 0 {
		return nil, ErrNoSession
	}
	plain, err := s.cipher.Open(m["d"], []byte(key))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoSession, ErrInvalidSession)
	}
	sess, err := unmarshal(plain)
	if err != nil || sess.ID != id {
		return nil, fmt.Errorf("%w: %w", ErrNoSession, ErrInvalidSession)
	}
	if t, err := strconv.ParseInt(m["t"], 10, 64); err == nil && time.UnixMilli(t).After(sess.LastSeen) {
		sess.LastSeen = time.UnixMilli(t) // rolled by Touch
	}
	if s.cfg.Timeouts.expired(sess, s.cfg.Now()) {
		return nil, fmt.Errorf("%w: expired", ErrNoSession)
	}
	sess.Version, _ = strconv.ParseUint(m["v"], 10, 64)
	sess.denyKeys = DenyKeys(sess)
	return sess, nil
}

// casScript writes a session if its version is the expected one (0: the
// session must not exist) and returns the new version, or -1.
var casScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v')
local expect = tonumber(ARGV[1])
if expect == 0 then
  if v then return -1 end
elseif (not v) or tonumber(v) ~= expect then
  return -1
end
redis.call('HSET', KEYS[1], 'v', expect + 1, 'd', ARGV[2], 'x', ARGV[4])
redis.call('HDEL', KEYS[1], 't')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return expect + 1
`)

// write stores sess with compare-and-swap and returns the size stored.
func (s *RedisStore) write(ctx context.Context, sess *Session) (int, error) {
	_, n, err := s.writeV(ctx, sess)
	return n, err
}

// writeV stores sess with compare-and-swap and returns its new version and
// the size stored.
func (s *RedisStore) writeV(ctx context.Context, sess *Session) (uint64, int, error) {
	now := s.cfg.Now()
	cp := *sess
	if cp.CreatedAt.IsZero() {
		cp.CreatedAt = now
	}
	cp.LastSeen = now
	ttl := min(s.cfg.Timeouts.Idle, s.cfg.Timeouts.Absolute-now.Sub(cp.CreatedAt))
	if ttl <= 0 {
		return 0, 0, fmt.Errorf("%w: expired", ErrNoSession)
	}
	key := s.sessionKey(cp.ID)
	data := s.cipher.Seal(marshal(&cp), []byte(key))
	index := s.indexKeysOf(&cp)
	ctx, cancel := s.op(ctx)
	defer cancel()
	v, err := casScript.Run(ctx, s.cfg.Client, []string{key}, cp.Version, data, ttl.Milliseconds(), strings.Join(index, " ")).Int64()
	if err != nil {
		return 0, 0, unavailable(err)
	}
	if v < 0 {
		return 0, 0, ErrConflict
	}
	if cp.Version == 0 {
		// A new session: index it for back-channel logout and sign-out
		// everywhere, by the hash of its ID, scored by the time it ends
		// at the latest. Entries of sessions past that are pruned at every
		// addition, and an index lives no longer than its newest session.
		hid := hash(cp.ID)
		end := cp.CreatedAt.Add(s.cfg.Timeouts.Absolute)
		pipe := s.cfg.Client.Pipeline()
		for _, ik := range index {
			pipe.ZAdd(ctx, ik, redis.Z{Score: float64(end.UnixMilli()), Member: hid})
			pipe.ZRemRangeByScore(ctx, ik, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
			pipe.PExpire(ctx, ik, end.Sub(now))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return 0, 0, unavailable(err)
		}
	}
	return uint64(v), len(data), nil
}

// Save implements Store: compare-and-swap on sess.Version (0 creates). For
// a new session it sets the cookie and deletes the session the request
// carried before, so a sign-in always starts a new session identity.
func (s *RedisStore) Save(w http.ResponseWriter, r *http.Request, sess *Session) error {
	_, err := s.SaveStats(w, r, sess)
	return err
}

// SaveStats implements StatsSaver.
func (s *RedisStore) SaveStats(w http.ResponseWriter, r *http.Request, sess *Session) (SaveStats, error) {
	if len(sess.ID) < 22 {
		return SaveStats{}, fmt.Errorf("%w: session ID of %d characters, want at least 22 (128 bits)", ErrConfig, len(sess.ID))
	}
	n, err := s.write(r.Context(), sess)
	if err != nil {
		return SaveStats{}, err
	}
	stats := SaveStats{Store: "redis", Bytes: n}
	if old, ok := s.cookieID(r); !ok || old != sess.ID {
		if ok {
			s.deleteHashed(r.Context(), hash(old))
		}
		s.setCookie(w, r, sess.ID, s.opts.MaxAge)
		stats.Cookies = 1
	}
	return stats, nil
}

// Update implements SharedStore.
func (s *RedisStore) Update(ctx context.Context, sess *Session) (*Session, error) {
	if sess.Version == 0 {
		return nil, fmt.Errorf("%w: Update needs a loaded session", ErrConflict)
	}
	v, _, err := s.writeV(ctx, sess)
	if err != nil {
		return nil, err
	}
	cp := *sess
	cp.Version = v
	return &cp, nil
}

// Delete implements Store. A request without the session cookie gets no
// Set-Cookie.
func (s *RedisStore) Delete(w http.ResponseWriter, r *http.Request) error {
	if _, ok := cookieValue(r, s.cookieName()); !ok {
		return nil
	}
	if id, ok := s.cookieID(r); ok {
		if err := s.deleteHashed(r.Context(), hash(id)); err != nil {
			return err
		}
	}
	s.setCookie(w, r, "", -1)
	return nil
}

// deleteHashed deletes the session whose ID hashes to hid and its index
// entries.
func (s *RedisStore) deleteHashed(ctx context.Context, hid string) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	key := s.hashedKey(hid)
	x, err := s.cfg.Client.HGet(ctx, key, "x").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return unavailable(err)
	}
	pipe := s.cfg.Client.Pipeline()
	for _, ik := range strings.Fields(x) {
		pipe.ZRem(ctx, ik, hid)
	}
	pipe.Del(ctx, key)
	if _, err := pipe.Exec(ctx); err != nil {
		return unavailable(err)
	}
	return nil
}

var touchScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 't', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// Ping reports whether Redis answers (for a readiness check).
func (s *RedisStore) Ping(ctx context.Context) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	if err := s.cfg.Client.Ping(ctx).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// Touch implements SharedStore: it records the time of use beside the
// session and extends its TTL, leaving its data and version alone.
func (s *RedisStore) Touch(ctx context.Context, sess *Session) error {
	now := s.cfg.Now()
	ttl := min(s.cfg.Timeouts.Idle, s.cfg.Timeouts.Absolute-now.Sub(sess.CreatedAt))
	if ttl <= 0 {
		return nil
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	if err := touchScript.Run(ctx, s.cfg.Client, []string{s.sessionKey(sess.ID)}, now.UnixMilli(), ttl.Milliseconds()).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// FirstUse implements ReplayCache.
func (s *RedisStore) FirstUse(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return firstUse(ctx, s.cfg.Client, s.replayKey(key), ttl, s.cfg.OpTimeout)
}

func firstUse(ctx context.Context, c redis.UniversalClient, key string, ttl, timeout time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ok, err := c.SetNX(ctx, key, 1, ttl).Result()
	if err != nil {
		return false, unavailable(err)
	}
	return ok, nil
}

func (s *RedisStore) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	secure := s.sec.secure()
	c := sessions.NewCookie(CookieName(s.cfg.Name, secure, &s.opts), value, &s.opts)
	c.Secure, c.HttpOnly, c.MaxAge = secure, true, maxAge
	if maxAge < 0 {
		c.Expires = time.Unix(1, 0)
	} else if maxAge > 0 {
		c.Expires = s.cfg.Now().Add(time.Duration(maxAge) * time.Second)
	}
	setCookie(w, c)
}

// MaxLifetime implements Lifetimer: the absolute timeout.
func (s *RedisStore) MaxLifetime() time.Duration { return s.cfg.Timeouts.Absolute }

// NeedsTouch implements Toucher.
func (s *RedisStore) NeedsTouch(sess *Session, now time.Time) bool {
	return now.Sub(sess.LastSeen) > s.cfg.Timeouts.touchEvery()
}

var (
	renewScript  = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`)
	unlockScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)
)

// Lock implements SharedStore. The lease is renewed every LockLease/3 until
// unlock; if the holder dies, the lock frees itself after one lease. A
// renewal that finds the lock gone (the lease ran out, say while Redis was
// unreachable) ends held with cause ErrLockLost.
func (s *RedisStore) Lock(ctx context.Context, id string) (context.Context, func(), error) {
	key := s.lockKey(id)
	token := rand.Text()
	wait := 10 * time.Millisecond
	for {
		octx, cancel := s.op(ctx)
		ok, err := s.cfg.Client.SetNX(octx, key, token, s.cfg.LockLease).Result()
		cancel()
		if err != nil {
			return nil, nil, unavailable(err)
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("%w: waiting for the refresh lock: %w", ErrUnavailable, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 100*time.Millisecond)
	}
	held, lost := context.WithCancelCause(ctx)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.cfg.LockLease / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				octx, cancel := s.op(context.Background())
				n, err := renewScript.Run(octx, s.cfg.Client, []string{key}, token, s.cfg.LockLease.Milliseconds()).Int64()
				cancel()
				if err == nil && n == 0 {
					lost(ErrLockLost)
					return
				}
			}
		}
	}()
	var once sync.Once
	return held, func() {
		once.Do(func() {
			close(stop)
			<-done
			lost(context.Canceled)
			octx, cancel := s.op(context.Background())
			unlockScript.Run(octx, s.cfg.Client, []string{key}, token)
			cancel()
		})
	}, nil
}

// EndSessions implements SharedStore.
func (s *RedisStore) EndSessions(ctx context.Context, keys ...string) (int, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	n := 0
	for _, k := range keys {
		ik := s.indexKey(k)
		hids, err := s.cfg.Client.ZRange(ctx, ik, 0, -1).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return n, unavailable(err)
		}
		for _, hid := range hids {
			d, err := s.cfg.Client.Del(ctx, s.hashedKey(hid)).Result()
			if err != nil {
				return n, unavailable(err)
			}
			n += int(d)
		}
		if err := s.cfg.Client.Del(ctx, ik).Err(); err != nil {
			return n, unavailable(err)
		}
	}
	return n, nil
}

// RedisDenyList is a DenyList in Redis, shared by app instances that use
// cookie sessions.
type RedisDenyList struct {
	Client redis.UniversalClient
	Prefix string // default "confidant:deny:"
}

func (d *RedisDenyList) key(k string) string {
	p := d.Prefix
	if p == "" {
		p = "confidant:deny:"
	}
	return p + hash(k)
}

// Deny implements DenyList.
func (d *RedisDenyList) Deny(ctx context.Context, key string, at time.Time, ttl time.Duration) error {
	if err := d.Client.Set(ctx, d.key(key), at.UnixMilli(), ttl).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// FirstUse implements ReplayCache.
func (d *RedisDenyList) FirstUse(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return firstUse(ctx, d.Client, d.key("replay\x00"+key), ttl, 2*time.Second)
}

// DeniedAt implements DenyList.
func (d *RedisDenyList) DeniedAt(ctx context.Context, keys ...string) (time.Time, error) {
	rk := make([]string, len(keys))
	for i, k := range keys {
		rk[i] = d.key(k)
	}
	vals, err := d.Client.MGet(ctx, rk...).Result()
	if err != nil {
		return time.Time{}, unavailable(err)
	}
	var latest time.Time
	for _, v := range vals {
		if s, ok := v.(string); ok {
			if ms, err := strconv.ParseInt(s, 10, 64); err == nil && time.UnixMilli(ms).After(latest) {
				latest = time.UnixMilli(ms)
			}
		}
	}
	return latest, nil
}
