package session

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// DenyList remembers sessions that must end although their cookies live on:
// back-channel logout and "sign out everywhere" with a cookie store, which
// cannot reach the cookies themselves. Keys name a user or a provider
// session; a session created at or before a key's time is denied.
type DenyList interface {
	// Deny records key at time at, for ttl (at least the stores' absolute
	// session lifetime, so no older cookie outlives the entry).
	Deny(ctx context.Context, key string, at time.Time, ttl time.Duration) error
	// DeniedAt returns the latest time recorded for any of keys, or the
	// zero time.
	DeniedAt(ctx context.Context, keys ...string) (time.Time, error)
}

// MemoryDenyList is a DenyList in the process's memory, for a single app
// instance. Its entries expire on the real clock (the one the middleware
// makes when Config.DenyList is nil, on Config.Now). Safe for concurrent
// use.
type MemoryDenyList struct {
	// Max bounds the entries (about 100 bytes each). Expired ones are
	// dropped to make room, live ones never: a dropped entry would let
	// the copies of a signed-out session's cookie back in. Full of live
	// entries, Deny fails with ErrUnavailable (the sign-out is refused
	// and can be tried again) instead. Default 1,000,000.
	Max int

	now func() time.Time // default time.Now; the middleware's default: Config.Now

	mu sync.RWMutex
	m  map[string]denyEntry
}

type denyEntry struct{ at, until time.Time }

func (d *MemoryDenyList) clock() time.Time {
	if d.now != nil {
		return d.now()
	}
	return time.Now()
}

// Deny implements DenyList.
func (d *MemoryDenyList) Deny(ctx context.Context, key string, at time.Time, ttl time.Duration) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]denyEntry{}
	}
	now := d.clock()
	max := d.Max
	if max <= 0 {
		max = 1000000
	}
	e, ok := d.m[key]
	if !ok && len(d.m) >= max {
		for k, e := range d.m {
			if now.After(e.until) {
				delete(d.m, k)
			}
		}
		if len(d.m) >= max {
			return fmt.Errorf("%w: the in-memory deny list holds %d live entries (Max); share one in Redis (redisstore.DenyList) or raise Max", ErrUnavailable, len(d.m))
		}
	}
	if !ok || at.After(e.at) {
		d.m[key] = denyEntry{at: at, until: now.Add(ttl)}
	}
	return nil
}

// deniedEach is the time recorded for each of keys (zero: none).
func (d *MemoryDenyList) deniedEach(keys []string) []time.Time {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]time.Time, len(keys))
	if len(d.m) == 0 {
		return out
	}
	now := d.clock()
	for i, k := range keys {
		if e, ok := d.m[k]; ok && now.Before(e.until) {
			out[i] = e.at
		}
	}
	return out
}

// DeniedAt implements DenyList.
func (d *MemoryDenyList) DeniedAt(ctx context.Context, keys ...string) (time.Time, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var latest time.Time
	if len(d.m) == 0 {
		return latest, nil
	}
	now := d.clock()
	for _, k := range keys {
		if e, ok := d.m[k]; ok && now.Before(e.until) && e.at.After(latest) {
			latest = e.at
		}
	}
	return latest, nil
}
