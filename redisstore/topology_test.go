package redisstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/internal/sesskeys"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// storeCases are the store's operations, each run on every topology.
var storeCases = []struct {
	name string
	run  func(*testing.T, testenv.RedisTopology)
}{
	{"Store", testRedisStore},
	{"Timeouts", testRedisTimeouts},
	{"Lock", testRedisLock},
	{"LockLost", testRedisLockLost},
	{"EndSessionsIndex", testEndSessionsIndex},
	{"HoldsNoCookieValues", testRedisHoldsNoCookieValues},
	{"IndexShrinks", testRedisIndexShrinks},
	{"TouchKeepsVersion", testRedisTouchKeepsVersion},
	{"ReplayCache", testReplayCache},
	{"DenyList", testDenyList},
	{"OneSlotPerSession", testOneSlotPerSession},
	{"EarlierEncoding", testEarlierEncoding},
}

// TestTopologies runs every store operation on a single redis-server, on
// a Redis Cluster of three masters and three replicas, and on a Sentinel
// group (a master, a replica, three sentinels).
func TestTopologies(t *testing.T) {
	for _, top := range []testenv.Topology{testenv.SingleRedis, testenv.RedisCluster, testenv.RedisSentinel} {
		t.Run(top.Name, func(t *testing.T) {
			rt := top.Start(t)
			for _, c := range storeCases {
				t.Run(c.name, func(t *testing.T) { c.run(t, rt) })
			}
		})
	}
}

// prefix is the key prefix of t's stores: cases that share a topology
// never see each other's keys.
func prefix(t *testing.T) string {
	h := sha256.Sum256([]byte(t.Name()))
	return "t" + hex.EncodeToString(h[:4]) + ":"
}

// testDenyList: denials by several keys, which Cluster spreads over several
// slots, are read back in one call, and each key expires.
func testDenyList(t *testing.T, rt testenv.RedisTopology) {
	rc := rt.Client()
	defer rc.Close()
	ctx := context.Background()
	deny := &redisstore.DenyList{Client: rc, Prefix: prefix(t) + "deny:"}
	at1, at2 := time.UnixMilli(time.Now().UnixMilli()), time.UnixMilli(time.Now().Add(time.Second).UnixMilli())
	keys := []string{sesskeys.User("p", "alice"), sesskeys.SID("https://i", "s1"), sesskeys.SID("https://i", "none")}
	if err := deny.Deny(ctx, keys[0], at1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := deny.Deny(ctx, keys[1], at2, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := deny.DeniedAt(ctx, keys...)
	if err != nil || !got.Equal(at2) {
		t.Fatalf("DeniedAt = %v, %v; want %v", got, err, at2)
	}
	if got, err := deny.DeniedAt(ctx, keys[2]); err != nil || !got.IsZero() {
		t.Errorf("DeniedAt of a key never denied = %v, %v", got, err)
	}
	stored := testenv.AllKeys(t, rc, prefix(t)+"deny:*")
	if len(stored) != 2 {
		t.Fatalf("deny keys %v, want 2", stored)
	}
	if cc, ok := rc.(*redis.ClusterClient); ok && slot(t, cc, stored[0]) == slot(t, cc, stored[1]) {
		t.Fatal("both denials in one slot: the cross-slot read is not tested")
	}
	for _, k := range stored {
		if ttl := rc.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("deny key %s has no TTL", k)
		}
	}
}

// testOneSlotPerSession: a session's data and its refresh lock share a
// hash tag, so on a Cluster they are in one slot, on one master.
func testOneSlotPerSession(t *testing.T, rt testenv.RedisTopology) {
	st := newRedisStore(t, rt, nil)
	saveNew(t, st, &session.Session{ID: sid, User: confidant.User{Provider: "p", Subject: "alice"}}, nil)
	_, unlock, err := redisstore.Plumbing(st).Lock(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	rc := rt.Client()
	defer rc.Close()
	var own []string
	for _, k := range testenv.AllKeys(t, rc, prefix(t)+"*") {
		if strings.Contains(k, "{") {
			own = append(own, k)
		}
	}
	if len(own) != 2 {
		t.Fatalf("the session's keys %v, want its data and its lock", own)
	}
	tag := func(k string) string { return k[strings.Index(k, "{"):strings.Index(k, "}")] }
	if tag(own[0]) != tag(own[1]) {
		t.Errorf("keys %v have different hash tags", own)
	}
	if cc, ok := rc.(*redis.ClusterClient); ok && slot(t, cc, own[0]) != slot(t, cc, own[1]) {
		t.Errorf("keys %v in different slots", own)
	}
}

// slot asks the Cluster which slot key is in.
func slot(t *testing.T, cc *redis.ClusterClient, key string) int64 {
	t.Helper()
	n, err := cc.ClusterKeySlot(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// testEarlierEncoding: sessions are sealed as bytes, a quarter smaller than
// the base64 text earlier versions wrote; a session written as text still
// loads (an upgrade signs no one out), and a tampered one of either form is
// no session.
func testEarlierEncoding(t *testing.T, rt testenv.RedisTopology) {
	ctx := context.Background()
	st := newRedisStore(t, rt, nil)
	s := testenv.RealisticSession()
	s.ID = sid
	cookies := saveNew(t, st, s, nil)
	rc := rt.Client()
	defer rc.Close()
	h := sha256.Sum256([]byte(sid))
	key := prefix(t) + "{" + hex.EncodeToString(h[:16]) + "}:s"
	raw, err := rc.HGet(ctx, key, "d").Result()
	if err != nil {
		t.Fatal(err)
	}
	if raw[0] != 1 {
		t.Fatalf("stored as %q…, want sealed bytes", raw[:8])
	}
	// Tampered: the last byte flipped (replacing it with a fixed byte left
	// the value intact once in 256 runs).
	tampered := []byte(raw)
	tampered[len(tampered)-1] ^= 1
	for _, v := range []struct {
		name, d string
		ok      bool
	}{
		{"text", base64.RawURLEncoding.EncodeToString([]byte(raw)), true},
		{"bytes", raw, true},
		{"tampered text", base64.RawURLEncoding.EncodeToString(tampered), false},
		{"tampered bytes", string(tampered), false},
		{"garbage", "\x01\x02", false},
	} {
		if err := rc.HSet(ctx, key, "d", v.d).Err(); err != nil {
			t.Fatal(err)
		}
		got, err := testenv.LoadCookies(st, cookies)
		if v.ok && (err != nil || got.AccessToken != s.AccessToken) {
			t.Errorf("%s: %v", v.name, err)
		}
		if !v.ok && !errors.Is(err, session.ErrNoSession) {
			t.Errorf("%s: %v, want ErrNoSession", v.name, err)
		}
	}
}
