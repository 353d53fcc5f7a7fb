package session

import "sync"

// verifiedCache maps the exact bytes of a cookie that decrypted and decoded
// to the session it holds, so a cookie seen before costs a map lookup. It is
// bounded; the oldest entries go first. The sessions are shared: callers
// must not modify them (Store.Load's sessions are read-only). A nil cache
// caches nothing.
type verifiedCache struct {
	mu   sync.RWMutex
	m    map[string]*Session
	ring []string
	next int
	max  int
}

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{m: make(map[string]*Session, max), max: max}
}

func (c *verifiedCache) get(value string) *Session {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	s := c.m[value] // the map compares the whole key
	c.mu.RUnlock()
	return s
}

func (c *verifiedCache) put(value string, s *Session) {
	if c == nil {
		return
	}
	value = string([]byte(value)) // do not pin the request's header
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[value]; ok {
		return
	}
	if len(c.ring) < c.max {
		c.ring = append(c.ring, value)
	} else {
		delete(c.m, c.ring[c.next])
		c.ring[c.next] = value
		c.next = (c.next + 1) % c.max
	}
	c.m[value] = s
}
