package redisstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/session"
)

var (
	renewScript  = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`)
	unlockScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)
)

// Lock implements session.SharedStore. The lease is renewed every LockLease/3 until
// unlock; if the holder dies, the lock frees itself after one lease. A
// renewal that finds the lock gone (the lease ran out, say while Redis was
// unreachable) ends held with cause session.ErrLockLost.
func (s *Store) Lock(ctx context.Context, id string) (context.Context, func(), error) {
	key := s.lockKey(id)
	token := rand.Text()
	wait := 10 * time.Millisecond
	for {
		octx, cancel := s.op(ctx)
		var set *redis.BoolCmd
		var err error
		if s.cfg.WaitReplicas > 0 {
			// A lock that a failover loses could let a second instance
			// present the refresh token this one is using.
			err = s.replicated(octx, key, func(p redis.Pipeliner) { set = p.SetNX(octx, key, token, s.cfg.LockLease) })
		} else {
			set = s.cfg.Client.SetNX(octx, key, token, s.cfg.LockLease)
			err = set.Err()
		}
		cancel()
		if err != nil {
			return nil, nil, s.failed(err)
		}
		ok := set.Val()
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
					lost(session.ErrLockLost)
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
