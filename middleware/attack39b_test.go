package middleware_test

// A second attack review of Shared Signals and the users' session lists
// (#39), after the fixes of attack39_test.go. Each test fails on the code
// as it is and passes once the weakness it names is fixed.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/devprovider/ssftx"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// atk39bSignInClaims signs user in through instance 0 with claims set in
// the ID token the OP issues (an address not yet verified, a former
// address).
func atk39bSignInClaims(t *testing.T, s *ssfCluster, user devprovider.User, claims map[string]any) *http.Client {
	hc, _ := atk39bSignInRT(t, s, user, claims)
	return hc
}

// atk39bSignInRT is atk39bSignInClaims that also returns the refresh
// token the sign-in got.
func atk39bSignInRT(t *testing.T, s *ssfCluster, user devprovider.User, claims map[string]any) (*http.Client, string) {
	t.Helper()
	var rt string
	s.op.SetTokenHook(func(resp map[string]any) {
		rt, _ = resp["refresh_token"].(string)
		raw, ok := resp["id_token"].(string)
		if !ok {
			return
		}
		parts := strings.Split(raw, ".")
		var cl map[string]any
		b, _ := base64URL(parts[1])
		jsonUnmarshal(b, &cl)
		for k, v := range claims {
			cl[k] = v
		}
		resp["id_token"] = s.op.Sign(cl)
	})
	defer s.op.SetTokenHook(nil)
	hc := s.signIn(t, user)
	return hc, rt
}

// TestAttack39bEmailSubjectSparesUsersOtherSessions: RISC account-disabled
// (SignalEndUser: "ends every session of the user and revokes their
// refresh tokens and grants") about an email subject resolves the email to
// the user (alice's sub, through the sessions whose email is verified) and
// revokes the refresh tokens of every session of that user and their
// grants, but ends only the sessions indexed under that email. A session of
// the same user whose ID token carried another address, or the same one
// not yet verified (she signed in on her laptop before verifying it, or
// before changing it), is not ended: it goes on with its access token.
// With cookie sessions the user's whole list is dropped as well
// (revokeTokens), so that session is no longer "known": a later event
// about alice by her sub writes nothing and that session survives it too.
func TestAttack39bEmailSubjectSparesUsersOtherSessions(t *testing.T) {
	for _, store := range []string{"redis", "cookie"} {
		t.Run(store, func(t *testing.T) {
			s := newSSFCluster(t, clusterOptions{instances: 1, denyList: store == "cookie"}, middleware.SharedSignals{})
			laptop := atk39bSignInClaims(t, s, devprovider.DemoUser, map[string]any{"email_verified": false})
			phone := s.signIn(t, devprovider.DemoUser)
			me := "op:" + devprovider.DemoUser.ID
			s.expect(t, "signed in", map[*http.Client]string{laptop: me, phone: me})
			revoked := s.op.RevokedRefreshTokens()
			s.deliver(t, s.tx.SET(s.stream(t), ssftx.AccountDisabled,
				map[string]any{"format": "email", "email": devprovider.DemoUser.Email}, map[string]any{}))
			t.Logf("account-disabled by email: %d refresh tokens revoked", s.op.RevokedRefreshTokens()-revoked)
			if who := whoami(t, phone, s.apps[0].URL); who != "anonymous" {
				t.Fatalf("phone (email verified) after account-disabled by email: %q", who)
			}
			if who := whoami(t, laptop, s.apps[0].URL); who != "anonymous" {
				t.Errorf("account-disabled named alice by her verified email (resolved to her sub, whose refresh tokens and grants were revoked): "+
					"her other session (ID token without email_verified) is still signed in: %q", who)
			}
			// The same user, now by her sub.
			s.deliver(t, s.tx.SET(s.stream(t), ssftx.AccountDisabled, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{}))
			if who := whoami(t, laptop, s.apps[0].URL); who != "anonymous" {
				t.Errorf("then account-disabled by iss_sub for alice: her laptop session is still signed in: %q", who)
			}
		})
	}
}

