package session

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/confidant-go/confidant/internal/sesskeys"
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
// instance. Safe for concurrent use.
type MemoryDenyList struct {
	// Max bounds the entries (about 100 bytes each). Expired ones are
	// dropped to make room, live ones never: a dropped entry would let
	// the copies of a signed-out session's cookie back in. Full of live
	// entries, Deny fails with ErrUnavailable (the sign-out is refused
	// and can be tried again) instead. Default 1,000,000.
	Max int
	Now func() time.Time // default time.Now

	mu sync.RWMutex
	m  map[string]denyEntry
}

type denyEntry struct{ at, until time.Time }

func (d *MemoryDenyList) now() time.Time {
	if d.Now != nil {
		return d.Now()
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
	now := d.now()
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

// DeniedAt implements DenyList.
func (d *MemoryDenyList) DeniedAt(ctx context.Context, keys ...string) (time.Time, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var latest time.Time
	if len(d.m) == 0 {
		return latest, nil
	}
	now := d.now()
	for _, k := range keys {
		if e, ok := d.m[k]; ok && now.Before(e.until) && e.at.After(latest) {
			latest = e.at
		}
	}
	return latest, nil
}

// denyKeys are the deny-list keys of s: its user at its provider, when
// known its provider session (iss + sid), and the session itself.
func denyKeys(s *Session) []string {
	return append(IndexKeys(s), sesskeys.ID(s.ID))
}

// IndexKeys are the keys a SharedStore indexes s under, for EndSessions:
// its user at its provider and, when known, its provider session.
func IndexKeys(s *Session) []string {
	keys := make([]string, 1, 3)
	keys[0] = sesskeys.User(s.Provider, s.Subject)
	if s.SID != "" {
		keys = append(keys, sesskeys.SID(s.Issuer, s.SID))
	}
	return keys
}
