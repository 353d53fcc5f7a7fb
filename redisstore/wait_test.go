package redisstore_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/internal/sesskeys"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// TestWaitReplicas: a replica that falls a second behind its master (its
// link held up), and the master's host lost right after the store
// acknowledged a write; the replica takes over. Replication is asynchronous: without WaitReplicas a
// new session, a sign-out or a back-channel logout acknowledged before the
// replica had it is lost with the master (the session is gone, or back). With
// WaitReplicas 1 the store acknowledges them only once the replica has
// them, and both survive.
func TestWaitReplicas(t *testing.T) {
	for _, tc := range []struct {
		wait    int
		survive bool
	}{{0, false}, {1, true}} {
		for _, op := range []string{"sign-in", "sign-out", "back-channel-logout"} {
			t.Run(op+"/WaitReplicas="+string(rune('0'+tc.wait)), func(t *testing.T) {
				t.Parallel() // each waits on its own lagging link
				pair := testenv.StartLaggingPair(t)
				keys := [][]byte{testenv.NewKey()}
				mc := redis.NewClient(&redis.Options{Addr: pair.Master, MaxRetries: -1})
				defer mc.Close()
				st, err := redisstore.New(redisstore.Config{Client: mc, Keys: keys, WaitReplicas: tc.wait, OpTimeout: 8 * time.Second}) // WAIT up to 2 s
				if err != nil {
					t.Fatal(err)
				}
				s := testenv.RealisticSession()
				s.ID = sid
				if op == "sign-in" {
					pair.Hold(time.Second)
				}
				cookies := saveNew(t, st, s, nil)
				switch op {
				case "sign-out":
					waitReplicated(t, pair, cookies, keys) // the session reaches the replica first
					pair.Hold(time.Second)
					req := httptest.NewRequest("GET", "http://localhost/", nil)
					testenv.AddCookies(req, cookies)
					if err := st.Delete(httptest.NewRecorder(), req); err != nil {
						t.Fatal(err)
					}
				case "back-channel-logout":
					waitReplicated(t, pair, cookies, keys)
					pair.Hold(time.Second)
					if n, err := redisstore.Plumbing(st).EndSessions(context.Background(), sesskeys.User(s.Provider, s.Subject)); err != nil || n != 1 {
						t.Fatalf("EndSessions: %d, %v", n, err)
					}
				}
				pair.Fail()
				rc := redis.NewClient(&redis.Options{Addr: pair.Replica})
				defer rc.Close()
				promoted, _ := redisstore.New(redisstore.Config{Client: rc, Keys: keys})
				_, err = redisstore.Plumbing(promoted).LoadID(context.Background(), sid)
				exists := err == nil
				if err != nil && !errors.Is(err, session.ErrNoSession) {
					t.Fatal(err)
				}
				if survived := exists == (op == "sign-in"); survived != tc.survive {
					t.Errorf("after the failover the %s survived: %v, want %v", op, survived, tc.survive)
				}
			})
		}
	}
}

// waitReplicated waits until the replica has the session.
func waitReplicated(t *testing.T, pair *testenv.LaggingPair, cookies []*http.Cookie, keys [][]byte) {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: pair.Replica})
	defer rc.Close()
	// A replica serves reads; the store loads from it as from a master.
	rs, _ := redisstore.New(redisstore.Config{Client: rc, Keys: keys})
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := testenv.LoadCookies(rs, cookies); err == nil {
			return
		}
	}
	t.Fatal("the session never reached the replica")
}
