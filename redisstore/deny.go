package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// FirstUse implements session.ReplayCache.
func (s *Store) FirstUse(ctx context.Context, key string, ttl time.Duration) (bool, error) {
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

// DenyList is a session.DenyList in Redis, shared by app instances that use
// cookie sessions.
type DenyList struct {
	Client redis.UniversalClient
	Prefix string // default "confidant:deny:"
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
		return unavailable(err)
	}
	return nil
}

// FirstUse implements session.ReplayCache.
func (d *DenyList) FirstUse(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return firstUse(ctx, d.Client, d.key("replay\x00"+key), ttl, 2*time.Second)
}

// DeniedAt implements session.DenyList.
func (d *DenyList) DeniedAt(ctx context.Context, keys ...string) (time.Time, error) {
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