// atk39bHoldRevocation makes the OP's revocation endpoint hold its first
// request until release is closed (a slow provider), then answer as usual.
func atk39bHoldRevocation(t *testing.T, op *devprovider.Provider) (entered <-chan struct{}, release func()) {
	t.Helper()
	in, out := make(chan struct{}), make(chan struct{})
	var once, rel sync.Once
	op.SetFault(devprovider.PathRevoke, func(w http.ResponseWriter, r *http.Request) {
		first := false
		once.Do(func() { first = true })
		if first {
			close(in)
			select {
			case <-out:
			case <-time.After(20 * time.Second):
			}
		}
		op.Inner().ServeHTTP(w, r)
	})
	t.Cleanup(func() { rel.Do(func() { close(out) }) })
	return in, func() { rel.Do(func() { close(out) }) }
}

// TestAttack39bListWipedUnderNewSession: an event that ends a user's
// sessions (and EndUserSessions) denies them as of now, revokes the
// refresh tokens it read, and then deletes the user's whole session list
// (revokeTokens: DeleteEntries(user)). A session the user makes while the
// revocations run (one provider call per listed session, each up to the
// provider's timeout) is rightly not ended, but its list entry is deleted
// with the others. With cookie sessions the receiver writes deny-list
// entries only for users the lists know, so that live session is from then
// on invisible: a later account-disabled about the same user is
// acknowledged, ends nothing and revokes nothing (and Sessions no longer
// shows it).
func TestAttack39bListWipedUnderNewSession(t *testing.T) {
	s := newSSFCluster(t, clusterOptions{instances: 2, denyList: true}, middleware.SharedSignals{})
	st := s.stream(t)
	old := s.signIn(t, devprovider.DemoUser)
	entered, release := atk39bHoldRevocation(t, s.op)
	done := make(chan int, 1)
	go func() {
		status, _, _ := s.tx.Push(st, s.tx.SET(st, ssftx.SessionRevoked, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{}))
		done <- status
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the event never revoked a refresh token")
	}
	time.Sleep(5 * time.Millisecond) // the new session is made after the event's "now"
	fresh := s.signIn(t, devprovider.DemoUser)
	release()
	if status := <-done; status != http.StatusAccepted {
		t.Fatalf("session-revoked: %d", status)
	}
	me := "op:" + devprovider.DemoUser.ID
	s.expect(t, "after session-revoked", map[*http.Client]string{old: "anonymous", fresh: me})

	revoked := s.op.RevokedRefreshTokens()
	s.deliver(t, s.tx.SET(st, ssftx.AccountDisabled, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{}))
	if who := whoami(t, fresh, s.apps[1].URL); who != "anonymous" {
		t.Errorf("account-disabled for alice: her session made while the previous event revoked tokens is still signed in (%q); %d refresh tokens revoked",
			who, s.op.RevokedRefreshTokens()-revoked)
	}
}

// atk39bFailHSet fails the HSET commands (and pipelines with one) of a
// Redis client while on is set: a Redis that drops a connection now and
// then.
type atk39bFailHSet struct{ on *atomic.Bool }

func (h atk39bFailHSet) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h atk39bFailHSet) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.on.Load() && cmd.Name() == "hset" {
			cmd.SetErr(errors.New("connection reset by peer"))
			return cmd.Err()
		}
		return next(ctx, cmd)
	}
}
func (h atk39bFailHSet) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.on.Load() && slices.ContainsFunc(cmds, func(c redis.Cmder) bool { return c.Name() == "hset" }) {
			err := errors.New("connection reset by peer")
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		return next(ctx, cmds)
	}
}

