package session

import (
	"context"
	"testing"
	"time"
)

func TestMemoryDenyList(t *testing.T) {
	now := time.Now()
	d := &MemoryDenyList{Now: func() time.Time { return now }, Max: 3}
	ctx := context.Background()
	d.Deny(ctx, "k1", now, time.Hour)
	if at, _ := d.DeniedAt(ctx, "k0", "k1"); !at.Equal(now) {
		t.Errorf("DeniedAt = %v", at)
	}
	now = now.Add(2 * time.Hour)
	if at, _ := d.DeniedAt(ctx, "k1"); !at.IsZero() {
		t.Error("entry outlived its ttl")
	}
	for i := range 10 {
		d.Deny(ctx, string(rune('a'+i)), now, time.Hour)
	}
	if n := len(d.m); n > 3 {
		t.Errorf("%d entries, bound 3", n)
	}
}
