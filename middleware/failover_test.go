package middleware_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/redisstore"
)

// failoverTopology is Redis with replicas whose master a test can kill.
type failoverTopology interface {
	testenv.RedisTopology
	KillMaster() (string, error)
}

// TestRedisFailover kills the master that holds sessions in the middle of a
// refresh storm across three app instances, on a Redis Cluster and on a
// Sentinel group. Access tokens live 2 s, so the 30 sessions refresh about
// once a second each, with rotation and reuse detection at the provider.
// What requests see during the failover is 200 or a 503 with Retry-After,
// never a sign-out; afterwards every session is there and no refresh token
// was presented twice.
func TestRedisFailover(t *testing.T) {
	for _, top := range []testenv.Topology{testenv.RedisCluster, testenv.RedisSentinel} {
		t.Run(top.Name, func(t *testing.T) {
			c := newCluster(t, clusterOptions{instances: 3, op: shortLived(2 * time.Second), topology: top.Start,
				store: func(rc *redisstore.Config) { rc.WaitReplicas = 1; rc.LockLease = 10 * time.Second }})
			var sessions [][]*http.Cookie
			for range 30 {
				sessions = append(sessions, c.signIn(t, devprovider.DemoUser).Jar.Cookies(mustURL(c.apps[0].URL)))
			}
			st := failoverStorm(t, c, sessions, 1500*time.Millisecond, 12*time.Second, func() {
				addr, err := c.topo.(failoverTopology).KillMaster()
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("killed the master at %s", addr)
			})
			t.Logf("%d requests: %v; refused (503) from %v to %v after the kill; %d token requests",
				st.total, st.statuses, st.first503, st.last503, c.op.Count(devprovider.PathToken))
			for code, n := range st.statuses {
				if code != http.StatusOK && code != http.StatusServiceUnavailable {
					t.Errorf("%d requests answered %d: want only 200, or 503 with Retry-After (reasons: %v)", n, code, c.rec.last())
				}
			}
			if st.signOuts != 0 || st.no503RetryAfter != 0 {
				t.Errorf("%d sign-outs %q, %d 503s without Retry-After", st.signOuts, st.signOutBodies, st.no503RetryAfter)
			}
			if n := c.op.ReusedRefreshTokens(); n != 0 {
				t.Errorf("%d rotated-away refresh tokens presented (invalid_grant)", n)
			}
			// Afterwards every session is there.
			lost := 0
			for _, cookies := range sessions {
				if code, _, _ := apiCall(c.apps[rand.IntN(3)].URL, cookies); code != http.StatusOK {
					lost++
				}
			}
			if lost != 0 {
				t.Errorf("%d of %d sessions lost", lost, len(sessions))
			}
		})
	}
}

type stormResult struct {
	total, signOuts, no503RetryAfter int
	statuses                         map[int]int
	signOutBodies                    []string      // the first few
	first503, last503                time.Duration // after the fault
}

// failoverStorm calls /api for every session from two workers each, on random
// instances, for d; fault runs after at. Times are measured from the fault.
func failoverStorm(t *testing.T, c *cluster, sessions [][]*http.Cookie, at, d time.Duration, fault func()) stormResult {
	t.Helper()
	var mu sync.Mutex
	res := stormResult{statuses: map[int]int{}, first503: -1}
	start := time.Now()
	faultAt := start.Add(at)
	stop := start.Add(d)
	var wg sync.WaitGroup
	for _, cookies := range sessions {
		for range 2 {
			wg.Go(func() {
				for time.Now().Before(stop) {
					code, h, body := apiCall(c.apps[rand.IntN(len(c.apps))].URL, cookies)
					since := time.Since(faultAt)
					mu.Lock()
					res.total++
					res.statuses[code]++
					if code == http.StatusUnauthorized || slices.ContainsFunc(h.Values("Set-Cookie"), isDeletion) {
						if res.signOuts++; res.signOuts <= 3 {
							res.signOutBodies = append(res.signOutBodies, fmt.Sprintf("%v after the fault: %d %s", since.Round(time.Millisecond), code, body))
						}
					}
					if code == http.StatusServiceUnavailable {
						if h.Get("Retry-After") == "" {
							res.no503RetryAfter++
						}
						if res.first503 < 0 {
							res.first503 = since
						}
						res.last503 = max(res.last503, since)
					}
					mu.Unlock()
					time.Sleep(40 * time.Millisecond)
				}
			})
		}
	}
	time.Sleep(at)
	fault()
	wg.Wait()
	return res
}

// isDeletion reports whether a Set-Cookie line deletes a cookie.
func isDeletion(line string) bool {
	c, err := http.ParseSetCookie(line)
	return err == nil && c.MaxAge < 0
}

// apiCall calls app's /api as a script would, with cookies, and returns
// the status and headers.
func apiCall(app string, cookies []*http.Cookie) (int, http.Header, string) {
	req, _ := http.NewRequest("GET", app+"/api", nil)
	req.Header.Set("Accept", "application/json")
	testenv.AddCookies(req, cookies)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	return resp.StatusCode, resp.Header, string(body)
}
