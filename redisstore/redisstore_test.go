package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/sesskeys"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// newRedisStore is a store on rt whose keys start with prefix(t), so the
// cases that share a topology do not see each other's keys.
func newRedisStore(t *testing.T, rt testenv.RedisTopology, mod func(*redisstore.Config)) *redisstore.Store {
	t.Helper()
	rc := rt.Client()
	t.Cleanup(func() { rc.Close() })
	cfg := redisstore.Config{Client: rc, Keys: [][]byte{testenv.NewKey()}, Prefix: prefix(t)}
	if mod != nil {
		mod(&cfg)
	}
	st, err := redisstore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

const sid = "AAAAAAAAAAAAAAAAAAAAAA" // 22 characters: 128 bits

func saveNew(t *testing.T, st *redisstore.Store, s *session.Session, old []*http.Cookie) []*http.Cookie {
	t.Helper()
	req := httptest.NewRequest("GET", "http://localhost/", nil)
	testenv.AddCookies(req, old)
	rec := httptest.NewRecorder()
	if err := st.Save(rec, req, s); err != nil {
		t.Fatal(err)
	}
	return rec.Result().Cookies()
}

func testRedisStore(t *testing.T, rt testenv.RedisTopology) {
	st := newRedisStore(t, rt, nil)
	s := testenv.RealisticSession()
	s.ID = sid
	cookies := saveNew(t, st, s, nil)
	if len(cookies) != 1 || cookies[0].Value != sid || cookies[0].Name != "__Host-confidant_sid" || !cookies[0].HttpOnly {
		t.Fatalf("cookies %v: want only the session ID", cookies)
	}
	got, err := testenv.LoadCookies(st, cookies)
	if err != nil || got.AccessToken != s.AccessToken || redisstore.Version(got) != 1 {
		t.Fatalf("load: %v, version %d", err, redisstore.Version(got))
	}
	// Redis never sees the tokens, nor the session ID, in clear.
	rc := rt.Client()
	defer rc.Close()
	keys := testenv.AllKeys(t, rc, prefix(t)+"*")
	for _, k := range keys {
		if strings.Contains(k, sid) {
			t.Errorf("key %q contains the session ID", k)
		}
		if typ, _ := rc.Type(context.Background(), k).Result(); typ == "hash" {
			m, _ := rc.HGetAll(context.Background(), k).Result()
			if strings.Contains(m["d"], s.AccessToken[:40]) || strings.Contains(m["d"], s.RefreshToken) {
				t.Errorf("tokens in clear in %q", k)
			}
		}
	}
	// Compare-and-swap: the second writer of version 1 loses.
	a, b := *got, *got
	a.AccessToken, b.AccessToken = "a", "b"
	if _, err := redisstore.Plumbing(st).Update(context.Background(), &a); err != nil {
		t.Fatal(err)
	}
	if _, err := redisstore.Plumbing(st).Update(context.Background(), &b); !errors.Is(err, session.ErrConflict) {
		t.Fatalf("stale write: %v, want ErrConflict", err)
	}
	// The first writer's write again (a retry after its reply was lost in a
	// failover) finds itself applied, instead of conflicting with itself.
	if again, err := redisstore.Plumbing(st).Update(context.Background(), &a); err != nil || redisstore.Version(again) != 2 {
		t.Fatalf("the same write retried: %v, want version 2 without a conflict", err)
	}
	if cur, _ := redisstore.Plumbing(st).LoadID(context.Background(), sid); cur.AccessToken != "a" || redisstore.Version(cur) != 2 {
		t.Errorf("stored %q v%d, want the first writer's", cur.AccessToken, redisstore.Version(cur))
	}
	// A new sign-in gets a new ID and the old session is deleted.
	s2 := testenv.RealisticSession()
	s2.ID = "BBBBBBBBBBBBBBBBBBBBBB"
	cookies2 := saveNew(t, st, s2, cookies)
	if cookies2[0].Value != s2.ID {
		t.Fatal("new session ID not set")
	}
	if _, err := testenv.LoadCookies(st, cookies); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("old session after a new sign-in: %v", err)
	}
	// An Update never resurrects a deleted session.
	if _, err := redisstore.Plumbing(st).Update(context.Background(), &a); !errors.Is(err, session.ErrConflict) {
		t.Errorf("update of a deleted session: %v", err)
	}
}

