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

import (
	"reflect"
	"sync"
)

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
// A struct of the app's own that embeds a registered value (an app's
// store wrapping a *session.CookieStore to log its saves) gets the
// embedded value's plumbing, as the embedding would promote exported
// methods: the first found, depth first, in field order.
func Of(v any) any {
	if p := find(v); p != nil {
		return p
	}
	return embedded(reflect.ValueOf(v), 0)
}

func find(v any) any {
	mu.RLock()
	defer mu.RUnlock()
	for _, f := range finders {
		if p, ok := f(v); ok {
			return p
		}
	}
	return nil
}

// embedded looks for plumbing in the embedded fields of the struct rv is
// or points to, a few levels deep.
func embedded(rv reflect.Value, depth int) any {
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct || depth > 4 {
		return nil
	}
	t := rv.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.Anonymous || !f.IsExported() {
			continue
		}
		fv := rv.Field(i)
		if (fv.Kind() == reflect.Pointer || fv.Kind() == reflect.Interface) && fv.IsNil() {
			continue
		}
		if p := find(fv.Interface()); p != nil {
			return p
		}
		if p := embedded(fv, depth+1); p != nil {
			return p
		}
	}
	return nil
}
