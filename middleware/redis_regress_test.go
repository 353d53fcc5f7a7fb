package middleware_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// TestRedisLogoutTokenReplayedToAnotherInstance pins a review finding: the
// jti replay cache was per process, so a logout token replayed to a second
// instance ended a session created after the logout.
func TestRedisLogoutTokenReplayedToAnotherInstance(t *testing.T) {
	c := newCluster(t, clusterOptions{instances: 2})
	c.signIn(t, devprovider.DemoUser)
	valid := c.op.Sign(logoutClaims(c.op, devprovider.DemoUser.ID, ""))
	if status := postLogout(t, c.apps[0].URL, valid); status != http.StatusOK {
		t.Fatalf("valid logout token: %d", status)
	}
	again := c.signIn(t, devprovider.DemoUser) // signs in after the logout
	if status := postLogout(t, c.apps[1].URL, valid); status != http.StatusBadRequest {
		t.Errorf("token replayed to the other instance: %d, want 400", status)
	}
	if who := whoami(t, again, c.apps[1].URL); who != "op:"+devprovider.DemoUser.ID {
		t.Errorf("the replay ended a session made after the logout: %q", who)
	}
}

// TestRedisTouchDuringRefresh pins a review finding: a request that rolled
// the idle timeout while another refreshed made the refresh's
// compare-and-swap fail, so the rotated refresh token was lost (and with
// reuse detection the whole token family revoked).
func TestRedisTouchDuringRefresh(t *testing.T) {
	var clock testenv.Clock
	c := newCluster(t, clusterOptions{instances: 1,
		store: func(rc *redisstore.Config) {
			rc.Now = clock.Now
			rc.Timeouts = session.Timeouts{Idle: 24 * time.Minute, Absolute: time.Hour} // touch every minute
		},
		mw: func(mc *middleware.Config) { mc.Now = clock.Now }})
	hc := c.signIn(t, devprovider.DemoUser)
	app := c.apps[0]

	// A slow request, one minute after sign-in: not due, but its session
	// needs a touch. It waits inside its handler.
	clock.Set(time.Now().Add(90 * time.Second))
	inHandler, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/slow", app.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(inHandler)
		<-release
		w.Write([]byte("slow done"))
	})))
	mux.Handle("/", app.Server.Config.Handler)
	app.Server.Config.Handler = mux

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if resp, body := get(t, hc, app.URL+"/slow"); resp.StatusCode != 200 {
			t.Errorf("slow request: %d %s", resp.StatusCode, body)
		}
	}()
	<-inHandler
	// The token is due now: a refresh starts; while the provider works on
	// it, the slow request finishes (and, before the fix, wrote its touch).
	clock.Set(time.Now().Add(5 * time.Minute))
	c.op.SetFault(devprovider.PathToken, func(w http.ResponseWriter, r *http.Request) {
		close(release)
		wg.Wait()
		c.op.Inner().ServeHTTP(w, r)
	})
	if resp, body := get(t, hc, app.URL+"/whoami"); resp.StatusCode != 200 || body != "op:"+devprovider.DemoUser.ID {
		t.Fatalf("request that refreshed: %d %q", resp.StatusCode, body)
	}
	c.op.SetFault(devprovider.PathToken, nil)
	// The next refresh uses the rotated refresh token: no reuse, still signed in.
	clock.Set(time.Now().Add(10 * time.Minute))
	if who := whoami(t, hc, app.URL); who != "op:"+devprovider.DemoUser.ID {
		t.Errorf("after the overlapping touch and a second refresh: %q", who)
	}
	if n := c.op.ReusedRefreshTokens(); n != 0 {
		t.Errorf("%d rotated-away refresh tokens presented", n)
	}
}