// TestAttack39bUnlistedSessionIgnoresEvents: with cookie sessions the
// receiver writes a deny-list entry only for a user the session lists
// know. A sign-in whose list entry could not be written (Redis blipped
// at that moment; the callback signs the user in all the same and only
// reports it) leaves a session no security event reaches: account-disabled
// about that user is answered 202, so the transmitter never sends it
// again, and it ends nothing and revokes nothing. The session goes on
// until it next refreshes or is touched, or, for a session not used for a
// while, until it is used again, whatever the provider said meanwhile.
func TestAttack39bUnlistedSessionIgnoresEvents(t *testing.T) {
	var failing atomic.Bool
	s := newSSFCluster(t, clusterOptions{instances: 1, denyList: true, mw: func(cfg *middleware.Config) {
		cfg.DenyList.(*redisstore.DenyList).Client.AddHook(atk39bFailHSet{on: &failing})
	}}, middleware.SharedSignals{})
	failing.Store(true)
	alice := s.signIn(t, devprovider.DemoUser)
	failing.Store(false)
	if who := whoami(t, alice, s.apps[0].URL); who != "op:"+devprovider.DemoUser.ID {
		t.Fatalf("signed in: %q", who)
	}
	revoked := s.op.RevokedRefreshTokens()
	s.deliver(t, s.tx.SET(s.stream(t), ssftx.AccountDisabled, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{}))
	if who := whoami(t, alice, s.apps[0].URL); who != "anonymous" {
		t.Errorf("account-disabled for alice was acknowledged (202): her session, whose list entry a Redis blip at sign-in lost, is still signed in (%q); %d refresh tokens revoked",
			who, s.op.RevokedRefreshTokens()-revoked)
	}
}

