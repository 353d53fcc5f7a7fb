package redisstore

import (
	"context"
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

	"github.com/confidant-go/confidant/internal/cookies"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/seal"
	"github.com/confidant-go/confidant/internal/seam"
	"github.com/confidant-go/confidant/session"
)

// Config configures a Store. Zero fields get the defaults written
// beside them.
type Config struct {
	// Client is a single node, Sentinel or Cluster client.
	// Required.
	Client redis.UniversalClient

	// Keys encrypt the sessions in Redis (AES-256-GCM, first seals, all
	// open), so Redis never holds tokens in clear.
	// Required.
	Keys [][]byte

	// Prefix of every Redis key.
	// Default: "confidant:".
	Prefix string

	// Name of the cookie that holds the session ID. A Secure cookie's
	// name gets a prefix: __Host- with Path "/" and no Domain, else
	// __Secure-.
	// Default: "confidant_sid".
	Name string

	// Options are the cookie attributes, as for session.CookieConfig.
	// Default: Path "/", MaxAge the Timeouts' Absolute, HttpOnly,
	// SameSite=Lax.
	Options *sessions.Options

	// Timeouts are the idle and absolute lifetimes. Sessions expire in
	// Redis accordingly and are checked on load.
	// Default: Idle 24h (rolling), Absolute 168h (7 days).
	Timeouts session.Timeouts

	// OpTimeout bounds every Redis operation.
	// Default: 2s.
	OpTimeout time.Duration

	// LockLease is the lease of the per-session refresh lock; the holder
	// renews it every third of the lease for as long as it works, so a slow
	// refresh never loses the lock while its holder is alive. After an
	// instance dies holding it, that session's refresh waits at most that
	// long. On a Cluster or Sentinel group make it
	// longer than a failover (cluster-node-timeout, or the sentinels'
	// down-after-milliseconds, plus a few seconds): renewals fail while the
	// master is away, and a lease that runs out on the promoted replica
	// lets a second instance present the refresh token the first is using.
	// Default: 3s.
	LockLease time.Duration

	// WaitReplicas makes every session write (sign-in with its index
	// entries, refresh, update), every sign-out (Delete, EndSessions) and
	// every refresh lock wait until this many replicas have it (Redis WAIT,
	// up to a quarter of OpTimeout), so a failover that promotes a replica
	// loses neither a session nor a rotated refresh token, and brings back
	// no signed-out session. Set it to 1 on a Cluster or Sentinel group
	// with replicas. A write the replicas do not acknowledge in time still
	// counts (a master that lost its replicas goes on), so this closes the
	// window of asynchronous replication, not a partition longer than the
	// wait.
	// Default: 0 (no wait).
	WaitReplicas int

	// Now is the clock.
	// Default: time.Now.
	Now func() time.Time
}

// Store keeps sessions in Redis: the cookie holds only a random session
// ID (128 bits); the session, encrypted, lives under a key derived from a
// hash of that ID, with a TTL. Writes are compare-and-swap on a version, and
// a per-session lock with a renewed lease lets app instances refresh one at
// a time. Indexes by user and by provider session serve back-channel logout
// and "sign out everywhere". The users' grants of connected APIs
// (middleware.API.Client) live beside the sessions, one hash per user,
// sealed by the middleware. Safe for concurrent use.
type Store struct {
	cfg    Config
	opts   sessions.Options
	cipher *seal.Cipher
	sec    cookies.Security
	app    cookies.App // the sealed sessions' binding

	lagMu   sync.Mutex
	lagging map[string]time.Time // master → until when writes skip WAIT
}

var _ session.Store = (*Store)(nil)

