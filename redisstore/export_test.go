package redisstore

import (
	"github.com/confidant-go/confidant/internal/seam"
	"github.com/confidant-go/confidant/session"
)

// Plumbing is st's plumbing, found as the middleware finds it: through
// internal/seam.
func Plumbing(st *Store) *plumbing { return seam.Of(st).(*plumbing) }

// DenyPlumbing is d's plumbing, found through internal/seam.
func DenyPlumbing(d *DenyList) *denyPlumbing { return seam.Of(d).(*denyPlumbing) }

// Version is the stored version s was loaded at.
func Version(s *session.Session) uint64 { return codec.Version(s) }
