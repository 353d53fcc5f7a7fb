package session

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMemoryDenyList(t *testing.T) {
	now := time.Now()
	d := &MemoryDenyList{now: func() time.Time { return now }, Max: 3}
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

// TestMemoryDenyListKeepsLiveEntries (attack review, finding 7): full, the
// list dropped live entries to make room, so a signed-out session's cookie
// copies were accepted again. Live entries stay; a Deny beyond Max fails
// with ErrUnavailable (the sign-out is refused, nothing earlier undone)
// until expired entries make room; an entry already there is updated.
func TestMemoryDenyListKeepsLiveEntries(t *testing.T) {
	now := time.Now()
	d := &MemoryDenyList{now: func() time.Time { return now }, Max: 3}
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		if err := d.Deny(ctx, k, now, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Deny(ctx, "d", now, time.Hour); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a fourth live entry: %v, want ErrUnavailable", err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if at, _ := d.DeniedAt(ctx, k); at.IsZero() {
			t.Errorf("live entry %s dropped", k)
		}
	}
	if err := d.Deny(ctx, "b", now.Add(time.Second), time.Hour); err != nil {
		t.Errorf("updating an entry of a full list: %v", err)
	}
	now = now.Add(2 * time.Hour)
	if err := d.Deny(ctx, "d", now, time.Hour); err != nil {
		t.Errorf("once the others expired: %v", err)
	}
}
