package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

func (s *Store) firstUse(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return firstUse(ctx, s.cfg.Client, s.replayKey(key), ttl, s.cfg.OpTimeout)
}

func (s *Store) forget(ctx context.Context, key string) error {
	return forget(ctx, s.cfg.Client, s.replayKey(key), s.cfg.OpTimeout)
}

func (s *Store) seen(ctx context.Context, key string) (bool, error) {
	return seen(ctx, s.cfg.Client, s.replayKey(key), s.cfg.OpTimeout)
}

func seen(ctx context.Context, c redis.UniversalClient, key string, timeout time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	n, err := c.Exists(ctx, key).Result()
	if err != nil {
		reloadOnFailure(c)
		return false, unavailable(err)
	}
	return n == 1, nil
}

func forget(ctx context.Context, c redis.UniversalClient, key string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.Del(ctx, key).Err(); err != nil {
		reloadOnFailure(c)
		return unavailable(err)
	}
	return nil
}

func firstUse(ctx context.Context, c redis.UniversalClient, key string, ttl, timeout time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ok, err := c.SetNX(ctx, key, 1, ttl).Result()
	if err != nil {
		reloadOnFailure(c)
		return false, unavailable(err)
	}
	return ok, nil
}

// DenyList is a session.DenyList in Redis, shared by app instances that use
// cookie sessions. The middleware also keeps in it the logout tokens it
// has seen (a replay cache), and coordinates refreshes through it: one
// refresh per session across instances, and the newest result for
// requests that still carry the cookie from before it. The users' grants of
// connected APIs (middleware.API.Client) are kept in it too, under its
// Prefix. Safe for concurrent use.
type DenyList struct {
	Client redis.UniversalClient
	Prefix string // default "confidant:deny:"
	// LockLease is the lease of a session's refresh lock, renewed while
	// the refresh runs (see Config.LockLease). Default 3 s.
	LockLease time.Duration
}

func (d *DenyList) key(k string) string {
	p := d.Prefix
	if p == "" {
		p = "confidant:deny:"
	}
	return p + hash(k)
}

// Deny implements session.DenyList.
func (d *DenyList) Deny(ctx context.Context, key string, at time.Time, ttl time.Duration) error {
	if err := d.Client.Set(ctx, d.key(key), at.UnixMilli(), ttl).Err(); err != nil {
		reloadOnFailure(d.Client)
		return unavailable(err)
	}
	return nil
}

func (d *DenyList) firstUse(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return firstUse(ctx, d.Client, d.key("replay\x00"+key), ttl, 2*time.Second)
}

func (d *DenyList) seen(ctx context.Context, key string) (bool, error) {
	return seen(ctx, d.Client, d.key("replay\x00"+key), 2*time.Second)
}

func (d *DenyList) forget(ctx context.Context, key string) error {
	return forget(ctx, d.Client, d.key("replay\x00"+key), 2*time.Second)
}

// DeniedAt implements session.DenyList. The keys are read in one pipeline
// of GETs, not one MGET: a session's keys (its ID, sid, user) are in
// different slots on a Cluster, where MGET across slots is refused
// (CROSSSLOT); the Cluster client sends each node its GETs at once.
func (d *DenyList) DeniedAt(ctx context.Context, keys ...string) (time.Time, error) {
	each, err := d.deniedEach(ctx, keys)
	var latest time.Time
	for _, at := range each {
		if at.After(latest) {
			latest = at
		}
	}
	return latest, err
}

// deniedEach is the time recorded for each of keys (zero: none), in one
// pipeline.
func (d *DenyList) deniedEach(ctx context.Context, keys []string) ([]time.Time, error) {
	pipe := d.Client.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Get(ctx, d.key(k))
	}
	pipe.Exec(ctx) // each command's error is read below
	out := make([]time.Time, len(keys))
	for i, c := range cmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			reloadOnFailure(d.Client)
			return nil, unavailable(err)
		}
		if ms, err := c.Int64(); err == nil {
			out[i] = time.UnixMilli(ms)
		}
	}
	return out, nil
}

func (d *DenyList) lock(ctx context.Context, id string) (context.Context, func(), error) {
	ttl := d.LockLease
	if ttl <= 0 {
		ttl = 3 * time.Second
	}
	key := d.key("lock\x00" + id)
	l := lease{client: d.Client, key: key, ttl: ttl, opTimeout: 2 * time.Second,
		setNX: func(ctx context.Context, token string) (bool, error) {
			return d.Client.SetNX(ctx, key, token, ttl).Result()
		}}
	return l.acquire(ctx)
}

// result holds a session sealed by the middleware for this purpose alone
// (it does not open as a cookie), under a hash of the session ID.
func (d *DenyList) result(ctx context.Context, id string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	b, err := d.Client.Get(ctx, d.key("result\x00"+id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		reloadOnFailure(d.Client)
		return nil, unavailable(err)
	}
	return b, nil
}

func (d *DenyList) setResult(ctx context.Context, id string, sealed []byte, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := d.Client.Set(ctx, d.key("result\x00"+id), sealed, ttl).Err(); err != nil {
		reloadOnFailure(d.Client)
		return unavailable(err)
	}
	return nil
}