// TestAttack39bSlowActionActedOnTwice: receive marks a SET "busy" for 2
// minutes while it acts on it, and a second delivery meanwhile is meant to
// get 503 ("it has not taken effect yet"). Nothing bounds the action to 2
// minutes: it revokes every listed refresh token of the user, one provider
// call each (up to the provider client's 10 s timeout), then the grants.
// With a slow revocation endpoint the busy mark expires while the first
// delivery still acts; the transmitter's retry (or the same push at
// another instance) then acts on the same SET again, with a later "now":
// it ends, and revokes the refresh token of, a session the user made
// after the event, which the docs promise a replay never does ("ends
// nothing (not even a session made since)"). The first delivery's Forget
// then also removes the second one's busy mark. (A clock of the
// middleware's stands in for the two minutes; the in-memory replay cache
// reads it, as Redis's TTL counts real ones.)
func TestAttack39bSlowActionActedOnTwice(t *testing.T) {
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	s := newSSFCluster(t, clusterOptions{instances: 1, noRedis: true, mw: func(cfg *middleware.Config) {
		cfg.Now = now
		cs, err := session.NewCookieStore(session.CookieConfig{Keys: c0Keys(t, cfg), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Store = cs
	}}, middleware.SharedSignals{})
	st := s.stream(t)
	s.signIn(t, devprovider.DemoUser)
	set := s.tx.SET(st, ssftx.SessionRevoked, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{})
	entered, release := atk39bHoldRevocation(t, s.op)
	first := make(chan int, 1)
	go func() {
		status, _, _ := s.tx.Push(st, set)
		first <- status
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the event never revoked a refresh token")
	}
	offset.Add(int64(2*time.Minute + 5*time.Second)) // the revocation is slow
	fresh := s.signIn(t, devprovider.DemoUser)       // alice signs in again meanwhile
	revoked := s.op.RevokedRefreshTokens()
	second, code, err := s.tx.Push(st, set) // the transmitter's retry of the same SET
	if err != nil {
		t.Fatal(err)
	}
	secondRevoked := s.op.RevokedRefreshTokens() - revoked
	release()
	t.Logf("first delivery: %d; second (same jti, while the first still acts): %d %q, %d refresh tokens revoked by it", <-first, second, code, secondRevoked)
	if who := whoami(t, fresh, s.apps[0].URL); who != "op:"+devprovider.DemoUser.ID {
		t.Errorf("the same SET delivered again while its first delivery was still acting (over 2 minutes) was acted on again: "+
			"alice's session made after the event was ended (%q)", who)
	}
}

// TestAttack39bNoUserAgentListUnbounded: a user's session list is pruned
// (ended sessions dropped, at most maxListed = 100 kept) only by a sign-in
// that has a device: record returns before pruning when the User-Agent is
// empty (or only unprintable characters). Sign-ins without one (a script,
// curl, a client that sends none) add an entry each (its sealed refresh
// token and deny keys) and never prune: the list, which Sessions, every
// later sign-in, EndUserSessions and each security event about the user
// read whole (and revoke one refresh token per entry), grows with every
// sign-in. Here 105 live sessions are listed.
func TestAttack39bNoUserAgentListUnbounded(t *testing.T) {
	c := newCluster(t, clusterOptions{instances: 1, denyList: true})
	sessionRoutes(t, c)
	var last *http.Client
	for range 105 {
		last = c.signInAs(t, devprovider.DemoUser, "")
	}
	list := listSessions(t, last, c.apps[0].URL)
	if len(list) > 100 {
		t.Errorf("after 105 sign-ins without a User-Agent, %d sessions listed: the list is not kept to 100", len(list))
	}
}

// TestAttack39bRefreshedSessionListedAsIdle: with cookie sessions the
// list takes a session as ended by its idle timeout when its "last seen"
// field is older than Idle (24 h), and deletes its entry. That field is
// written only by the idle timeout's touch (a request over 5 minutes
// after the last save that needs no refresh); a request that refreshes
// the session saves the cookie (LastSeen: now, so the session lives on)
// but writes no "last seen". A user who comes back every few hours for a
// moment (one request, which refreshes the expired access token) has a
// live session that, a day after sign-in, Sessions (or any sign-in of the
// user, which prunes) takes for idle-expired: its entry is deleted. With
// nothing else listed the user is no longer "known": account-disabled
// about them is acknowledged and ends nothing.
func TestAttack39bRefreshedSessionListedAsIdle(t *testing.T) {
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	s := newSSFCluster(t, clusterOptions{instances: 1, denyList: true,
		op:     func(cfg *devprovider.Config) { cfg.Now = now },
		client: func(cfg *client.Config) { cfg.Now = now },
		mw: func(cfg *middleware.Config) {
			cfg.Now = now
			cs, err := session.NewCookieStore(session.CookieConfig{Keys: c0Keys(t, cfg), Now: now})
			if err != nil {
				t.Fatal(err)
			}
			cfg.Store = cs
		}}, middleware.SharedSignals{})
	sessionRoutes(t, s.cluster)
	laptop := s.signIn(t, devprovider.DemoUser)
	me := "op:" + devprovider.DemoUser.ID
	refreshes := s.op.Count(devprovider.PathToken)
	for range 9 {
		offset.Add(int64(3 * time.Hour)) // a look every 3 hours: within Idle, the access token expired
		if who := whoami(t, laptop, s.apps[0].URL); who != me {
			t.Fatalf("after %s: %q", time.Duration(offset.Load()), who)
		}
	}
	t.Logf("%d token requests in 27 h of use", s.op.Count(devprovider.PathToken)-refreshes)
	list := listSessions(t, laptop, s.apps[0].URL)
	t.Logf("listed: %+v", list)
	st := s.stream(t)
	set := s.tx.Sign(map[string]any{"iss": s.tx.Issuer, "aud": st.Aud, "jti": "atk39b-idle", "iat": now().Unix(),
		"sub_id": issSub(s.op.Issuer, devprovider.DemoUser.ID), "events": map[string]any{ssftx.AccountDisabled: map[string]any{}}})
	s.deliver(t, set)
	if who := whoami(t, laptop, s.apps[0].URL); who != "anonymous" {
		t.Errorf("account-disabled for alice: her session, used every 3 hours for 27 hours (each time by a refresh), "+
			"was taken for idle-expired by the list and is still signed in: %q", who)
	}
}

// TestAttack39bComplexSubjectMarksFillDenyList: events about subjects the
// app has no session of were made to write nothing (the fix of
// TestAttack39UnknownSubjectsFillDenyList), but mark skips its check for
// the "sidsub" keys of a complex subject with a user and a session: the
// lists never hold such a key, so known is false, and the key is written
// anyway. Every token-claims-change (or assurance-level-change) naming a
// session with its user, for any of the provider's users, writes a mark
// into the deny list for the deny TTL. A MemoryDenyList full of them
// refuses new entries: then an event about the app's own user fails (503)
// and sign-outs fail. (Scaled down: Max 20.)
func TestAttack39bComplexSubjectMarksFillDenyList(t *testing.T) {
	s := newSSFCluster(t, clusterOptions{instances: 1, noRedis: true, mw: func(cfg *middleware.Config) {
		cfg.DenyList = &session.MemoryDenyList{Max: 20}
	}}, middleware.SharedSignals{})
	st := s.stream(t)
	alice := s.signIn(t, devprovider.DemoUser)
	for i := range 30 {
		subject := map[string]any{"format": "complex",
			"user":    issSub(s.op.Issuer, fmt.Sprintf("someone-else-%d", i)),
			"session": map[string]any{"format": "opaque", "id": fmt.Sprintf("idp-session-%d", i)}}
		if status, code, err := s.tx.Push(st, s.tx.SET(st, ssftx.TokenClaimsChange, subject, map[string]any{})); err != nil || status != http.StatusAccepted {
			t.Errorf("token-claims-change %d about a user with no session here: %d %q %v, want 202 (acknowledged, nothing done)", i, status, code, err)
			break
		}
	}
	status, code, _ := s.tx.Push(st, s.tx.SET(st, ssftx.CredentialChange, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{}))
	if status != http.StatusAccepted {
		t.Errorf("credential-change for alice after token-claims-change events about other users: %d %q, want 202", status, code)
	}
	if who := whoami(t, alice, s.apps[0].URL); who != "anonymous" {
		t.Errorf("alice after credential-change: %q", who)
	}
}

// atk39bHoldSetNX holds the first SET … NX of a Redis client after it is
// armed (a slow round trip) until release, without regard to the
// command's deadline.
type atk39bHoldSetNX struct {
	armed   *atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (h atk39bHoldSetNX) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h atk39bHoldSetNX) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if cmd.Name() == "set" && len(args) > 0 && fmt.Sprint(args[len(args)-1]) == "nx" && h.armed.CompareAndSwap(true, false) {
			close(h.entered)
			<-h.release
		}
		return next(ctx, cmd)
	}
}
func (h atk39bHoldSetNX) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestAttack39bReplayBetweenSeenAndBusy: receive checks "done", then
// takes "busy", then acts, without checking "done" again once it holds
// "busy". A delivery of the same SET at another instance that read "done"
// just before the first delivery finished (writing "done", then deleting
// "busy") takes the freed "busy" and acts on the SET a second time, with
// its own "now": it ends a session the user made after the event, which a
// replay must never do. (The second instance's SET NX is held here for a
// moment; in production, one Redis round trip while the first finishes.)
func TestAttack39bReplayBetweenSeenAndBusy(t *testing.T) {
	hold := atk39bHoldSetNX{armed: &atomic.Bool{}, entered: make(chan struct{}), release: make(chan struct{})}
	var n atomic.Int32
	s := newSSFCluster(t, clusterOptions{instances: 2, denyList: true, mw: func(cfg *middleware.Config) {
		if n.Add(1) == 2 { // instance 1
			cfg.DenyList.(*redisstore.DenyList).Client.AddHook(hold)
		}
	}}, middleware.SharedSignals{})
	st := s.stream(t)
	s.signIn(t, devprovider.DemoUser)
	set := s.tx.SET(st, ssftx.SessionRevoked, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{})
	at1 := st
	at1.Delivery.EndpointURL = s.apps[1].URL + "/auth/ssf"
	hold.armed.Store(true)
	second := make(chan int, 1)
	go func() {
		status, _, _ := s.tx.Push(at1, set)
		second <- status
	}()
	select {
	case <-hold.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("instance 1 never took busy")
	}
	released := false
	defer func() {
		if !released {
			close(hold.release)
		}
	}()
	if status, code, err := s.tx.Push(st, set); err != nil || status != http.StatusAccepted {
		t.Fatalf("first delivery, at instance 0: %d %q %v", status, code, err)
	}
	fresh := s.signIn(t, devprovider.DemoUser) // made after the event took effect
	close(hold.release)
	released = true
	t.Logf("the same SET at instance 1 (done read before instance 0 finished): %d", <-second)
	if who := whoami(t, fresh, s.apps[0].URL); who != "op:"+devprovider.DemoUser.ID {
		t.Errorf("a second delivery of the SET was acted on after the first had taken effect: alice's session made after the event was ended (%q)", who)
	}
}

