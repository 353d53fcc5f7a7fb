package middleware

import (
	"context"
	"testing"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/sesskeys"
	"github.com/confidant-go/confidant/session"
)

// TestListedEntryBoundToItsReference: the registry's entries are opened
// once and then found in a cache (every sign-in reads the user's whole
// list to prune it); the cache keeps the seal's binding of an entry to its
// reference, so an entry copied under another reference (by whoever can
// write the registry) is refused whether or not it was opened before, and
// a read after the first comes from the cache.
func TestListedEntryBoundToItsReference(t *testing.T) {
	c, store := minimalParts(t)
	a, err := New(Config{Clients: []*client.Client{c}, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := &session.Session{ID: "session-one", User: confidant.User{Provider: "op", Subject: "alice"}, RefreshToken: "rt-1"}
	if err := a.record(ctx, s, "a browser", true); err != nil {
		t.Fatal(err)
	}
	user := sesskeys.User("op", "alice")
	for i := range 2 { // opened, then from the cache
		ls, err := a.listed(ctx, user)
		if err != nil || len(ls) != 1 || ls[0].e.Refresh != "rt-1" {
			t.Fatalf("read %d: %+v, %v: want the one session", i+1, ls, err)
		}
	}
	if n := len(a.entries.m); n != 1 {
		t.Errorf("%d entries cached after two reads of one: want 1", n)
	}
	m, _ := a.reg.Entries(ctx, user)
	ref := sesskeys.Ref(s.ID)
	other := sesskeys.Ref("session-two")
	if err := a.reg.PutEntry(ctx, user, other, m[ref], a.denyTTL); err != nil {
		t.Fatal(err)
	}
	ls, err := a.listed(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.ref == other {
			t.Errorf("an entry copied under another session's reference was listed as that session (refresh token %q)", l.e.Refresh)
		}
	}
}
