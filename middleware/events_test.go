package middleware_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

type eventLog struct {
	mu sync.Mutex
	ev []event.Event
}

func (l *eventLog) hook(ctx context.Context, e event.Event) {
	testenv.CollectEvent(ctx, e) // the secret scan sees these too
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ev = append(l.ev, e)
}

// take returns the kinds recorded since the last take.
func (l *eventLog) take() []event.Kind {
	l.mu.Lock()
	defer l.mu.Unlock()
	var k []event.Kind
	for _, e := range l.ev {
		k = append(k, e.Kind)
	}
	l.ev = nil
	return k
}

func expectKinds(t *testing.T, step string, got []event.Kind, want ...event.Kind) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: events %v, want %v", step, got, want)
	}
}

// TestEventsPerStep: each step of sign-in, API call, refresh, sign-out and
// a rejected callback emits its event exactly once, in order.
func TestEventsPerStep(t *testing.T) {
	var log eventLog
	env := testenv.New(t, testenv.Options{OP: shortLived(3 * time.Second),
		Middleware: func(c *middleware.Config) { c.OnEvent = log.hook }})
	hc := testenv.Browser()

	authURL := env.StartLogin(t, hc, "/profile")
	expectKinds(t, "login", log.take(), event.LoginStarted)
	cb := env.ProviderLogin(t, hc, authURL)
	callback(t, env, hc, cb.String())
	expectKinds(t, "callback", log.take(), event.CallbackReceived, event.StateChecked, event.CodeExchanged,
		event.IDTokenVerified, event.SessionSaved)

	env.APIRequest(t, hc)
	expectKinds(t, "API call", log.take(), event.APIRequest)

	waitDue(t, env, hc)
	env.APIRequest(t, hc)
	// The refreshed session is placed in the response as soon as it is
	// refreshed, before the handler runs.
	expectKinds(t, "API call at expiry", log.take(), event.RefreshStarted, event.IDTokenVerified, event.RefreshDone,
		event.SessionSaved, event.APIRequest)

	callback(t, env, hc, cb.String())
	expectKinds(t, "replayed callback", log.take(), event.CallbackReceived, event.Rejected)

	resp, err := hc.Post(env.App.URL+"/auth/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	log.mu.Lock()
	last := log.ev[len(log.ev)-1]
	log.mu.Unlock()
	expectKinds(t, "logout", log.take(), event.Logout)
	revoked, said := false, false
	for _, a := range last.Attrs {
		if a.Key == "revoked" {
			revoked, said = a.Value.Bool(), true
		}
	}
	if !said || !revoked || env.OP.RevokedRefreshTokens() != 1 {
		t.Errorf("logout event: revoked=%v (attribute present %v), the OP revoked %d; want the event to say what the OP did", revoked, said, env.OP.RevokedRefreshTokens())
	}
}

// TestEventsUserinfoAndDedup: userinfo (when configured) and a deduplicated
// refresh each have their event, once per step.
func TestEventsUserinfoAndDedup(t *testing.T) {
	var log eventLog
	env := testenv.New(t, testenv.Options{OP: shortLived(4 * time.Second),
		Client:     func(c *client.Config) { c.FetchUserInfo = true },
		Middleware: func(c *middleware.Config) { c.OnEvent = log.hook }})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	got := log.take()
	if n := count(got, event.UserinfoFetched); n != 1 {
		t.Errorf("userinfo.fetched %d times in %v", n, got)
	}
	waitDue(t, env, hc)
	st := storm(t, env, hc.Jar, 5)
	if st[200] != 5 {
		t.Fatalf("storm %v", st)
	}
	got = log.take()
	if count(got, event.RefreshStarted) != 1 || count(got, event.RefreshDone) != 1 || count(got, event.RefreshDeduplicated) != 4 {
		t.Errorf("5 concurrent requests at expiry: %v; want 1 refresh started and done, 4 deduplicated", got)
	}
}

func count(ks []event.Kind, k event.Kind) int {
	n := 0
	for _, x := range ks {
		if x == k {
			n++
		}
	}
	return n
}