// TestAttack39bRestartForgetsSessions: Setup's default (cookie sessions,
// no Redis) keeps the deny list and the session lists in the process's
// memory, and takes those lists as knowing every session (listsShared:
// a MemoryDenyList). The cookies outlive the process; the lists do not.
// After a restart (a deploy) every session signed in before it is
// unknown: an account-disabled or credential-compromise about its user
// is acknowledged (202: never sent again), ends nothing and revokes
// nothing, and the session runs to its absolute timeout. Before the
// known-subject gating the same event ended it. (Instance 1 is the app
// after its restart: the same keys, an empty memory.)
func TestAttack39bRestartForgetsSessions(t *testing.T) {
	key := testenv.NewKey()
	s := newSSFCluster(t, clusterOptions{instances: 2, noRedis: true, mw: func(cfg *middleware.Config) {
		cs, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{key}})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Store = cs
	}}, middleware.SharedSignals{})
	st := s.stream(t)
	alice := s.signIn(t, devprovider.DemoUser) // before the restart
	restarted := st
	restarted.Delivery.EndpointURL = s.apps[1].URL + "/auth/ssf"
	if who := whoami(t, alice, s.apps[1].URL); who != "op:"+devprovider.DemoUser.ID {
		t.Fatalf("after the restart: %q", who)
	}
	revoked := s.op.RevokedRefreshTokens()
	if status, code, err := s.tx.Push(restarted, s.tx.SET(st, ssftx.CredentialCompromise, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{})); err != nil || status != http.StatusAccepted {
		t.Fatalf("credential-compromise: %d %q %v", status, code, err)
	}
	if who := whoami(t, alice, s.apps[1].URL); who != "anonymous" {
		t.Errorf("credential-compromise for alice, received after a restart: acknowledged, and her session made before the restart is still signed in (%q); %d refresh tokens revoked",
			who, s.op.RevokedRefreshTokens()-revoked)
	}
}