// New validates cfg and returns a Store.
func New(cfg Config) (*Store, error) {
	if cfg.Client == nil {
		return nil, fmt.Errorf("%w: Config.Client is required", fail.SessionConfig)
	}
	c, err := seal.New(cfg.Keys)
	if err != nil {
		return nil, fmt.Errorf("%w: Keys: %w", fail.SessionConfig, err)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "confidant:"
	}
	if cfg.Name == "" {
		cfg.Name = "confidant_sid"
	}
	if err := cookies.CheckName(cfg.Name); err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionConfig, err)
	}
	opts := cookies.Options(cfg.Options)
	cfg.Timeouts = codec.WithDefaults(cfg.Timeouts)
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
	st := &Store{cfg: cfg, opts: opts, cipher: c, lagging: map[string]time.Time{}}
	seal.Share(st, c) // the middleware's flow cookies may use the keys
	st.sec.Forced = opts.Secure
	return st, nil
}

func (s *Store) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.OpTimeout)
}

func unavailable(err error) error { return fmt.Errorf("%w: %w", session.ErrUnavailable, err) }

// failed reports a failed command as session.ErrUnavailable. On a Cluster
// it also has the client reload the slot map: after a failover go-redis
// otherwise keeps sending a dead master's slots to it until a MOVED reply
// or its reload interval (a minute).
func (s *Store) failed(err error) error {
	reloadOnFailure(s.cfg.Client)
	return unavailable(err)
}

func reloadOnFailure(c redis.UniversalClient) {
	if cc, ok := c.(*redis.ClusterClient); ok {
		cc.ReloadState(context.Background())
	}
}

// replicated runs queue's commands in one pipeline on the connection of
// key's master, then WAIT for Config.WaitReplicas replicas: WAIT counts
// the writes of its own connection.
//
// A master whose replicas did not all acknowledge in time (it lost them:
// after a failover the new master has none until the old one comes back)
// is written without WAIT for the next replicaRetry, so that every write
// does not pay the WAIT timeout.
func (s *Store) replicated(ctx context.Context, key string, queue func(redis.Pipeliner)) error {
	var pipe redis.Pipeliner
	node := ""
	if cc, ok := s.cfg.Client.(*redis.ClusterClient); ok {
		m, err := cc.MasterForKey(ctx, key)
		if err != nil {
			return err
		}
		pipe, node = m.Pipeline(), m.Options().Addr
	} else {
		pipe = s.cfg.Client.Pipeline()
	}
	queue(pipe)
	now := time.Now()
	s.lagMu.Lock()
	skip := now.Before(s.lagging[node])
	s.lagMu.Unlock()
	if skip {
		_, err := pipe.Exec(ctx)
		return err
	}
	wait := pipe.Do(ctx, "wait", s.cfg.WaitReplicas, (s.cfg.OpTimeout / 4).Milliseconds())
	_, err := pipe.Exec(ctx)
	if n, werr := wait.Int64(); werr == nil && n < int64(s.cfg.WaitReplicas) {
		s.lagMu.Lock()
		s.lagging[node] = now.Add(replicaRetry)
		s.lagMu.Unlock()
	}
	return err
}

// replicaRetry is how long a master without enough replicas is written
// without WAIT before the next try.
const replicaRetry = 5 * time.Second

func (s *Store) bindOrigin(origin *url.URL, app string) (seam.CookiePolicy, error) {
	if err := s.app.Bind(app); err != nil {
		return seam.CookiePolicy{}, fmt.Errorf("%w: %w", fail.SessionConfig, err)
	}
	secure, err := s.sec.Bind(origin)
	if err != nil {
		return seam.CookiePolicy{}, fmt.Errorf("%w: %w", fail.SessionConfig, err)
	}
	return seam.CookiePolicy{Secure: secure, SameSite: s.opts.SameSite}, nil
}

func (s *Store) cookieName() string { return cookies.Name(s.cfg.Name, s.sec.Secure(), &s.opts) }

func (s *Store) cookieID(r *http.Request) (string, bool) {
	v, ok := cookies.Value(r, s.cookieName())
	if !ok || len(v) < 22 || len(v) > 64 {
		return "", false
	}
	return v, true
}