func testRedisTimeouts(t *testing.T, rt testenv.RedisTopology) {
	st, c := clockedStore(t, rt, session.Timeouts{Idle: time.Hour, Absolute: 3 * time.Hour})
	s := &session.Session{ID: sid, User: confidant.User{Subject: "u"}}
	cookies := saveNew(t, st, s, nil)
	c.Add(50 * time.Minute)
	got, err := testenv.LoadCookies(st, cookies)
	if err != nil {
		t.Fatalf("within idle: %v", err)
	}
	if to := redisstore.Plumbing(st).Timeouts(); to != (session.Timeouts{Idle: time.Hour, Absolute: 3 * time.Hour}) {
		t.Errorf("Timeouts() = %+v, want the configured ones", to)
	}
	if _, err := redisstore.Plumbing(st).Update(context.Background(), got); err != nil { // the touch
		t.Fatal(err)
	}
	c.Add(50 * time.Minute) // 100 minutes old, 50 idle
	if _, err = testenv.LoadCookies(st, cookies); err != nil {
		t.Fatalf("rolled idle timeout: %v", err)
	}
	c.Add(61 * time.Minute)
	if _, err := testenv.LoadCookies(st, cookies); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("idle for 61 minutes: %v", err)
	}
	// Absolute: touched every 50 minutes, still gone after 3 hours.
	start := c.Now()
	cookies = saveNew(t, st, &session.Session{ID: "CCCCCCCCCCCCCCCCCCCCCC", User: confidant.User{Subject: "u"}}, nil)
	for range 4 {
		c.Add(50 * time.Minute)
		cur, err := testenv.LoadCookies(st, cookies)
		age := c.Now().Sub(start)
		if age < 3*time.Hour && err != nil {
			t.Fatalf("lost at %v, before the absolute timeout: %v", age, err)
		}
		if age > 3*time.Hour {
			if !errors.Is(err, session.ErrNoSession) {
				t.Errorf("loaded at %v, past the absolute timeout: %v", age, err)
			}
			return
		}
		if _, err := redisstore.Plumbing(st).Update(context.Background(), cur); err != nil {
			t.Fatal(err)
		}
	}
}

