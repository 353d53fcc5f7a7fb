package middleware_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/internal/sesskeys"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// scaleSessions is how many sessions TestRedisScale keeps, three per user.
const scaleSessions = 20000

// TestRedisScale puts tens of thousands of sessions on Redis (a single
// server and a Cluster) through three app instances, and checks what they
// leave there:
//
//   - each session is written by one instance (the write a sign-in makes,
//     with a realistic session: tokens of an Auth0 tenant) and used through
//     another; some are signed out through a third, some ended by a
//     back-channel logout;
//   - Redis memory per session is measured and printed (INFO used_memory
//     over the masters, and MEMORY USAGE of each key of a session);
//   - the keys are exactly the live sessions, their indexes and the replay
//     cache, and every key has a TTL no longer than the absolute timeout;
//   - the app instances keep nothing per session in memory;
//   - under churn with short timeouts, a user's index stays as small as the
//     sessions that can still be alive, and once the churn stops every key
//     expires and Redis memory comes back.
func TestRedisScale(t *testing.T) {
	for _, top := range []testenv.Topology{testenv.SingleRedis, testenv.RedisCluster} {
		t.Run(top.Name, func(t *testing.T) {
			var stores []*redisstore.Store
			c := newCluster(t, clusterOptions{instances: 3, topology: top.Start,
				mw: func(cfg *middleware.Config) { stores = append(stores, cfg.Store.(*redisstore.Store)) }})
			rc := c.topo.Client()
			t.Cleanup(func() { rc.Close() })
			scaleSteadyState(t, c, stores, rc)
			scaleChurn(t, c, rc)
		})
	}
}

// scaleUser is the subject of user u.
func scaleUser(u int) string { return fmt.Sprintf("user-%05d", u) }

// scaleSession is a realistic session of user u at the test provider, with
// a provider session of its own.
func scaleSession(issuer string, u int) *session.Session {
	s := testenv.RealisticSession()
	s.ID, s.SID = rand.Text(), rand.Text()
	s.Provider, s.Issuer, s.Subject = "op", issuer, scaleUser(u)
	s.Email, s.EmailVerified = scaleUser(u)+"@example.com", true // indexed too (Shared Signals name users by email)
	return s
}

// saveNew writes s with store as the callback does, and returns the
// session cookie ("name=value").
func saveNew(store session.Store, s *session.Session) (string, error) {
	rec := httptest.NewRecorder()
	if err := store.Save(rec, httptest.NewRequest("GET", "http://localhost/auth/callback", nil), s); err != nil {
		return "", err
	}
	cks := rec.Result().Cookies()
	if len(cks) != 1 {
		return "", fmt.Errorf("%d cookies set", len(cks))
	}
	return cks[0].Name + "=" + cks[0].Value, nil
}