// atk39bHoldIndexDel holds the first removal from a session index key
// ("confidant:i:…": the DEL of the whole index, or the ZREM of the
// entries read) after it is armed, until release: the moment between the
// reading of the index and the removal.
type atk39bHoldIndexDel struct {
	armed   *atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (h atk39bHoldIndexDel) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h atk39bHoldIndexDel) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if (cmd.Name() == "del" || cmd.Name() == "zrem") && len(args) >= 2 && strings.HasPrefix(fmt.Sprint(args[1]), "confidant:i:") && h.armed.CompareAndSwap(true, false) {
			close(h.entered)
			<-h.release
		}
		return next(ctx, cmd)
	}
}
func (h atk39bHoldIndexDel) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestAttack39bRedisNewSessionUnreachable: with redisstore.Store, ending
// a user's sessions reads the user's index (ZRANGE), deletes each session,
// then deletes the whole index (DEL); the receiver then drops the user's
// whole session list (revokeTokens). A session the user makes on any
// instance meanwhile is indexed between the two and loses its index entry
// with the DEL, and its list entry with the list: it is rightly not ended,
// but from then on nothing finds it. A later account-disabled (or
// back-channel logout, or EndUserSessions) about the user deletes nothing
// and revokes nothing, and the session lives to its absolute timeout.
func TestAttack39bRedisNewSessionUnreachable(t *testing.T) {
	hold := atk39bHoldIndexDel{armed: &atomic.Bool{}, entered: make(chan struct{}), release: make(chan struct{})}
	s := newSSFCluster(t, clusterOptions{instances: 2, store: func(rc *redisstore.Config) {
		rc.Client.AddHook(hold)
	}}, middleware.SharedSignals{})
	st := s.stream(t)
	old := s.signIn(t, devprovider.DemoUser)
	hold.armed.Store(true)
	done := make(chan int, 1)
	go func() {
		status, _, _ := s.tx.Push(st, s.tx.SET(st, ssftx.SessionRevoked, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{}))
		done <- status
	}()
	select {
	case <-hold.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the event never deleted the user's index")
	}
	fresh := s.signIn(t, devprovider.DemoUser) // at the same moment, on the app
	close(hold.release)
	if status := <-done; status != http.StatusAccepted {
		t.Fatalf("session-revoked: %d", status)
	}
	me := "op:" + devprovider.DemoUser.ID
	s.expect(t, "after session-revoked", map[*http.Client]string{old: "anonymous", fresh: me})

	revoked := s.op.RevokedRefreshTokens()
	s.deliver(t, s.tx.SET(st, ssftx.AccountDisabled, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{}))
	if who := whoami(t, fresh, s.apps[1].URL); who != "anonymous" {
		t.Errorf("account-disabled for alice: her Redis session made while the previous event ended her sessions is still signed in (%q); %d refresh tokens revoked",
			who, s.op.RevokedRefreshTokens()-revoked)
	}
}

