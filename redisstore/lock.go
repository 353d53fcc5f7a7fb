package redisstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/session"
)

var (
	renewScript  = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`)
	unlockScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)
)

// lock takes session id's refresh lock. The lease is renewed every
// LockLease/3 until unlock; if the holder dies, the lock frees itself after
// one lease. A renewal that finds the lock gone (the lease ran out, say
// while Redis was unreachable) ends held with cause fail.LockLost.
func (s *Store) lock(ctx context.Context, id string) (context.Context, func(), error) {
	key := s.lockKey(id)
	l := lease{client: s.cfg.Client, key: key, ttl: s.cfg.LockLease, opTimeout: s.cfg.OpTimeout,
		setNX: func(octx context.Context, token string) (bool, error) {
			if s.cfg.WaitReplicas > 0 {
				// A lock that a failover loses could let a second instance
				// present the refresh token this one is using.
				var set *redis.BoolCmd
				err := s.replicated(octx, key, func(p redis.Pipeliner) { set = p.SetNX(octx, key, token, s.cfg.LockLease) })
				if err != nil {
					return false, err
				}
				return set.Val(), nil
			}
			return s.cfg.Client.SetNX(octx, key, token, s.cfg.LockLease).Result()
		}}
	return l.acquire(ctx)
}

// lease is a lock at key held by whoever set it, renewed until released.
type lease struct {
	client    redis.UniversalClient
	key       string
	ttl       time.Duration
	opTimeout time.Duration
	setNX     func(ctx context.Context, token string) (bool, error)
}

// acquire waits for the lock (bounded by ctx) and holds it until the
// returned func is called.
func (l lease) acquire(ctx context.Context) (context.Context, func(), error) {
	token := rand.Text()
	wait := 10 * time.Millisecond
	op := func(ctx context.Context) (context.Context, context.CancelFunc) {
		return context.WithTimeout(ctx, l.opTimeout)
	}
	for {
		octx, cancel := op(ctx)
		ok, err := l.setNX(octx, token)
		cancel()
		if err != nil {
			reloadOnFailure(l.client)
			return nil, nil, unavailable(err)
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("%w: waiting for the refresh lock: %w", session.ErrUnavailable, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 100*time.Millisecond)
	}
	held, lost := context.WithCancelCause(ctx)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(l.ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				octx, cancel := op(context.Background())
				n, err := renewScript.Run(octx, l.client, []string{l.key}, token, l.ttl.Milliseconds()).Int64()
				cancel()
				if err == nil && n == 0 {
					lost(fail.LockLost)
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
			octx, cancel := op(context.Background())
			unlockScript.Run(octx, l.client, []string{l.key}, token)
			cancel()
		})
	}, nil
}