// Load implements session.Store: one Redis round trip.
func (s *Store) Load(r *http.Request) (*session.Session, error) {
	id, ok := s.cookieID(r)
	if !ok {
		return nil, session.ErrNoSession
	}
	return s.loadID(r.Context(), id)
}

func (s *Store) loadID(ctx context.Context, id string) (*session.Session, error) {
	return s.loadKey(ctx, s.sessionKey(id), func(sess *session.Session) bool { return sess.ID == id })
}

// loadHashed loads the session whose ID hashes to hid (sesskeys.Ref).
func (s *Store) loadHashed(ctx context.Context, hid string) (*session.Session, error) {
	return s.loadKey(ctx, s.hashedKey(hid), func(sess *session.Session) bool { return hash(sess.ID) == hid })
}

// loadKey loads the session at key, which must be the one ours says.
func (s *Store) loadKey(ctx context.Context, key string, ours func(*session.Session) bool) (*session.Session, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	// The fields it needs, not the whole hash (the index keys and the
	// write ID stay in Redis).
	f, err := s.cfg.Client.HMGet(ctx, key, "d", "v", "t").Result()
	if err != nil {
		return nil, s.failed(err)
	}
	d, _ := f[0].(string)
	if d == "" {
		return nil, session.ErrNoSession
	}
	var plain []byte
	if seal.IsBytes(d) {
		plain, err = s.cipher.OpenBytes(d, s.app.AAD(key))
	} else {
		plain, err = s.cipher.Open(d, s.app.AAD(key)) // text: written by an earlier version
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", session.ErrNoSession, fail.InvalidSession)
	}
	sess, err := codec.Unmarshal(plain)
	if err != nil || !ours(sess) {
		return nil, fmt.Errorf("%w: %w", session.ErrNoSession, fail.InvalidSession)
	}
	if t, ok := f[2].(string); ok {
		if ms, err := strconv.ParseInt(t, 10, 64); err == nil && time.UnixMilli(ms).After(sess.LastSeen) {
			sess.LastSeen = time.UnixMilli(ms) // rolled by Touch
		}
	}
	if codec.Expired(s.cfg.Timeouts, sess, s.cfg.Now()) {
		return nil, fmt.Errorf("%w: expired", session.ErrNoSession)
	}
	v, _ := f[1].(string)
	version, _ := strconv.ParseUint(v, 10, 64)
	codec.SetVersion(sess, version)
	return sess, nil
}

// casScript writes a session if its version is the expected one (0: the
// session must not exist) and returns the new version, or -1. ARGV[5]
// names the write (a hash of what the caller asked to store): a write
// retried after its reply was lost (a failover, a dropped connection)
// finds itself applied and succeeds instead of conflicting with itself.
var casScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v')
local expect = tonumber(ARGV[1])
if v and tonumber(v) == expect + 1 and redis.call('HGET', KEYS[1], 'w') == ARGV[5] then
  return expect + 1 -- this very write, applied before: a retry after a lost reply
end
if expect == 0 then
  if v then return -1 end
elseif (not v) or tonumber(v) ~= expect then
  return -1
