package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// A user's grants (the tokens of the APIs they connected, kept for them and
// not for a browser) live in one Redis hash per user, a field per API, so
// that every command touches one key (one Cluster slot) and listing them is
// one HKEYS. The values are sealed by the middleware: opaque here. The key
// names a hash of the user's reference, which is itself a hash: nothing in
// Redis names the user.

// swapScript sets field ARGV[1] of KEYS[1] to ARGV[3] ("" deletes it) if it
// still holds ARGV[2] ("": if it is absent), and reports whether it did.
var swapScript = redis.NewScript(swapSrc)

const swapSrc = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (cur == false and ARGV[2] == '') or cur == ARGV[2] then
  if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
  return 1
end
return 0`

func (s *Store) grantKey(user string) string { return hashTagged(s.cfg.Prefix, user, ":g") }

func (d *DenyList) grantKey(user string) string { return d.key("grants\x00" + user) }

func grantGet(ctx context.Context, c redis.UniversalClient, key, api string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b, err := c.HGet(ctx, key, api).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		reloadOnFailure(c)
		return nil, unavailable(err)
	}
	return b, nil
}

func grantList(ctx context.Context, c redis.UniversalClient, key string, timeout time.Duration) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	names, err := c.HKeys(ctx, key).Result()
	if err != nil {
		reloadOnFailure(c)
		return nil, unavailable(err)
	}
	return names, nil
}

func grantSwap(ctx context.Context, c redis.UniversalClient, key, api string, old, new []byte, timeout time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	n, err := swapScript.Run(ctx, c, []string{key}, api, old, new).Int()
	if err != nil {
		reloadOnFailure(c)
		return false, unavailable(err)
	}
	return n == 1, nil
}

func grantSet(ctx context.Context, c redis.UniversalClient, key, api string, sealed []byte, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.HSet(ctx, key, api, sealed).Err(); err != nil {
		reloadOnFailure(c)
		return unavailable(err)
	}
	return nil
}

func (s *Store) grantSet(ctx context.Context, user, api string, sealed []byte) error {
	key := s.grantKey(user)
	if s.cfg.WaitReplicas == 0 {
		return grantSet(ctx, s.cfg.Client, key, api, sealed, s.cfg.OpTimeout)
	}
	octx, cancel := s.op(ctx)
	defer cancel()
	if err := s.replicated(octx, key, func(p redis.Pipeliner) { p.HSet(octx, key, api, sealed) }); err != nil {
		return s.failed(err)
	}
	return nil
}

func (d *DenyList) grantSet(ctx context.Context, user, api string, sealed []byte) error {
	return grantSet(ctx, d.Client, d.grantKey(user), api, sealed, 2*time.Second)
}

func (s *Store) grantGet(ctx context.Context, user, api string) ([]byte, error) {
	return grantGet(ctx, s.cfg.Client, s.grantKey(user), api, s.cfg.OpTimeout)
}

func (s *Store) grantList(ctx context.Context, user string) ([]string, error) {
	return grantList(ctx, s.cfg.Client, s.grantKey(user), s.cfg.OpTimeout)
}

func (s *Store) grantSwap(ctx context.Context, user, api string, old, new []byte) (bool, error) {
	key := s.grantKey(user)
	if s.cfg.WaitReplicas == 0 {
		return grantSwap(ctx, s.cfg.Client, key, api, old, new, s.cfg.OpTimeout)
	}
	// A rotated refresh token that a failover loses is a grant lost: the
	// provider has retired the one before it.
	octx, cancel := s.op(ctx)
	defer cancel()
	var cmd *redis.Cmd
	err := s.replicated(octx, key, func(p redis.Pipeliner) {
		cmd = p.Eval(octx, swapSrc, []string{key}, api, old, new)
	})
	if err != nil {
		return false, s.failed(err)
	}
	n, err := cmd.Int()
	if err != nil {
		return false, s.failed(err)
	}
	return n == 1, nil
}

func (d *DenyList) grantGet(ctx context.Context, user, api string) ([]byte, error) {
	return grantGet(ctx, d.Client, d.grantKey(user), api, 2*time.Second)
}

func (d *DenyList) grantList(ctx context.Context, user string) ([]string, error) {
	return grantList(ctx, d.Client, d.grantKey(user), 2*time.Second)
}

func (d *DenyList) grantSwap(ctx context.Context, user, api string, old, new []byte) (bool, error) {
	return grantSwap(ctx, d.Client, d.grantKey(user), api, old, new, 2*time.Second)
}