func testRedisLock(t *testing.T, rt testenv.RedisTopology) {
	st := newRedisStore(t, rt, func(cfg *redisstore.Config) { cfg.LockLease = 300 * time.Millisecond })
	ctx := context.Background()
	_, unlock, err := redisstore.Plumbing(st).Lock(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	// Held well past its lease: still held, because it is renewed.
	time.Sleep(time.Second)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	if _, _, err := redisstore.Plumbing(st).Lock(short, sid); !errors.Is(err, session.ErrUnavailable) {
		t.Fatalf("second Lock while held: %v", err)
	}
	cancel()
	got := make(chan time.Time, 1)
	go func() {
		_, u2, err := redisstore.Plumbing(st).Lock(ctx, sid)
		if err != nil {
			t.Error(err)
			return
		}
		got <- time.Now()
		u2()
	}()
	time.Sleep(200 * time.Millisecond)
	released := time.Now()
	unlock()
	if at := <-got; at.Before(released) {
		t.Error("the waiter got the lock before it was released")
	}
}

func TestRedisDown(t *testing.T) {
	rs := testenv.StartRedis(t)
	st := newRedisStore(t, testenv.Universal{Redis: rs}, func(cfg *redisstore.Config) { cfg.OpTimeout = 300 * time.Millisecond })
	cookies := saveNew(t, st, &session.Session{ID: sid}, nil)
	rs.Stop()
	_, err := testenv.LoadCookies(st, cookies)
	if !errors.Is(err, session.ErrUnavailable) || errors.Is(err, session.ErrNoSession) {
		t.Fatalf("Redis down: %v, want ErrUnavailable and not ErrNoSession", err)
	}
	rs.Start()
	if _, err := testenv.LoadCookies(st, cookies); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

func testEndSessionsIndex(t *testing.T, rt testenv.RedisTopology) {
	st := newRedisStore(t, rt, nil)
	a1 := saveNew(t, st, &session.Session{ID: "A1AAAAAAAAAAAAAAAAAAAA", Issuer: "https://i", SID: "s1", User: confidant.User{Provider: "p", Subject: "alice"}}, nil)
	a2 := saveNew(t, st, &session.Session{ID: "A2AAAAAAAAAAAAAAAAAAAA", Issuer: "https://i", SID: "s2", User: confidant.User{Provider: "p", Subject: "alice"}}, nil)
	b := saveNew(t, st, &session.Session{ID: "BBAAAAAAAAAAAAAAAAAAAA", User: confidant.User{Provider: "p", Subject: "bob"}}, nil)
	n, err := redisstore.Plumbing(st).EndSessions(context.Background(), sesskeys.SID("https://i", "s1"))
	if err != nil || n != 1 {
		t.Fatalf("by sid: %d, %v", n, err)
	}
	if _, err := testenv.LoadCookies(st, a1); err == nil {
		t.Error("session of sid s1 still there")
	}
	if _, err := testenv.LoadCookies(st, a2); err != nil {
		t.Error("session of sid s2 ended too")
	}
	if n, _ := redisstore.Plumbing(st).EndSessions(context.Background(), sesskeys.User("p", "alice")); n != 1 {
		t.Errorf("by user: %d ended, want 1 (the other one already gone)", n)
	}
	if _, err := testenv.LoadCookies(st, b); err != nil {
		t.Error("bob was signed out")
	}
}

// testRedisLockLost: a renewal that finds the lease gone ends the lock's
// context with fail.LockLost, so its holder does not start a refresh.
func testRedisLockLost(t *testing.T, rt testenv.RedisTopology) {
	st := newRedisStore(t, rt, func(cfg *redisstore.Config) { cfg.LockLease = 300 * time.Millisecond })
	held, unlock, err := redisstore.Plumbing(st).Lock(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	time.Sleep(150 * time.Millisecond)
	if held.Err() != nil {
		t.Fatal("lock reported lost while held")
	}
	rc := rt.Client()
	defer rc.Close()
	keys := testenv.AllKeys(t, rc, prefix(t)+"*:l")
	if len(keys) != 1 {
		t.Fatalf("lock keys %v", keys)
	}
	rc.Del(context.Background(), keys[0]) // the lease is gone (expired while Redis was away)
	select {
	case <-held.Done():
		if !errors.Is(context.Cause(held), fail.LockLost) {
			t.Errorf("cause %v, want ErrLockLost", context.Cause(held))
		}
	case <-time.After(2 * time.Second):
		t.Error("the lost lease was not reported")
	}
}

// testRedisHoldsNoCookieValues pins a review finding: the user index held
// raw session IDs, which are the cookie values, so anyone reading Redis (a
// replica, a backup, MONITOR) could take over live sessions. Every key,
// hash field, set and sorted-set member is searched for the IDs.
func testRedisHoldsNoCookieValues(t *testing.T, rt testenv.RedisTopology) {
	st := newRedisStore(t, rt, nil)
	ids := []string{"A1AAAAAAAAAAAAAAAAAAAA", "A2AAAAAAAAAAAAAAAAAAAA", "BBAAAAAAAAAAAAAAAAAAAA"}
	for i, id := range ids {
		saveNew(t, st, &session.Session{ID: id, Issuer: "https://i", SID: "s" + id[:2], User: confidant.User{Provider: "p", Subject: []string{"alice", "alice", "bob"}[i]}}, nil)
	}
	dump := dumpRedis(t, rt)
	for _, id := range ids {
		if strings.Contains(dump, id) {
			t.Errorf("Redis holds the session ID %s (a working cookie value)", id)
		}
	}
	if !strings.Contains(dump, "i:") {
		t.Fatal("no index found: the scan would pass vacuously")
	}
}

// dumpRedis returns every key and value in Redis as text.
func dumpRedis(t *testing.T, rt testenv.RedisTopology) string {
	t.Helper()
	rc := rt.Client()
	defer rc.Close()
	ctx := context.Background()
	keys := testenv.AllKeys(t, rc, prefix(t)+"*")
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "\n")
		switch typ, _ := rc.Type(ctx, k).Result(); typ {
		case "string":
			v, _ := rc.Get(ctx, k).Result()
			b.WriteString(v)
		case "hash":
			m, _ := rc.HGetAll(ctx, k).Result()
			for f, v := range m {
				b.WriteString(f + "=" + v + "\n")
			}
		case "set":
			m, _ := rc.SMembers(ctx, k).Result()
			b.WriteString(strings.Join(m, "\n"))
		case "zset":
			m, _ := rc.ZRange(ctx, k, 0, -1).Result()
			b.WriteString(strings.Join(m, "\n"))
		default:
			t.Fatalf("key %s of type %s not dumped", k, typ)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// testRedisIndexShrinks pins a review finding: index entries outlived their
// sessions and grew forever. A deleted session leaves its indexes; one past
// its absolute timeout is pruned when the next session is indexed; every
// key has a TTL.
func testRedisIndexShrinks(t *testing.T, rt testenv.RedisTopology) {
	st, c := clockedStore(t, rt, session.Timeouts{Idle: time.Hour, Absolute: 2 * time.Hour})
	rc := rt.Client()
	defer rc.Close()
	ctx := context.Background()
	entries := func() int64 {
		keys := testenv.AllKeys(t, rc, prefix(t)+"i:*")
		var n int64
		for _, k := range keys {
			n += rc.ZCard(ctx, k).Val()
		}
		return n
	}
	a := saveNew(t, st, &session.Session{ID: "A1AAAAAAAAAAAAAAAAAAAA", Issuer: "https://i", SID: "s1", User: confidant.User{Provider: "p", Subject: "alice"}}, nil)
	if n := entries(); n != 2 {
		t.Fatalf("%d index entries after one sign-in, want 2 (user, sid)", n)
	}
	req := httptest.NewRequest("GET", "http://localhost/", nil)
	testenv.AddCookies(req, a)
	if err := st.Delete(httptest.NewRecorder(), req); err != nil {
		t.Fatal(err)
	}
	if n := entries(); n != 0 {
		t.Errorf("%d index entries after sign-out, want 0", n)
	}
	// Sessions that simply expire are pruned by the next sign-in.
	for i := range 5 {
		saveNew(t, st, &session.Session{ID: fmt.Sprintf("E%dAAAAAAAAAAAAAAAAAAAA", i), User: confidant.User{Provider: "p", Subject: "alice"}}, nil)
	}
	c.Add(3 * time.Hour)
	saveNew(t, st, &session.Session{ID: "NEWAAAAAAAAAAAAAAAAAAA", User: confidant.User{Provider: "p", Subject: "alice"}}, nil)
	if n := entries(); n != 1 {
		t.Errorf("%d index entries, want 1 (the live session)", n)
	}
	keys := testenv.AllKeys(t, rc, prefix(t)+"*")
	for _, k := range keys {
		if ttl := rc.PTTL(ctx, k).Val(); ttl < 0 {
			t.Errorf("key %s has no TTL", k)
		}
	}
}

// testRedisTouchKeepsVersion: rolling the idle timeout writes beside the
// session, so an Update of the version loaded before still succeeds.
func testRedisTouchKeepsVersion(t *testing.T, rt testenv.RedisTopology) {
	st, c := clockedStore(t, rt, session.Timeouts{Idle: time.Hour, Absolute: 24 * time.Hour})
	cookies := saveNew(t, st, &session.Session{ID: sid, RefreshToken: "rt1"}, nil)
	loaded, err := testenv.LoadCookies(st, cookies)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(50 * time.Minute)
	if err := redisstore.Plumbing(st).Touch(context.Background(), loaded); err != nil {
		t.Fatal(err)
	}
	up := *loaded
	up.RefreshToken = "rt2"
	if _, err := redisstore.Plumbing(st).Update(context.Background(), &up); err != nil {
		t.Fatalf("Update after a touch: %v", err)
	}
	c.Add(50 * time.Minute) // 100 minutes after sign-in, 50 after the touch and the update
	got, err := testenv.LoadCookies(st, cookies)
	if err != nil || got.RefreshToken != "rt2" {
		t.Fatalf("after touch and update: %v", err)
	}
	c.Add(50 * time.Minute)
	if err := redisstore.Plumbing(st).Touch(context.Background(), got); err != nil {
		t.Fatal(err)
	}
	c.Add(50 * time.Minute) // 100 minutes after the update, 50 after the second touch
	if _, err := testenv.LoadCookies(st, cookies); err != nil {
		t.Errorf("a touched session expired: %v", err)
	}
}

// testReplayCache: each value is accepted once, across stores sharing Redis.
func testReplayCache(t *testing.T, rt testenv.RedisTopology) {
	a, b := newRedisStore(t, rt, nil), newRedisStore(t, rt, nil)
	rc := rt.Client()
	defer rc.Close()
	deny := &redisstore.DenyList{Client: rc, Prefix: prefix(t) + "deny:"}
	type replayCache interface {
		FirstUse(ctx context.Context, key string, ttl time.Duration) (bool, error)
	}
	pa, pb, pd := redisstore.Plumbing(a), redisstore.Plumbing(b), redisstore.DenyPlumbing(deny)
	for name, pair := range map[string][2]replayCache{"RedisStore": {pa, pb}, "RedisDenyList": {pd, pd}} {
		ctx := context.Background()
		if first, err := pair[0].FirstUse(ctx, name+"jti-1", time.Minute); err != nil || !first {
			t.Errorf("%s: first use %v %v", name, first, err)
		}
		if first, err := pair[1].FirstUse(ctx, name+"jti-1", time.Minute); err != nil || first {
			t.Errorf("%s: replay accepted (%v %v)", name, first, err)
		}
	}
}

// clockedStore is a store on rs with the given timeouts and a clock the
// test moves.
func clockedStore(t *testing.T, rt testenv.RedisTopology, to session.Timeouts) (*redisstore.Store, *testenv.Clock) {
	t.Helper()
	c := testenv.NewClock(time.Now())
	return newRedisStore(t, rt, func(cfg *redisstore.Config) { cfg.Now, cfg.Timeouts = c.Now, to }), c
}