// TestAttack39bEmailSubjectReachesFormerOwner: an email subject is
// resolved to the subjects listed under that address: every user who
// signed in with it verified within the deny TTL (7 to 30 days), since
// the list under an address only grows. When an address moves from one
// account to another (alice changed hers; the freed address was later
// verified by bob, as organizations recycle them), an account-disabled
// about bob, by his email, revokes alice's refresh tokens and ends her
// grants (connected APIs, BackgroundAccess) too, though none of her live
// sessions has that address.
func TestAttack39bEmailSubjectReachesFormerOwner(t *testing.T) {
	for _, store := range []string{"redis", "cookie"} {
		t.Run(store, func(t *testing.T) {
			s := newSSFCluster(t, clusterOptions{instances: 1, denyList: store == "cookie"}, middleware.SharedSignals{})
			sessionRoutes(t, s.cluster)
			const shared = "team-lead@example.com"
			// alice, when the address was hers; then after she changed it.
			before := atk39bSignInClaims(t, s, devprovider.DemoUser, map[string]any{"email": shared, "email_verified": true})
			alice, aliceRT := atk39bSignInRT(t, s, devprovider.DemoUser, nil)
			for _, l := range listSessions(t, alice, s.apps[0].URL) {
				if !l.Current {
					if status := post(t, alice, s.apps[0].URL+"/sessions/end?id="+l.ID); status != http.StatusNoContent {
						t.Fatalf("ending alice's old session: %d", status)
					}
				}
			}
			if who := whoami(t, before, s.apps[0].URL); who != "anonymous" {
				t.Fatalf("alice's session with the old address: %q", who)
			}
			if aliceRT == "" || !s.op.RefreshTokenValid(aliceRT) {
				t.Fatalf("alice's refresh token before the event: %q", aliceRT)
			}
			// bob has the address now.
			bob := atk39bSignInClaims(t, s, otherUser, map[string]any{"email": shared, "email_verified": true})
			s.deliver(t, s.tx.SET(s.stream(t), ssftx.AccountDisabled, map[string]any{"format": "email", "email": shared}, map[string]any{}))
			if who := whoami(t, bob, s.apps[0].URL); who != "anonymous" {
				t.Fatalf("bob after account-disabled by his email: %q", who)
			}
			if who := whoami(t, alice, s.apps[0].URL); who != "op:"+devprovider.DemoUser.ID {
				t.Errorf("alice after account-disabled about bob's email: %q", who)
			}
			if !s.op.RefreshTokenValid(aliceRT) {
				t.Errorf("account-disabled about bob (by the address he now has) revoked the refresh token of alice's live session, which never had that address")
			}
		})
	}
}

