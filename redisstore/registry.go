package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// registry keeps, for each user, a hash of what the middleware writes to
// list the user's sessions (sealed by it; opaque here): one key per user,
// which lives as long as its newest entry may.
type registry struct {
	c      redis.UniversalClient
	prefix string
}

func (g registry) key(user string) string { return g.prefix + "u:" + hash(user) }

func (g registry) put(ctx context.Context, user, field string, value []byte, ttl time.Duration) error {
	pipe := g.c.Pipeline()
	k := g.key(user)
	pipe.HSet(ctx, k, field, value)
	pipe.PExpire(ctx, k, ttl)
	if _, err := pipe.Exec(ctx); err != nil {
		reloadOnFailure(g.c)
		return unavailable(err)
	}
	return nil
}

func (g registry) entries(ctx context.Context, user string) (map[string][]byte, error) {
	m, err := g.c.HGetAll(ctx, g.key(user)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		reloadOnFailure(g.c)
		return nil, unavailable(err)
	}
	out := make(map[string][]byte, len(m))
	for f, v := range m {
		out[f] = []byte(v)
	}
	return out, nil
}

func (g registry) remove(ctx context.Context, user string, fields ...string) error {
	var err error
	if len(fields) == 0 {
		err = g.c.Del(ctx, g.key(user)).Err()
	} else {
		err = g.c.HDel(ctx, g.key(user), fields...).Err()
	}
	if err != nil {
		reloadOnFailure(g.c)
		return unavailable(err)
	}
	return nil
}