end
redis.call('HSET', KEYS[1], 'v', expect + 1, 'd', ARGV[2], 'x', ARGV[4], 'w', ARGV[5])
redis.call('HDEL', KEYS[1], 't')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return expect + 1
`)

// write stores sess with compare-and-swap and returns its new version.
func (s *Store) write(ctx context.Context, sess *session.Session) (uint64, error) {
	now := s.cfg.Now()
	cp := *sess
	if cp.CreatedAt.IsZero() {
		cp.CreatedAt = now
	}
	cp.LastSeen = now
	ttl := min(s.cfg.Timeouts.Idle, s.cfg.Timeouts.Absolute-now.Sub(cp.CreatedAt))
	if ttl <= 0 {
		return 0, fmt.Errorf("%w: expired", session.ErrNoSession)
	}
	key := s.sessionKey(cp.ID)
	writeID := hash(string(codec.Marshal(sess)))[:16]
	plain := codec.Marshal(&cp)
	data := s.cipher.SealBytes(plain, s.app.AAD(key))
	index := s.indexKeysOf(&cp)
	ctx, cancel := s.op(ctx)
	defer cancel()
	args := []any{codec.Version(&cp), data, ttl.Milliseconds(), strings.Join(index, " "), writeID}
	var cas *redis.Cmd
	var err error
	if s.cfg.WaitReplicas > 0 {
		err = s.replicated(ctx, key, func(p redis.Pipeliner) { cas = casScript.Eval(ctx, p, []string{key}, args...) })
	} else {
		cas = casScript.Run(ctx, s.cfg.Client, []string{key}, args...)
		err = cas.Err()
	}
	if err != nil {
		return 0, s.failed(err)
	}
	v, err := cas.Int64()
	if err != nil {
		return 0, s.failed(err)
	}
	if v < 0 {
		return 0, session.ErrConflict
	}
	if codec.Version(&cp) == 0 {
		// A new session: index it for back-channel logout and sign-out
		// everywhere, by the hash of its ID, scored by the time it ends
		// at the latest. Entries of sessions past that are pruned at every
		// addition, and an index lives no longer than its newest session.
		// With WaitReplicas, each index waits for its replicas too (on a
		// Cluster they are on other masters): a failover must not lose the
		// entry a back-channel logout will look the session up by.
		hid := hash(cp.ID)
		end := cp.CreatedAt.Add(s.cfg.Timeouts.Absolute)
		err := s.durably(ctx, func(p redis.Pipeliner, ik string) {
			p.ZAdd(ctx, ik, redis.Z{Score: float64(end.UnixMilli()), Member: hid})
			p.ZRemRangeByScore(ctx, ik, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
			p.PExpire(ctx, ik, end.Sub(now))
		}, index...)
		if err != nil {
			return 0, s.failed(err)
		}
	}
	return uint64(v), nil
}

// Save implements session.Store: compare-and-swap on the version sess was
// loaded at (a new session creates). For
// a new session it sets the cookie and deletes the session the request
// carried before, so a sign-in always starts a new session identity.
func (s *Store) Save(w http.ResponseWriter, r *http.Request, sess *session.Session) error {
	if len(sess.ID) < 22 {
		return fmt.Errorf("%w: session ID of %d characters, want at least 22 (128 bits)", fail.SessionConfig, len(sess.ID))
	}
	if _, err := s.write(r.Context(), sess); err != nil {
		return err
	}
	if old, ok := s.cookieID(r); !ok || old != sess.ID {
		if ok {
			s.deleteHashed(r.Context(), hash(old))
		}
		s.setCookie(w, sess.ID, s.opts.MaxAge)
	}
	return nil
}

func (s *Store) update(ctx context.Context, sess *session.Session) (*session.Session, error) {
	if codec.Version(sess) == 0 {
		return nil, fmt.Errorf("%w: Update needs a loaded session", session.ErrConflict)
	}
	v, err := s.write(ctx, sess)
	if err != nil {
		return nil, err
	}
	cp := *sess
	codec.SetVersion(&cp, v)
	return &cp, nil
}

// Delete implements session.Store. A request without the session cookie gets no
// Set-Cookie.
func (s *Store) Delete(w http.ResponseWriter, r *http.Request) error {
	if _, ok := cookies.Value(r, s.cookieName()); !ok {
		return nil
	}
	if id, ok := s.cookieID(r); ok {
		if err := s.deleteHashed(r.Context(), hash(id)); err != nil {
			return err
		}
	}
	s.setCookie(w, "", -1)
	return nil
}

// deleteHashed deletes the session whose ID hashes to hid and its index
// entries.
func (s *Store) deleteHashed(ctx context.Context, hid string) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	key := s.hashedKey(hid)
	x, err := s.cfg.Client.HGet(ctx, key, "x").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return s.failed(err)
	}
	if err := s.durably(ctx, func(p redis.Pipeliner, key string) { p.Del(ctx, key) }, key); err != nil {
		return s.failed(err)
	}
	// An index entry left behind names a session that is gone: harmless,
	// and pruned in time.
	pipe := s.cfg.Client.Pipeline()
	for _, ik := range strings.Fields(x) {
		pipe.ZRem(ctx, ik, hid)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return s.failed(err)
	}
	return nil
}

// durably runs queue's commands for each of keys in one pipeline, or,
// with Config.WaitReplicas, each key's on its master and then waits for
// the replicas (replicated): for the writes a failover must not undo, a
// sign-out above all.
func (s *Store) durably(ctx context.Context, queue func(p redis.Pipeliner, key string), keys ...string) error {
	if s.cfg.WaitReplicas > 0 {
		for _, k := range keys {
			if err := s.replicated(ctx, k, func(p redis.Pipeliner) { queue(p, k) }); err != nil {
				return err
			}
		}
		return nil
	}
	pipe := s.cfg.Client.Pipeline()
	for _, k := range keys {
		queue(pipe, k)
	}
	_, err := pipe.Exec(ctx)
	return err
}

var touchScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 't', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

func (s *Store) ping(ctx context.Context) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	if err := s.cfg.Client.Ping(ctx).Err(); err != nil {
		return s.failed(err)
	}
	return nil
}

// touch records the time of use beside the session and extends its TTL,
// leaving its data and version alone.
func (s *Store) touch(ctx context.Context, sess *session.Session) error {
	now := s.cfg.Now()
	ttl := min(s.cfg.Timeouts.Idle, s.cfg.Timeouts.Absolute-now.Sub(sess.CreatedAt))
	if ttl <= 0 {
		return nil
	}
	ctx, cancel := s.op(ctx)
	defer cancel()
	if err := touchScript.Run(ctx, s.cfg.Client, []string{s.sessionKey(sess.ID)}, now.UnixMilli(), ttl.Milliseconds()).Err(); err != nil {
		return s.failed(err)
	}
	return nil
}

func (s *Store) setCookie(w http.ResponseWriter, value string, maxAge int) {
	secure := s.sec.Secure()
	cookies.Write(w, cookies.Name(s.cfg.Name, secure, &s.opts), value, &s.opts, secure, maxAge, s.cfg.Now())
}

// endSessionsOf ends the sessions indexed under key whose user is subject
// at provider, and leaves the others.
func (s *Store) endSessionsOf(ctx context.Context, key, provider, subject string) (int, error) {
	hids, err := s.cfg.Client.ZRange(ctx, s.indexKey(key), 0, -1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, s.failed(err)
	}
	n := 0
	for _, hid := range hids {
		sess, err := s.loadHashed(ctx, hid)
		if errors.Is(err, session.ErrNoSession) || (err == nil && (sess.Provider != provider || sess.Subject != subject)) {
			continue
		}
		if err != nil {
			return n, err
		}
		if err := s.deleteHashed(ctx, hid); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (s *Store) endSessions(ctx context.Context, keys ...string) (int, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	n := 0
	for _, k := range keys {
		ik := s.indexKey(k)
		hids, err := s.cfg.Client.ZRange(ctx, ik, 0, -1).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return n, s.failed(err)
		}
		for _, hid := range hids {
			key := s.hashedKey(hid)
			var del *redis.IntCmd
			if err := s.durably(ctx, func(p redis.Pipeliner, key string) { del = p.Del(ctx, key) }, key); err != nil {
				return n, s.failed(err)
			}
			n += int(del.Val())
		}
		if len(hids) == 0 {
			continue
		}
		// The entries read, not the index: a session indexed meanwhile
		// (a sign-in during the ending) stays findable.
		members := make([]any, len(hids))
		for i, h := range hids {
			members[i] = h
		}
		if err := s.cfg.Client.ZRem(ctx, ik, members...).Err(); err != nil {
			return n, s.failed(err)
		}
	}
	return n, nil
}