// TestAttack39bRecreatedStreamRefusedElsewhere: a stream deleted at the
// transmitter is made again by the instance whose Ready notices it (a
// check at most once a minute). The other instances keep the stream they
// set up, its aud included, until their own Ready checks. A transmitter
// whose SETs carry the stream's own aud (SSF: aud is transmitter-supplied,
// per stream) pushes the new stream's SETs to the app's address, and
// those landing on another instance are refused 400 invalid_audience,
// which RFC 8935 says not to retry: the events are lost (for good, on an
// instance whose Ready is not called again: Setup calls it once). Receive
// does not look the stream up again before refusing a SET for its aud.
func TestAttack39bRecreatedStreamRefusedElsewhere(t *testing.T) {
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	s := newSSFCluster(t, clusterOptions{instances: 2, mw: func(cfg *middleware.Config) { cfg.Now = now }}, middleware.SharedSignals{})
	audOf := func(id string) string { return s.op.Issuer + "/ssf/streams/" + id }
	// The transmitter's streams, from now on, each with its own aud.
	s.op.SetFault("/ssf/streams", func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		s.tx.ServeHTTP(rec, r)
		var one map[string]any
		var many []map[string]any
		body := rec.Body.Bytes()
		switch {
		case json.Unmarshal(body, &many) == nil:
			for _, m := range many {
				m["aud"] = []string{audOf(fmt.Sprint(m["stream_id"]))}
			}
			body, _ = json.Marshal(many)
		case json.Unmarshal(body, &one) == nil && one["stream_id"] != nil:
			one["aud"] = []string{audOf(fmt.Sprint(one["stream_id"]))}
			body, _ = json.Marshal(one)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
	old := s.stream(t)
	req, _ := http.NewRequest(http.MethodDelete, s.op.Issuer+"/ssf/streams?stream_id="+old.ID, nil)
	req.Header.Set("Authorization", "Bearer "+atk39Token(t, s.cluster))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	offset.Add(int64(2 * time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err = s.apps[0].Auth.Ready(ctx) // instance 0's readiness probe: the stream is made again
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	st := s.stream(t)
	if st.ID == old.ID {
		t.Fatalf("the stream was not made again")
	}
	alice := s.signIn(t, devprovider.DemoUser)
	set := s.tx.Sign(map[string]any{"iss": s.tx.Issuer, "aud": audOf(st.ID), "jti": "atk39b-aud", "iat": time.Now().Unix(),
		"sub_id": issSub(s.op.Issuer, devprovider.DemoUser.ID), "events": map[string]any{ssftx.CredentialCompromise: map[string]any{}}})
	at1 := st
	at1.Delivery.EndpointURL = s.apps[1].URL + "/auth/ssf"
	status, code, err := s.tx.Push(at1, set)
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusAccepted {
		t.Errorf("a SET of the stream made again, pushed to the app's address and landing on instance 1: %d %q (not retried by the transmitter: the event is lost)", status, code)
	}
	if who := whoami(t, alice, s.apps[1].URL); who != "anonymous" {
		t.Errorf("alice after credential-compromise: %q", who)
	}
}
