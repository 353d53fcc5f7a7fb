// Package seam is how confidant's packages reach the parts of each other
// that users do not call: the middleware drives a client's callback steps,
// refreshes and logout tokens, and a store's locks, indexes and replay
// cache, through values the public packages keep unexported. Without it
// each of those would be an exported name that only this module calls
// (issue 35 counted about 40% of the API so). grpc-go keeps its internal
// package for the same reason.
//
// A package registers a finder at init; Of asks each in turn. What a
// finder returns is an unexported type of the registering package (often
// a conversion of its public type, such as type plumbing Store), whose
// exported methods satisfy an interface the caller declares unexported.
package seam

import "sync"

var (
	mu      sync.RWMutex
	finders []func(v any) (any, bool)
)

// Register adds a finder: f returns v's plumbing when v is of a type f
// knows. Call it from an init function.
func Register(f func(v any) (any, bool)) {
	mu.Lock()
	defer mu.Unlock()
	finders = append(finders, f)
}

// Of returns v's plumbing, or nil when no package registered v's type.
func Of(v any) any {
	mu.RLock()
	defer mu.RUnlock()
	for _, f := range finders {
		if p, ok := f(v); ok {
			return p
		}
	}
	return nil
}
