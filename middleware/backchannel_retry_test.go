package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/seam"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// blip makes the next call that ends sessions fail as a store blip would.
type blip struct{ on atomic.Bool }

func (b *blip) fail() error {
	if b.on.Swap(false) {
		return fmt.Errorf("%w: a blip", session.ErrUnavailable)
	}
	return nil
}

// blippingStore is the Redis store whose EndSessions can blip: its
// plumbing, which the middleware finds through internal/seam, is the
// store's but for EndSessions.
type blippingStore struct {
	*redisstore.Store
	*blip
}

// redisPlumbing is what the middleware finds of a Redis store.
type redisPlumbing interface {
	middleware.SharedStore
	middleware.ReplayCache
	middleware.OriginBinder
	middleware.Timed
	middleware.Pinger
}

type blippingPlumbing struct {
	redisPlumbing
	*blip
}

func (p blippingPlumbing) EndSessions(ctx context.Context, keys ...string) (int, error) {
	if err := p.fail(); err != nil {
		return 0, err
	}
	return p.redisPlumbing.EndSessions(ctx, keys...)
}

// blippingDeny is a deny list whose Deny can blip.
type blippingDeny struct {
	session.DenyList
	*blip
}

// blippingRedisDeny is Redis's deny list, whose Deny can blip; the
// middleware finds the list's replay cache through it.
type blippingRedisDeny struct {
	blippingDeny
	replays *redisstore.DenyList
}

func init() {
	seam.Register(func(v any) (any, bool) {
		switch v := v.(type) {
		case blippingStore:
			return blippingPlumbing{seam.Of(v.Store).(redisPlumbing), v.blip}, true
		case blippingRedisDeny:
			return struct{ middleware.ReplayCache }{seam.Of(v.replays).(middleware.ReplayCache)}, true
		}
		return nil, false
	})
}

func (d blippingDeny) Deny(ctx context.Context, key string, at time.Time, ttl time.Duration) error {
	if err := d.fail(); err != nil {
		return err
	}
	return d.DenyList.Deny(ctx, key, at, ttl)
}

// TestBackchannelLogoutRetriedAfterFailure (attack review, finding 4): the
// logout token's jti was recorded before the sessions were ended, so when
// ending them failed (503) the provider's retry of the same token was
// refused as a replay (400) and the user stayed signed in. A retry after a
// failure must end the sessions; a replay after success must not be
// accepted. For the Redis store, cookies with the deny list in Redis, and
// cookies with the in-process deny list.
func TestBackchannelLogoutRetriedAfterFailure(t *testing.T) {
	for _, store := range []string{"redis", "cookie+redis deny list", "cookie"} {
		t.Run(store, func(t *testing.T) {
			b := &blip{}
			o := clusterOptions{instances: 1, noRedis: store != "redis"}
			o.mw = func(cfg *middleware.Config) {
				switch store {
				case "redis":
					cfg.Store = blippingStore{Store: cfg.Store.(*redisstore.Store), blip: b}
				case "cookie+redis deny list":
					rc := testenv.StartRedis(t).Client()
					t.Cleanup(func() { rc.Close() })
					dl := &redisstore.DenyList{Client: rc}
					cfg.DenyList = blippingRedisDeny{blippingDeny{DenyList: dl, blip: b}, dl}
				case "cookie":
					cfg.DenyList = blippingDeny{DenyList: &session.MemoryDenyList{}, blip: b}
				}
			}
			c := newCluster(t, o)
			alice := c.signIn(t, devprovider.DemoUser)
			app := c.apps[0].URL
			token := c.op.Sign(logoutClaims(c.op, devprovider.DemoUser.ID, ""))

			b.on.Store(true)
			if status := postLogout(t, app, token); status != http.StatusServiceUnavailable {
				t.Fatalf("logout while the store blips: %d, want 503", status)
			}
			if who := whoami(t, alice, app); !strings.HasSuffix(who, devprovider.DemoUser.ID) {
				t.Fatalf("after the failed logout: %q", who)
			}
			if status := postLogout(t, app, token); status != http.StatusOK {
				t.Fatalf("the provider's retry of the same token: %d, want 200", status)
			}
			if who := whoami(t, alice, app); who != "anonymous" {
				t.Errorf("after the retried logout: %q, want anonymous", who)
			}
			if status := postLogout(t, app, token); status != http.StatusBadRequest {
				t.Errorf("a replay after success: %d, want 400", status)
			}
		})
	}
}

// TestLogoutTokenWithoutExp (interop, finding 6): a widely deployed
// certified provider sends back-channel logout tokens with iat and no exp;
// every one was refused ("logout token must contain an 'exp' claim") and no
// session ended. A token without exp whose iat is within LogoutTokenMaxAge
// is accepted; exp is enforced when present; everything else stays strict.
func TestLogoutTokenWithoutExp(t *testing.T) {
	c := newCluster(t, clusterOptions{instances: 1, noRedis: true})
	app := c.apps[0].URL
	alice := c.signIn(t, devprovider.DemoUser)
	for _, tc := range []struct {
		name  string
		edit  func(map[string]any)
		alive bool
	}{
		{"without exp, stale iat", func(cl map[string]any) {
			delete(cl, "exp")
			cl["iat"] = time.Now().Add(-10 * time.Minute).Unix()
		}, true},
		{"expired exp", func(cl map[string]any) { cl["exp"] = time.Now().Add(-2 * time.Minute).Unix() }, true},
		{"without exp, with a nonce", func(cl map[string]any) { delete(cl, "exp"); cl["nonce"] = "n" }, true},
		{"without exp, without jti", func(cl map[string]any) { delete(cl, "exp"); delete(cl, "jti") }, true},
		{"without exp", func(cl map[string]any) { delete(cl, "exp") }, false},
	} {
		cl := logoutClaims(c.op, devprovider.DemoUser.ID, "")
		tc.edit(cl)
		want := http.StatusOK
		if tc.alive {
			want = http.StatusBadRequest
		}
		if status := postLogout(t, app, c.op.Sign(cl)); status != want {
			t.Errorf("%s: %d, want %d", tc.name, status, want)
		}
		if who := whoami(t, alice, app); strings.HasSuffix(who, devprovider.DemoUser.ID) != tc.alive {
			t.Errorf("%s: %q after it", tc.name, who)
		}
	}
}