// inParallel runs f(0..n-1) on 16 goroutines and returns the first error.
func inParallel(n int, f func(i int) error) error {
	var next atomic.Int64
	var first atomic.Pointer[error]
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && first.Load() == nil; i = int(next.Add(1) - 1) {
				if err := f(i); err != nil {
					first.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	if p := first.Load(); p != nil {
		return *p
	}
	return nil
}

// sendWithCookie sends method path to app with the session cookie and
// returns the status.
func sendWithCookie(app, method, path, cookie string) (int, error) {
	req, _ := http.NewRequest(method, app+path, nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func scaleSteadyState(t *testing.T, c *cluster, stores []*redisstore.Store, rc redis.UniversalClient) {
	const n, perUser = scaleSessions, 3
	mem0 := testenv.UsedMemory(t, rc, "used_memory")

	// Written by instance i%3, used through instance (i+1)%3.
	started := time.Now()
	cookies := make([]string, n)
	sids := make([]string, n)
	err := inParallel(n, func(i int) error {
		s := scaleSession(c.op.Issuer, i/perUser)
		sids[i] = s.SID
		var err error
		cookies[i], err = saveNew(stores[i%3], s)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	written := time.Since(started)
	memSessions := testenv.UsedMemory(t, rc, "used_memory")
	// Used in two halves, to see whether the instances' memory grows with
	// the sessions they have seen (their connection pools and caches are
	// warm after the first half).
	started = time.Now()
	var heap [2]uint64
	for half := range 2 {
		err = inParallel(n/2, func(k int) error {
			i := half*n/2 + k
			if code, err := sendWithCookie(c.apps[(i+1)%3].URL, "GET", "/profile", cookies[i]); err != nil || code != http.StatusOK {
				return fmt.Errorf("session %d on instance %d: %d %v", i, (i+1)%3, code, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap[half] = ms.HeapAlloc
	}
	t.Logf("%d sessions written in %v, each used on another instance in %v", n, written.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
	grown := (int64(heap[1]) - int64(heap[0])) / (n / 2)
	t.Logf("Go heap of the three instances: %+d bytes per session seen", grown)
	if grown > 256 {
		t.Errorf("the instances' heap grew by %d bytes per session seen: something keeps sessions in memory", grown)
	}

	// Memory per session, from the masters' total and key by key.
	perSession := float64(memSessions-mem0) / n
	var sessKey, userIdx, emailIdx, sidIdx int64
	const sample = 100
	for u := range sample {
		i := u * perUser
		sessKey += memoryUsage(t, rc, redisKey("s", sessionIDOf(t, cookies[i])))
		userIdx += memoryUsage(t, rc, redisKey("i", sesskeys.User("op", scaleUser(u))))
		emailIdx += memoryUsage(t, rc, redisKey("i", sesskeys.Email("op", scaleUser(u)+"@example.com")))
		sidIdx += memoryUsage(t, rc, redisKey("i", sesskeys.SID(c.op.Issuer, sids[i])))
	}
	dataLen, err := rc.HStrLen(context.Background(), redisKey("s", sessionIDOf(t, cookies[0])), "d").Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Redis memory per session: %.0f bytes (used_memory of the masters, %d sessions; replicas hold as much again); "+
		"MEMORY USAGE: session hash %d bytes (of which %d the sealed session), user index %d bytes and email index %d bytes for %d sessions, provider-session index %d bytes",
		perSession, n, sessKey/sample, dataLen, userIdx/sample, emailIdx/sample, perUser, sidIdx/sample)
	// The hash holds little besides the sealed session, and the session's
	// keys are all it takes: nothing else grows with the sessions.
	if sessKey/sample > dataLen+1024 {
		t.Errorf("the session hash takes %d bytes for %d of sealed session: want at most 1 KiB around it", sessKey/sample, dataLen)
	}
	if keys := float64(sessKey/sample + (userIdx+emailIdx)/sample/perUser + sidIdx/sample); perSession > 1.2*keys {
		t.Errorf("Redis memory per session %.0f bytes, more than the %.0f bytes of its keys and a fifth", perSession, keys)
	}

	// Sign-outs through a third instance, and back-channel logouts.
	ended := make([]bool, n)
	const signOuts, backChannel = n / 20, n / 40
	err = inParallel(signOuts, func(k int) error {
		i := k * 20
		ended[i] = true
		if code, err := sendWithCookie(c.apps[(i+2)%3].URL, "POST", "/auth/logout", cookies[i]); err != nil || code != http.StatusSeeOther {
			return fmt.Errorf("sign-out of session %d: %d %v", i, code, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = inParallel(backChannel, func(k int) error {
		i := k*40 + 1
		ended[i] = true
		tok := c.op.Sign(logoutClaims(c.op, "", sids[i]))
		resp, err := http.PostForm(c.apps[i%3].URL+"/auth/backchannel-logout", url.Values{"logout_token": {tok}})
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("back-channel logout of session %d: %d", i, resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The ended sessions are gone on every instance, the others are not.
	err = inParallel(n/10, func(k int) error {
		i := k*10 + k%2 // every 20th (signed out), every 40th+1 (back channel) and others
		want := http.StatusOK
		if ended[i] {
			want = http.StatusUnauthorized
		}
		if code, err := sendWithCookie(c.apps[i%3].URL, "GET", "/profile", cookies[i]); err != nil || code != want {
			return fmt.Errorf("session %d (ended %v): %d %v, want %d", i, ended[i], code, err, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// What is in Redis: exactly the live sessions, their indexes and the
	// replay cache of the logout tokens.
	alive, users := 0, map[int]bool{}
	for i, e := range ended {
		if !e {
			alive++
			users[i/perUser] = true
		}
	}
	census := map[string]int{}
	all := testenv.AllKeys(t, rc, "*")
	for _, k := range all {
		switch {
		case strings.HasSuffix(k, "}:s"):
			census["session"]++
		case strings.HasSuffix(k, "}:l"):
			census["lock"]++
		case strings.HasPrefix(k, "confidant:i:"):
			census["index"]++
		case strings.HasPrefix(k, "confidant:r:"):
			census["replay"]++
		default:
			census["other"]++
		}
	}
	want := map[string]int{"session": alive, "index": 2*len(users) + alive, "replay": backChannel}
	if fmt.Sprint(census) != fmt.Sprint(want) {
		t.Errorf("keys in Redis: %v, want %v", census, want)
	}
	checkTTLs(t, rc, all, 7*24*time.Hour)
}

// redisKey is the Redis key the store (default prefix) keeps a session
// under (kind "s", of a session ID) or an index ("i", of a session
// group key): as in redisstore, of a hash.
func redisKey(kind, of string) string {
	h := sha256.Sum256([]byte(of))
	hid := hex.EncodeToString(h[:16])
	if kind == "s" {
		return "confidant:{" + hid + "}:s"
	}
	return "confidant:i:" + hid
}

// sessionIDOf is the session ID in a "name=value" cookie.
func sessionIDOf(t testing.TB, cookie string) string {
	_, id, ok := strings.Cut(cookie, "=")
	if !ok {
		t.Fatalf("cookie %q", cookie)
	}
	return id
}

func memoryUsage(t *testing.T, rc redis.UniversalClient, key string) int64 {
	t.Helper()
	n, err := rc.MemoryUsage(context.Background(), key, 0).Result()
	if err != nil {
		t.Fatalf("MEMORY USAGE %s: %v", key, err)
	}
	return n
}

// checkTTLs fails t for any key without a TTL, or with one beyond max.
func checkTTLs(t *testing.T, rc redis.UniversalClient, keys []string, max time.Duration) {
	t.Helper()
	ctx := context.Background()
	pipe := rc.Pipeline()
	ttls := make([]*redis.DurationCmd, len(keys))
	for i, k := range keys {
		ttls[i] = pipe.PTTL(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i, c := range ttls {
		// A key that expired between KEYS and PTTL answers -2: gone is fine.
		if d := c.Val(); d == -1 || d > max {
			if bad++; bad <= 5 {
				ttl := d.String()
				if d == -1 {
					ttl = "none"
				}
				t.Errorf("%s: TTL %s, want one of at most %v", keys[i], ttl, max)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d keys without a TTL or with one too long", bad, len(keys))
	}
}

// scaleChurn signs users in and out on three instances' stores with short
// timeouts (idle 700 ms, absolute 1.5 s) for 3 s, one user far more often
// than the others, and checks that nothing accumulates: the busy user's
// index holds no more than the sessions that can still be alive, and when
// the churn stops, every key expires and the memory comes back.
func scaleChurn(t *testing.T, c *cluster, rc redis.UniversalClient) {
	ctx := context.Background()
	mem0, keys0 := testenv.UsedMemory(t, rc, "used_memory_dataset"), testenv.DBSize(t, rc)
	timeouts := session.Timeouts{Idle: 700 * time.Millisecond, Absolute: 1500 * time.Millisecond}
	var stores []*redisstore.Store
	for range 3 {
		st, err := redisstore.New(redisstore.Config{Client: rc, Keys: c.keys, Prefix: "churn:", Timeouts: timeouts})
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, st)
	}
	var mu sync.Mutex
	var busy []time.Time // when the busy user signed in
	var total atomic.Int64
	stop := time.Now().Add(3 * time.Second)
	err := inParallel(16, func(w int) error {
		for i := w; time.Now().Before(stop); i += 16 {
			u := i % 50
			if i%3 == 0 {
				u = 0 // the busy user
			}
			s := scaleSession(c.op.Issuer, u)
			cookie, err := saveNew(stores[i%3], s)
			if err != nil {
				return err
			}
			total.Add(1)
			if u == 0 {
				mu.Lock()
				busy = append(busy, time.Now())
				mu.Unlock()
			}
			req := httptest.NewRequest("GET", "http://localhost/", nil)
			req.Header.Set("Cookie", cookie)
			if _, err := stores[(i+1)%3].Load(req); err != nil {
				return fmt.Errorf("load on another instance: %w", err)
			}
			if i%4 == 0 {
				if err := stores[(i+2)%3].Delete(httptest.NewRecorder(), req); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now()
	idx := "churn:" + strings.TrimPrefix(redisKey("i", sesskeys.User("op", scaleUser(0))), "confidant:")
	entries, err := rc.ZCard(ctx, idx).Result()
	if err != nil {
		t.Fatal(err)
	}
	recent := 0
	for _, at := range busy {
		if end.Sub(at) < timeouts.Absolute+200*time.Millisecond {
			recent++
		}
	}
	t.Logf("churn: %d sign-ins in 3 s, %d of the busy user; its index holds %d entries, %d signed in within the absolute timeout",
		total.Load(), len(busy), entries, recent)
	if entries > int64(recent) {
		t.Errorf("the busy user's index holds %d entries, more than the %d sessions that can still be alive", entries, recent)
	}
	checkTTLs(t, rc, testenv.AllKeys(t, rc, "churn:*"), timeouts.Absolute)

	// Once the churn stops, everything expires. An expired key is
	// invisible at once, but Redis reclaims it (DBSIZE, memory) when it
	// meets it, or in its expiry cycle, which leaves up to a tenth of the
	// keys stale; the SCAN meets them all.
	time.Sleep(timeouts.Absolute)
	if left := testenv.AllKeys(t, rc, "churn:*"); len(left) != 0 {
		t.Errorf("%d keys left after every session expired, e.g. %v", len(left), left[0])
	}
	testenv.AllKeys(t, rc, "*")
	if keys := testenv.DBSize(t, rc); keys != keys0 {
		t.Errorf("%d keys in Redis after every churned session expired, %d before the churn", keys, keys0)
	}
	mem1 := testenv.UsedMemory(t, rc, "used_memory_dataset")
	t.Logf("churn: Redis data %+d bytes after the churn stopped and its sessions expired", mem1-mem0)
	if mem1-mem0 > 256<<10 {
		t.Errorf("Redis memory grew by %d bytes over the churn, with nothing left in it", mem1-mem0)
	}
}
