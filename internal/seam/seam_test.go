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
