package middleware_test

// Attacks on the Shared Signals receiver (Config.SharedSignals), the
// sessions a user can see (Auth.Sessions, Auth.EndSession) and sign out
// everywhere, #39. Each test fails on the code as it is and passes once the
// weakness it names is fixed.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/devprovider/ssftx"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/redisstore"
	"github.com/confidant-go/confidant/session"
)

// atk39Mount serves a transmitter on the cluster's OP (as newSSFCluster
// does) without calling Ready.
func atk39Mount(t *testing.T, c *cluster) *ssftx.Transmitter {
	t.Helper()
	tx := ssftx.New(c.op.Issuer)
	tx.SetLongPoll(2 * time.Second)
	api := c.op.NewAPI()
	tx.Authorize = func(w http.ResponseWriter, r *http.Request) (string, bool) { return api.Subject(w, r) }
	for _, p := range tx.Paths() {
		c.op.Handle(p, tx)
	}
	return tx
}

// atk39Token is a client-credentials token of the app's client at the OP
// (what the transmitter's management API takes).
func atk39Token(t *testing.T, c *cluster) string {
	t.Helper()
	prov, err := client.Discover(context.Background(), c.op.Issuer, client.WithName("op"))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(client.Config{Provider: prov, ClientID: "app", ClientSecret: "app-secret",
		RedirectURL: c.apps[0].URL + "/auth/callback", Scopes: []string{"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cl.ClientCredentials(context.Background(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// TestAttack39EndUserByEmailKeepsGrants: RISC account-disabled (and
// credential-change, credential-compromise, account-purged: SignalEndUser)
// is documented to end every session of the user AND revoke their refresh
// tokens and grants, as EndUserSessions. RISC transmitters commonly name
// the subject by email. With an email subject the receiver only ends the
// sessions (through the email index): t.subject is empty, so
// revokeListed, endGrants and endSignInGrant are skipped. The disabled
// user's refresh tokens stay live at the provider, and with
// BackgroundAccess the kept sign-in grant (and connected APIs' grants) go
// on calling APIs for the disabled account.
func TestAttack39EndUserByEmailKeepsGrants(t *testing.T) {
	for _, store := range []string{"redis", "cookie"} {
		t.Run(store, func(t *testing.T) {
			s := newSSFCluster(t, clusterOptions{instances: 1, denyList: store == "cookie"}, middleware.SharedSignals{})
			alice := s.signIn(t, devprovider.DemoUser)
			if who := whoami(t, alice, s.apps[0].URL); who != "op:"+devprovider.DemoUser.ID {
				t.Fatalf("signed in: %q", who)
			}
			revoked := s.op.RevokedRefreshTokens()
			s.deliver(t, s.tx.SET(s.stream(t), ssftx.AccountDisabled,
				map[string]any{"format": "email", "email": devprovider.DemoUser.Email}, map[string]any{}))
			if who := whoami(t, alice, s.apps[0].URL); who != "anonymous" {
				t.Fatalf("after account-disabled by email: %q (the session should end)", who)
			}
			if n := s.op.RevokedRefreshTokens() - revoked; n != 1 {
				t.Errorf("account-disabled by (verified) email: %d refresh tokens revoked, want 1 (the session's, as EndUserSessions and an iss_sub subject do)", n)
			}
		})
	}
}

// TestAttack39ComplexEmailUserEndsOthersSession: a complex subject names
// a session (sid) and its user; the docs say the session is ended "only if
// it is the named user's". With the user given by email, the user is not
// checked at all: the sid's session is ended whoever's it is (t.subject is
// empty, so the key is the bare SID key).
func TestAttack39ComplexEmailUserEndsOthersSession(t *testing.T) {
	for _, store := range []string{"redis", "cookie"} {
		t.Run(store, func(t *testing.T) {
			s := newSSFCluster(t, clusterOptions{instances: 1, denyList: store == "cookie"}, middleware.SharedSignals{})
			alice := s.signInSID(t, devprovider.DemoUser, "sid-alice")
			bob := s.signIn(t, otherUser)
			// session-revoked: "bob's session sid-alice" (bob's verified
			// email, alice's sid). Not alice's session by its user.
			s.deliver(t, s.tx.SET(s.stream(t), ssftx.SessionRevoked, map[string]any{"format": "complex",
				"user":    map[string]any{"format": "email", "email": otherUser.Email},
				"session": map[string]any{"format": "opaque", "id": "sid-alice"}}, map[string]any{}))
			if who := whoami(t, alice, s.apps[0].URL); who != "op:"+devprovider.DemoUser.ID {
				t.Errorf("alice's session after a session-revoked naming her sid with bob's email as its user: %q, want still signed in", who)
			}
			if who := whoami(t, bob, s.apps[0].URL); who != "op:"+otherUser.ID {
				t.Errorf("bob: %q", who)
			}
		})
	}
}

// atk39DenyList is a deny list whose Deny of a user key can be held and
// made to fail (a Redis that stalls, then drops the connection).
type atk39DenyList struct {
	inner   *session.MemoryDenyList
	block   atomic.Bool
	entered chan struct{}
	release chan error
}

func (d *atk39DenyList) Deny(ctx context.Context, key string, at time.Time, ttl time.Duration) error {
	if strings.HasPrefix(key, "sub\x00") && d.block.Load() {
		d.entered <- struct{}{}
		if err := <-d.release; err != nil {
			return err
		}
	}
	return d.inner.Deny(ctx, key, at, ttl)
}

func (d *atk39DenyList) DeniedAt(ctx context.Context, keys ...string) (time.Time, error) {
	return d.inner.DeniedAt(ctx, keys...)
}

// TestAttack39ReplayWhileInFlightLosesEvent: receive records the SET's
// jti before acting on it and forgets it only if acting fails. A second
// delivery of the same SET that arrives meanwhile (the transmitter's retry
// after its timeout, or the same push on another instance) is answered 202
// as a replay, although nothing has taken effect yet. When the first
// attempt then fails (503), the transmitter has its 202 and never sends
// the event again: the credential change is lost and the session lives on.
func TestAttack39ReplayWhileInFlightLosesEvent(t *testing.T) {
	deny := &atk39DenyList{inner: &session.MemoryDenyList{}, entered: make(chan struct{}, 1), release: make(chan error, 1)}
	s := newSSFCluster(t, clusterOptions{instances: 1, noRedis: true, mw: func(cfg *middleware.Config) {
		cfg.DenyList = deny
	}}, middleware.SharedSignals{})
	alice := s.signIn(t, devprovider.DemoUser)
	st := s.stream(t)
	set := s.tx.SET(st, ssftx.CredentialChange, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{"change_type": "update"})

	deny.block.Store(true)
	first := make(chan int, 1)
	go func() {
		status, _, _ := s.tx.Push(st, set)
		first <- status
	}()
	select {
	case <-deny.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first delivery never reached the deny list")
	}
	deny.block.Store(false)
	// The transmitter gave up on the first push and sends it again.
	second, code, err := s.tx.Push(st, set)
	if err != nil {
		t.Fatal(err)
	}
	deny.release <- errors.New("redis: connection reset")
	firstStatus := <-first
	t.Logf("first delivery: %d (the transmitter had given up on it); second: %d %q", firstStatus, second, code)
	if second == http.StatusAccepted {
		if who := whoami(t, alice, s.apps[0].URL); who != "anonymous" {
			t.Errorf("the retry was acknowledged (202) while the first delivery had not taken effect, and the first then failed (%d): "+
				"the transmitter will not send it again and alice's session survives credential-change: %q", firstStatus, who)
		}
	}
}

// TestAttack39PollStorm: the poller acknowledges only SETs that took
// effect and polls again at once after a poll that brought SETs. When
// receive keeps failing with the app's own trouble (here the
// transmitter's jwks_uri answers 503; the same with the session store
// down), the transmitter hands back the same SETs at once and the poller
// spins: back-to-back polls and JWKS fetches (no key cached, so no
// 10-second limit), as fast as the network allows, until it recovers.
func TestAttack39PollStorm(t *testing.T) {
	s := newSSFCluster(t, clusterOptions{instances: 1}, middleware.SharedSignals{Poll: true})
	st := s.stream(t)
	s.op.SetFault("/ssf/jwks", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	jwks0, polls0 := s.op.Count("/ssf/jwks"), s.tx.Calls(http.MethodPost, "/ssf/poll")
	s.tx.Enqueue(st, s.tx.SET(st, ssftx.CredentialChange, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{}))
	time.Sleep(2 * time.Second)
	jwks, polls := s.op.Count("/ssf/jwks")-jwks0, s.tx.Calls(http.MethodPost, "/ssf/poll")-polls0
	t.Logf("in 2 s with the JWKS down: %d polls, %d JWKS fetches", polls, jwks)
	if polls > 10 || jwks > 10 {
		t.Errorf("in 2 s with the transmitter's JWKS down: %d polls and %d JWKS fetches; want a back-off (a handful at most)", polls, jwks)
	}
}

// TestAttack39JWKSOneForeignKey: the receiver decodes the transmitter's
// JWKS as a whole (jose.JSONWebKeySet): one key go-jose does not know (an
// X25519 encryption key, a post-quantum AKP key, an unknown kty; JWKS
// often hold such keys beside the signing ones) fails the decode, every
// SET is answered 503 (ProviderUnavailable) and none is ever verified:
// every event is lost while the transmitter retries. The client's own
// JWKS reader skips such keys and keeps the others.
func TestAttack39JWKSOneForeignKey(t *testing.T) {
	s := newSSFCluster(t, clusterOptions{instances: 1}, middleware.SharedSignals{})
	resp, err := http.Get(s.op.Issuer + "/ssf/jwks")
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	set.Keys = append(set.Keys, json.RawMessage(`{"kty":"OKP","crv":"X25519","use":"enc","kid":"enc-1","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`))
	body, _ := json.Marshal(set)
	s.op.SetFault("/ssf/jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	alice := s.signIn(t, devprovider.DemoUser)
	status, code, err := s.tx.Push(s.stream(t), s.tx.SET(s.stream(t), ssftx.CredentialChange, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{}))
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusAccepted {
		t.Errorf("a SET signed by the transmitter's signing key, its JWKS also holding an X25519 encryption key: %d %q, want 202", status, code)
	}
	if who := whoami(t, alice, s.apps[0].URL); who != "anonymous" {
		t.Errorf("alice after credential-change: %q", who)
	}
}

// TestAttack39ConcurrentReadyDuplicatesStreams: the stream is set up
// with a read-then-create that is serialized within one instance only.
// Instances that start together (a deployment's replicas) each find no
// stream and each create one: the transmitter then sends every event on
// every stream (acted on once per stream, each SET with its own jti), and
// with a transmitter whose aud is per stream, an instance refuses (400
// invalid_audience, not retried) the pushes of the streams it did not
// make, which land on it through the shared address: events lost.
func TestAttack39ConcurrentReadyDuplicatesStreams(t *testing.T) {
	c := newCluster(t, clusterOptions{instances: 3, mw: func(cfg *middleware.Config) {
		cfg.SharedSignals = &middleware.SharedSignals{}
	}})
	tx := atk39Mount(t, c)
	// The instances' reads of the stream list overlap (they start
	// together; the list takes a moment to answer): each read waits,
	// up to 2 s, for the other instances' to arrive.
	var gets atomic.Int32
	together := make(chan struct{})
	c.op.SetFault("/ssf/streams", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			if gets.Add(1) == int32(len(c.apps)) {
				close(together)
			}
			select {
			case <-together:
			case <-time.After(2 * time.Second):
			}
		}
		tx.ServeHTTP(w, r)
	})
	var wg sync.WaitGroup
	for i, app := range c.apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := app.Auth.Ready(ctx); err != nil {
				t.Errorf("instance %d: Ready: %v", i, err)
			}
		}()
		t.Cleanup(func() { app.Auth.Close() })
	}
	wg.Wait()
	if n := len(tx.Streams()); n != 1 {
		t.Errorf("three instances starting together made %d streams at the transmitter, want 1", n)
	}
}

// TestAttack39DeletedStreamNotRecreated: the receiver sets its stream up
// once and keeps it for the life of the process. When the stream is
// deleted at the transmitter (an administrator, a transmitter that
// expires idle streams), the poller gets 404 for ever (backing off up to
// 30 s) and never makes a new one, and Ready (the readiness check) keeps
// answering nil: no event reaches the app again until it restarts.
func TestAttack39DeletedStreamNotRecreated(t *testing.T) {
	s := newSSFCluster(t, clusterOptions{instances: 1}, middleware.SharedSignals{Poll: true})
	st := s.stream(t)
	req, _ := http.NewRequest(http.MethodDelete, s.op.Issuer+"/ssf/streams?stream_id="+st.ID, nil)
	req.Header.Set("Authorization", "Bearer "+atk39Token(t, s.cluster))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || len(s.tx.Streams()) != 0 {
		t.Fatalf("delete: %d, %d streams", resp.StatusCode, len(s.tx.Streams()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	readyErr := s.apps[0].Auth.Ready(ctx)
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.tx.Streams()) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(s.tx.Streams()); n == 0 {
		t.Errorf("the stream was deleted at the transmitter: 10 s later the receiver has made no new one (Ready said %v); polls answered 404: %d",
			readyErr, s.op.Count("/ssf/poll"))
	}
}

// TestAttack39UnknownSubjectsFillDenyList: with cookie sessions every
// event is written to the deny list, whether or not the app ever had a
// session of its subject: a user key, an email key, a sid key (denyAll)
// for each subject the transmitter names, kept for the deny TTL (the
// sessions' absolute lifetime, 30 days by default). A stream carries the
// events of every user of the provider (session-revoked at every IdP
// sign-out, each with a new sid), and any provider user can make more
// (sign in and out at the IdP in a loop). The MemoryDenyList refuses
// new entries once full of live ones: from then on sign-outs fail and
// every event is answered 503, including those about the app's own
// users. (Scaled down here: Max 20 instead of 1,000,000.) The docs say
// subjects the app does not know "are acknowledged and do nothing".
func TestAttack39UnknownSubjectsFillDenyList(t *testing.T) {
	s := newSSFCluster(t, clusterOptions{instances: 1, noRedis: true, mw: func(cfg *middleware.Config) {
		cfg.DenyList = &session.MemoryDenyList{Max: 20}
	}}, middleware.SharedSignals{})
	st := s.stream(t)
	alice := s.signIn(t, devprovider.DemoUser)
	for i := range 30 {
		subject := map[string]any{"format": "complex", "session": map[string]any{"format": "opaque", "id": fmt.Sprintf("idp-session-%d", i)}}
		if i%2 == 1 {
			subject = issSub(s.op.Issuer, fmt.Sprintf("someone-else-%d", i))
		}
		if status, code, err := s.tx.Push(st, s.tx.SET(st, ssftx.SessionRevoked, subject, map[string]any{})); err != nil || status != http.StatusAccepted {
			t.Errorf("event %d about a subject with no session here: %d %q %v, want 202 (acknowledged, nothing done)", i, status, code, err)
			break
		}
	}
	// An event about the app's own user must still take effect.
	status, code, _ := s.tx.Push(st, s.tx.SET(st, ssftx.CredentialChange, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{}))
	if status != http.StatusAccepted {
		t.Errorf("credential-change for alice after events about other subjects: %d %q, want 202", status, code)
	}
	if who := whoami(t, alice, s.apps[0].URL); who != "anonymous" {
		t.Errorf("alice after credential-change: %q", who)
	}
}

// TestAttack39RegistryKeepsEndedSessions: the list of a user's sessions
// (the registry: a Redis hash per user beside the Store or the DenyList,
// else memory) gets two fields per sign-in (the sealed entry, with the
// cookie session's refresh token and deny keys, and the device) and its
// TTL is pushed back at every write. Entries of sessions that expired are
// removed only when that user lists their sessions (Auth.Sessions) or is
// signed out everywhere; nothing else prunes them. A user who signs in
// once a week and never opens the list accumulates a dead entry per
// sign-in for ever (hundreds of bytes each: for every active user,
// without bound), and an attacker with one account grows it at will.
// Here: five sign-ins, each a week (the absolute timeout) after the
// last, leave ten fields for one live session.
func TestAttack39RegistryKeepsEndedSessions(t *testing.T) {
	for _, store := range []string{"redis", "cookie"} {
		t.Run(store, func(t *testing.T) {
			var offset atomic.Int64
			now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
			c := newCluster(t, clusterOptions{instances: 1, denyList: store == "cookie",
				store: func(rc *redisstore.Config) { rc.Now = now },
				mw: func(cfg *middleware.Config) {
					cfg.Now = now
					if cs, ok := cfg.Store.(*session.CookieStore); ok && cs != nil {
						ns, err := session.NewCookieStore(session.CookieConfig{Keys: c0Keys(t, cfg), Now: now})
						if err != nil {
							t.Fatal(err)
						}
						cfg.Store = ns
					}
				}})
			for i := range 5 {
				if i > 0 {
					offset.Add(int64(7*24*time.Hour + time.Hour)) // the previous session has expired
				}
				c.signIn(t, devprovider.DemoUser)
			}
			prefix := "confidant:"
			if store == "cookie" {
				prefix = "confidant:deny:"
			}
			h := sha256.Sum256([]byte("sub\x00op\x00" + devprovider.DemoUser.ID))
			rc := c.topo.Client()
			defer rc.Close()
			n, err := rc.HLen(context.Background(), prefix+"u:"+hex.EncodeToString(h[:16])).Result()
			if err != nil {
				t.Fatal(err)
			}
			if n > 3 {
				t.Errorf("the user's session list holds %d fields after 5 sign-ins a week apart, with one session live: want at most 3 (the live one's entry, device, last seen)", n)
			}
		})
	}
}

// c0Keys are the keys of the cluster's cookie store (the Keys the
// middleware's Config has, else a fresh key: one instance).
func c0Keys(t *testing.T, cfg *middleware.Config) [][]byte {
	t.Helper()
	if len(cfg.Keys) > 0 {
		return cfg.Keys
	}
	return [][]byte{testenv.NewKey()}
}

// TestAttack39IdleExpiredSessionsListed: with cookie sessions, Sessions
// decides that a listed session is live from the deny list and its
// absolute expiry alone (entry.Expires). A session that ended by its idle
// timeout (24 h unseen by default: the cookie no longer loads anywhere)
// stays listed as active for up to the rest of its 7 days, with its
// device and times; the CHANGELOG says sessions ended by expiry are not
// listed. (Redis sessions are checked for existence and are not listed.)
func TestAttack39IdleExpiredSessionsListed(t *testing.T) {
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	c := newCluster(t, clusterOptions{instances: 1, denyList: true, mw: func(cfg *middleware.Config) {
		cfg.Now = now
		ns, err := session.NewCookieStore(session.CookieConfig{Keys: c0Keys(t, cfg), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Store = ns
	}})
	sessionRoutes(t, c)
	old := c.signInAs(t, devprovider.DemoUser, "Old browser")
	offset.Add(int64(25 * time.Hour)) // unseen for longer than Idle (24 h), within Absolute (7 days)
	if who := whoami(t, old, c.apps[0].URL); who != "anonymous" {
		t.Fatalf("the idle session still loads: %q", who)
	}
	fresh := c.signInAs(t, devprovider.DemoUser, "New browser")
	list := listSessions(t, fresh, c.apps[0].URL)
	if len(list) != 1 {
		t.Errorf("%d sessions listed, want 1 (the other ended by its idle timeout): %+v", len(list), list)
	}
}

// TestAttack39SessionRevokedOpaqueSID: CAEP 1.0's own session-revoked
// example ("Required claims + Simple Subject") names the revoked session
// by a simple opaque subject: {"format":"opaque","id":"dMTlD|…"}, a
// session identifier. The receiver reads every opaque subject as a
// user's sub: such an event is acknowledged, matches no user, and the
// session it revokes lives on (and were a session ID ever equal to some
// user's sub, that user's sessions would all end instead).
func TestAttack39SessionRevokedOpaqueSID(t *testing.T) {
	s := newSSFCluster(t, clusterOptions{instances: 1}, middleware.SharedSignals{})
	alice := s.signInSID(t, devprovider.DemoUser, "dMTlD|1600802906337.16|16008.16")
	s.deliver(t, s.tx.SET(s.stream(t), ssftx.SessionRevoked,
		map[string]any{"format": "opaque", "id": "dMTlD|1600802906337.16|16008.16"}, map[string]any{"event_timestamp": time.Now().Unix()}))
	if who := whoami(t, alice, s.apps[0].URL); who != "anonymous" {
		t.Errorf("the session named by CAEP session-revoked (simple opaque subject, its sid): %q, want ended", who)
	}
}
