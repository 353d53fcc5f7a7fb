package seam

import "testing"

type pub struct{ n int }
type plumbing pub

func (p *plumbing) N() int { return p.n }

func TestOf(t *testing.T) {
	Register(func(v any) (any, bool) {
		p, ok := v.(*pub)
		return (*plumbing)(p), ok
	})
	v := &pub{n: 7}
	got, ok := Of(v).(interface{ N() int })
	if !ok || got.N() != 7 {
		t.Fatalf("Of(%v) = %v, want its plumbing with N() = 7", v, Of(v))
	}
	if Of(7) != nil {
		t.Fatalf("Of(7) = %v, want nil: no finder knows int", Of(7))
	}
}

// Pub is exported, as the module's stores are: an embedded field of an
// unexported type cannot be read from outside its package.
type Pub struct{ n int }
type pubPlumbing Pub

func (p *pubPlumbing) N() int { return p.n }

type wrapper struct {
	*Pub
	Extra int // a field of the app's own beside the embedded value
}

type deeper struct {
	wrapper
}

// TestOfEmbedded: a struct of the app's own that embeds a registered value
// gets its plumbing (an app's store wrapping the module's), at any depth
// of exported embedding; a named (not embedded) field does not count, nor
// a nil embedded pointer, nor an unexported embedded field.
func TestOfEmbedded(t *testing.T) {
	Register(func(v any) (any, bool) {
		p, ok := v.(*Pub)
		return (*pubPlumbing)(p), ok
	})
	for name, v := range map[string]any{"embedded": &wrapper{Pub: &Pub{n: 3}}, "by value": wrapper{Pub: &Pub{n: 3}}} {
		got, ok := Of(v).(interface{ N() int })
		if !ok || got.N() != 3 {
			t.Errorf("%s: Of = %v, want the embedded value's plumbing", name, Of(v))
		}
	}
	named := &struct{ P *Pub }{P: &Pub{n: 3}}
	if Of(named) != nil || Of(&wrapper{}) != nil || Of(&deeper{wrapper{Pub: &Pub{n: 3}}}) != nil {
		t.Errorf("a named field, a nil embedded pointer or an unexported embedded field gave plumbing")
	}
}
