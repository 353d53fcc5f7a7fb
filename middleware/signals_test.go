package middleware_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/devprovider/ssftx"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// ssfCluster is a cluster of app instances receiving the OP's security
// events from a transmitter at the OP's issuer (ssftx, on the OP's
// origin), its management API taking the app's client-credentials token
// from the OP.
type ssfCluster struct {
	*cluster
	tx     *ssftx.Transmitter
	sid    atomic.Value // the sid the OP puts in the next ID tokens
	events atomic.Int64 // signal.received events with replay=false
}

func newSSFCluster(t *testing.T, o clusterOptions, sc middleware.SharedSignals) *ssfCluster {
	t.Helper()
	s := &ssfCluster{}
	s.sid.Store("")
	mw := o.mw
	o.mw = func(cfg *middleware.Config) {
		ssc := sc
		cfg.SharedSignals = &ssc
		prev := cfg.OnEvent
		cfg.OnEvent = func(ctx context.Context, e event.Event) {
			if e.Kind == event.SignalReceived {
				replay := false
				for _, a := range e.Attrs {
					if a.Key == "replay" {
						replay = a.Value.Bool()
					}
				}
				if !replay {
					s.events.Add(1)
				}
			}
			if prev != nil {
				prev(ctx, e)
			} else {
				testenv.CollectEvent(ctx, e)
			}
		}
		if mw != nil {
			mw(cfg)
		}
	}
	s.cluster = newCluster(t, o)
	s.op.SetTokenHook(func(resp map[string]any) {
		sid, _ := s.sid.Load().(string)
		if raw, ok := resp["id_token"].(string); ok && sid != "" {
			parts := strings.Split(raw, ".")
			var cl map[string]any
			b, _ := base64URL(parts[1])
			jsonUnmarshal(b, &cl)
			cl["sid"] = sid
			resp["id_token"] = s.op.Sign(cl)
		}
	})
	s.tx = ssftx.New(s.op.Issuer)
	s.tx.SetLongPoll(2 * time.Second)
	api := s.op.NewAPI()
	s.tx.Authorize = func(w http.ResponseWriter, r *http.Request) (string, bool) { return api.Subject(w, r) }
	for _, p := range s.tx.Paths() {
		s.op.Handle(p, s.tx)
	}
	for i, app := range s.apps {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := app.Auth.Ready(ctx)
		cancel()
		if err != nil {
			t.Fatalf("instance %d: Ready: %v", i, err)
		}
		t.Cleanup(func() { app.Auth.Close() })
	}
	return s
}

// stream is the app's one stream.
func (s *ssfCluster) stream(t *testing.T) ssftx.Stream {
	t.Helper()
	streams := s.tx.Streams()
	if len(streams) != 1 {
		t.Fatalf("%d streams at the transmitter, want 1: %+v", len(streams), streams)
	}
	return streams[0]
}

// deliver sends a SET on the stream and, for push, wants 202.
func (s *ssfCluster) deliver(t *testing.T, raw string) {
	t.Helper()
	if status, code, err := s.tx.Deliver(s.stream(t), raw); err != nil || status != http.StatusAccepted {
		t.Fatalf("delivery: %d %q %v", status, code, err)
	}
}

// signInSID signs user in with sid in the ID token.
func (s *ssfCluster) signInSID(t *testing.T, user devprovider.User, sid string) *http.Client {
	t.Helper()
	s.sid.Store(sid)
	defer s.sid.Store("")
	return s.signIn(t, user)
}

// expect checks who each browser is on every instance.
func (s *ssfCluster) expect(t *testing.T, step string, want map[*http.Client]string) {
	t.Helper()
	for i, app := range s.apps {
		for hc, w := range want {
			if got := whoami(t, hc, app.URL); got != w {
				t.Errorf("%s: instance %d: %q, want %q", step, i, got, w)
			}
		}
	}
}

func issSub(iss, sub string) map[string]any {
	return map[string]any{"format": "iss_sub", "iss": iss, "sub": sub}
}

var carol = devprovider.User{ID: "u-3003", Username: "carol", Password: "carol", Name: "Carol", Email: "carol@example.com", EmailUnverified: true}

// TestSharedSignalsPush: three instances (Redis sessions, and cookie
// sessions with a shared deny list) set up one stream at a transmitter
// on the OP's issuer and receive its pushes: each event ends what it
// names on every instance before the 202, and nothing else; a replay on
// another instance is acknowledged and not acted on; forged, misaddressed
// and unauthorized pushes are refused with RFC 8935's answers; unknown
// events and subjects are acknowledged and do nothing.
func TestSharedSignalsPush(t *testing.T) {
	for _, store := range []string{"redis", "cookie"} {
		t.Run(store, func(t *testing.T) {
			s := newSSFCluster(t, clusterOptions{instances: 3, denyList: store == "cookie",
				op: func(c *devprovider.Config) {
					c.Users = []devprovider.User{devprovider.DemoUser, otherUser, carol}
				}}, middleware.SharedSignals{})
			st := s.stream(t)
			if st.Delivery.Method != ssftx.PushURN || st.Delivery.EndpointURL != s.apps[0].URL+"/auth/ssf" || !strings.HasPrefix(st.Delivery.AuthorizationHeader, "Bearer ") {
				t.Fatalf("stream delivery %+v", st.Delivery)
			}
			if n := len(st.EventsDelivered); n != 7 {
				t.Errorf("%d events delivered, want the 7 acted on by default: %q", n, st.EventsDelivered)
			}
			if n := s.tx.Calls(http.MethodPost, "/ssf/streams"); n != 1 {
				t.Errorf("%d streams created by three instances, want 1", n)
			}
			alice := devprovider.DemoUser
			alice1, alice2 := s.signInSID(t, alice, "sid-a1"), s.signInSID(t, alice, "sid-a2")
			bob, carolB := s.signIn(t, otherUser), s.signIn(t, carol)
			in := func(u devprovider.User) string { return "op:" + u.ID }
			s.expect(t, "signed in", map[*http.Client]string{alice1: in(alice), alice2: in(alice), bob: in(otherUser), carolB: in(carol)})

			// Refused: nothing ends.
			forger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			claims := func(aud any) map[string]any {
				return map[string]any{"iss": s.op.Issuer, "aud": aud, "jti": "j-" + time.Now().Format("150405.000000000"), "iat": time.Now().Unix(),
					"sub_id": issSub(s.op.Issuer, alice.ID), "events": map[string]any{ssftx.CredentialChange: map[string]any{}}}
			}
			noAuth := st
			noAuth.Delivery.AuthorizationHeader = "Bearer not-the-stream-s"
			for _, c := range []struct {
				name   string
				s      ssftx.Stream
				raw    string
				status int
				code   string
			}{
				{"another key", st, s.tx.SignWith(forger, "forged", claims(st.Aud)), 400, "invalid_key"},
				{"another audience", st, s.tx.Sign(claims("someone-else")), 400, "invalid_audience"},
				{"another issuer", st, s.tx.Sign(func() map[string]any { c := claims(st.Aud); c["iss"] = "https://evil.example"; return c }()), 400, "invalid_issuer"},
				{"not a JWT", st, "not.a.jwt", 400, "invalid_request"},
				{"the wrong authorization", noAuth, s.tx.Sign(claims(st.Aud)), 401, "authentication_failed"},
			} {
				if status, code, err := s.tx.Push(c.s, c.raw); err != nil || status != c.status || code != c.code {
					t.Errorf("%s: %d %q %v, want %d %s", c.name, status, code, err, c.status, c.code)
				}
			}
			// Acknowledged, and nothing done: an unknown event, a subject
			// no one is, an iss_sub of another issuer, an unverified email.
			s.deliver(t, s.tx.SET(st, "https://example.com/event-type/unknown", issSub(s.op.Issuer, alice.ID), map[string]any{}))
			s.deliver(t, s.tx.SET(st, ssftx.CredentialChange, issSub(s.op.Issuer, "nobody"), map[string]any{}))
			s.deliver(t, s.tx.SET(st, ssftx.CredentialChange, issSub("https://other.example", alice.ID), map[string]any{}))
			s.deliver(t, s.tx.SET(st, ssftx.AccountDisabled, map[string]any{"format": "email", "email": "CAROL@example.com"}, map[string]any{}))
			s.expect(t, "after refusals", map[*http.Client]string{alice1: in(alice), alice2: in(alice), bob: in(otherUser), carolB: in(carol)})

			// session-revoked naming one session (its sid) and its user:
			// that session alone, on every instance.
			s.deliver(t, s.tx.SET(st, ssftx.SessionRevoked, map[string]any{"format": "complex",
				"user": issSub(s.op.Issuer, alice.ID), "session": map[string]any{"format": "opaque", "id": "sid-a1"}},
				map[string]any{"event_timestamp": time.Now().Unix()}))
			s.expect(t, "session-revoked", map[*http.Client]string{alice1: "anonymous", alice2: in(alice), bob: in(otherUser)})
			// The same sid with another user is no one's.
			s.deliver(t, s.tx.SET(st, ssftx.SessionRevoked, map[string]any{"format": "complex",
				"user": issSub(s.op.Issuer, otherUser.ID), "session": map[string]any{"format": "opaque", "id": "sid-a2"}}, map[string]any{}))
			s.expect(t, "sid of another user", map[*http.Client]string{alice2: in(alice), bob: in(otherUser)})

			// account-disabled by a verified email, in another case.
			s.deliver(t, s.tx.SET(st, ssftx.AccountDisabled, map[string]any{"format": "email", "email": "Demo@Example.com"}, map[string]any{}))
			s.expect(t, "account-disabled by email", map[*http.Client]string{alice2: "anonymous", bob: in(otherUser), carolB: in(carol)})

			// credential-change by an opaque subject ends bob's sessions;
			// pushed again to another instance (a replay), it does not
			// end the session bob makes meanwhile.
			set := s.tx.SET(st, ssftx.CredentialChange, map[string]any{"format": "opaque", "id": otherUser.ID}, map[string]any{"change_type": "update"})
			s.deliver(t, set)
			s.expect(t, "credential-change", map[*http.Client]string{bob: "anonymous", carolB: in(carol)})
			time.Sleep(1100 * time.Millisecond) // a new session is made after the deny-list entry, to the millisecond
			bob2 := s.signIn(t, otherUser)
			acted := s.events.Load()
			other := st
			other.Delivery.EndpointURL = s.apps[2].URL + "/auth/ssf"
			if status, code, err := s.tx.Push(other, set); err != nil || status != http.StatusAccepted {
				t.Fatalf("replay on another instance: %d %q %v", status, code, err)
			}
			if n := s.events.Load() - acted; n != 0 {
				t.Errorf("the replay was acted on (%d events)", n)
			}
			s.expect(t, "after the replay", map[*http.Client]string{bob2: in(otherUser), carolB: in(carol)})
		})
	}
}

// TestSharedSignalsClaimsChange: token-claims-change makes the user's
// sessions renew their claims at their next request, on any instance,
// and the routes' requirements decide on the new ones; also with a
// provider whose refresh brings no ID token (the claims from userinfo).
func TestSharedSignalsClaimsChange(t *testing.T) {
	for _, store := range []string{"redis", "cookie"} {
		for _, bare := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/bare_refresh=%v", store, bare), func(t *testing.T) {
				s := newSSFCluster(t, clusterOptions{instances: 3, denyList: store == "cookie"}, middleware.SharedSignals{})
				s.op.SetUserClaims(devprovider.DemoUser.ID, map[string]any{"department": "sales"}, nil)
				hc := s.signIn(t, devprovider.DemoUser)
				if bare {
					s.op.SetTokenHook(func(resp map[string]any) { delete(resp, "id_token") })
				}
				for _, app := range s.apps {
					app.Mux.Handle("/sales", app.Auth.RequireWith(middleware.Claim("department", "sales"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						w.Write([]byte("sales"))
					})))
				}
				if resp, body := get(t, hc, s.apps[1].URL+"/sales"); resp.StatusCode != 200 || body != "sales" {
					t.Fatalf("before: %d %q", resp.StatusCode, body)
				}
				s.op.SetUserClaims(devprovider.DemoUser.ID, map[string]any{"department": "legal"}, nil)
				before := s.op.Count(devprovider.PathToken)
				s.deliver(t, s.tx.SET(s.stream(t), ssftx.TokenClaimsChange, issSub(s.op.Issuer, devprovider.DemoUser.ID),
					map[string]any{"claims": map[string]any{"department": "legal"}}))
				if resp, _ := get(t, hc, s.apps[2].URL+"/sales"); resp.StatusCode != http.StatusForbidden {
					t.Errorf("after token-claims-change: %d, want 403 (the new claims decide)", resp.StatusCode)
				}
				if n := s.op.Count(devprovider.PathToken) - before; n != 1 {
					t.Errorf("%d token requests, want 1 (the refresh that renewed the claims)", n)
				}
				// Renewed once: the next requests do not refresh again.
				for _, app := range s.apps {
					get(t, hc, app.URL+"/profile")
				}
				if n := s.op.Count(devprovider.PathToken) - before; n != 1 {
					t.Errorf("%d token requests after more requests, want still 1", n)
				}
			})
		}
	}
}

// TestSharedSignalsAssuranceChange: with acr_values configured, an
// assurance-level-change to another level makes the user's next
// protected request sign in again with those acr_values and
// prompt=login; an API call gets 401; a change to the app's level does
// nothing.
func TestSharedSignalsAssuranceChange(t *testing.T) {
	for _, store := range []string{"redis", "cookie"} {
		t.Run(store, func(t *testing.T) {
			s := newSSFCluster(t, clusterOptions{instances: 3, denyList: store == "cookie",
				client: func(c *client.Config) { c.AuthParams = url.Values{"acr_values": {"gold"}} }}, middleware.SharedSignals{})
			s.op.SetTokenHook(func(resp map[string]any) {
				if raw, ok := resp["id_token"].(string); ok {
					parts := strings.Split(raw, ".")
					var cl map[string]any
					b, _ := base64URL(parts[1])
					jsonUnmarshal(b, &cl)
					cl["acr"] = "gold"
					resp["id_token"] = s.op.Sign(cl)
				}
			})
			alice, bob := s.signIn(t, devprovider.DemoUser), s.signIn(t, otherUser)
			st := s.stream(t)
			s.deliver(t, s.tx.SET(st, ssftx.AssuranceLevelChange, issSub(s.op.Issuer, devprovider.DemoUser.ID),
				map[string]any{"namespace": "RFC8176", "current_level": "gold", "previous_level": "silver", "change_direction": "increase"}))
			s.expect(t, "a change to the app's level", map[*http.Client]string{alice: "op:" + devprovider.DemoUser.ID})
			s.deliver(t, s.tx.SET(st, ssftx.AssuranceLevelChange, issSub(s.op.Issuer, devprovider.DemoUser.ID),
				map[string]any{"namespace": "RFC8176", "current_level": "silver", "previous_level": "gold", "change_direction": "decrease"}))
			resp, _ := get(t, alice, s.apps[2].URL+"/profile")
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), s.op.Issuer) ||
				loc.Query().Get("prompt") != "login" || loc.Query().Get("acr_values") != "gold" {
				t.Errorf("after assurance-level-change: %d to %s, want the provider with prompt=login and acr_values=gold", resp.StatusCode, loc)
			}
			req, _ := http.NewRequest(http.MethodGet, s.apps[1].URL+"/profile", nil)
			req.Header.Set("Accept", "application/json")
			if resp, err := bob.Do(req); err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("bob: %v %v", resp.StatusCode, err)
			}
			// Signed in again, at the level: in.
			if who := whoami(t, s.signIn(t, devprovider.DemoUser), s.apps[1].URL); who != "op:"+devprovider.DemoUser.ID {
				t.Errorf("after signing in again: %q", who)
			}
		})
	}
}

// TestSharedSignalsPoll: a poller (RFC 8936) receives the events within
// a long poll, acknowledges them, returns bad ones in setErrs, and the
// sessions they name end on every instance.
func TestSharedSignalsPoll(t *testing.T) {
	for _, store := range []string{"redis", "cookie"} {
		t.Run(store, func(t *testing.T) {
			s := newSSFCluster(t, clusterOptions{instances: 3, denyList: store == "cookie"}, middleware.SharedSignals{Poll: true})
			st := s.stream(t)
			if st.Delivery.Method != ssftx.PollURN {
				t.Fatalf("delivery %+v", st.Delivery)
			}
			alice, bob := s.signIn(t, devprovider.DemoUser), s.signIn(t, otherUser)
			bad := s.tx.Sign(map[string]any{"iss": s.op.Issuer, "aud": "someone-else", "jti": "bad-1", "iat": time.Now().Unix(),
				"sub_id": issSub(s.op.Issuer, otherUser.ID), "events": map[string]any{ssftx.CredentialChange: map[string]any{}}})
			s.tx.Enqueue(st, bad)
			start := time.Now()
			s.deliver(t, s.tx.SET(st, ssftx.SessionRevoked, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{}))
			for s.tx.Pending(st) > 0 && time.Since(start) < 10*time.Second {
				time.Sleep(20 * time.Millisecond)
			}
			if s.tx.Pending(st) != 0 {
				t.Fatalf("%d SETs not acknowledged after 10 s", s.tx.Pending(st))
			}
			t.Logf("acknowledged in %s", time.Since(start))
			s.expect(t, "polled session-revoked", map[*http.Client]string{alice: "anonymous", bob: "op:" + otherUser.ID})
			if e := s.tx.SETErrors()["bad-1"]; e.Err != "invalid_audience" {
				t.Errorf("setErrs for the SET of another audience: %+v", s.tx.SETErrors())
			}
			// Each instance polls; the SET is acted on once and each
			// acknowledges it.
			acked := map[string]bool{}
			for _, j := range s.tx.Acked() {
				acked[j] = true
			}
			if len(acked) != 1 || acked["bad-1"] {
				t.Errorf("acknowledged %q, want the one good SET", s.tx.Acked())
			}
			if n := s.events.Load(); n != 1 {
				t.Errorf("%d events acted on, want 1", n)
			}
		})
	}
}

// TestSharedSignalsStreamSetUp: a stream of the app with the same push
// endpoint but other events and another authorization is updated, not
// duplicated; another receiver's stream is left alone; nothing is ever
// deleted; the PushToken given is the authorization the stream carries
// and the one pushes need.
func TestSharedSignalsStreamSetUp(t *testing.T) {
	c := newCluster(t, clusterOptions{instances: 2, mw: func(cfg *middleware.Config) {
		cfg.SharedSignals = &middleware.SharedSignals{PushToken: "push-token-from-config",
			Events: map[string]middleware.SignalAction{ssftx.TokenClaimsChange: middleware.SignalIgnore}}
	}})
	tx := ssftx.New(c.op.Issuer)
	api := c.op.NewAPI()
	tx.Authorize = func(w http.ResponseWriter, r *http.Request) (string, bool) {
		if r.Header.Get("Authorization") == "Bearer other-receiver" {
			return "other", true
		}
		return api.Subject(w, r)
	}
	for _, p := range tx.Paths() {
		c.op.Handle(p, tx)
	}
	create := func(token string, body map[string]any) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, c.op.Issuer+"/ssf/streams", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("create: %v %v", resp.StatusCode, err)
		}
		resp.Body.Close()
	}
	// The app's stream, made earlier with other events and another token.
	cc, err := clientCredentials(c)
	if err != nil {
		t.Fatal(err)
	}
	create(cc, map[string]any{"events_requested": []string{ssftx.SessionRevoked},
		"delivery": map[string]any{"method": ssftx.PushURN, "endpoint_url": c.apps[0].URL + "/auth/ssf", "authorization_header": "Bearer old"}})
	create("other-receiver", map[string]any{"events_requested": []string{ssftx.SessionRevoked},
		"delivery": map[string]any{"method": ssftx.PushURN, "endpoint_url": "https://other.example/ssf"}})
	for i, app := range c.apps {
		if err := app.Auth.Ready(context.Background()); err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
	if n := tx.Calls(http.MethodPost, "/ssf/streams"); n != 2 {
		t.Errorf("%d streams created, want none by the app (2 by the test)", n)
	}
	if n := tx.Calls(http.MethodDelete, "/ssf/streams"); n != 0 {
		t.Errorf("%d deletions", n)
	}
	var mine ssftx.Stream
	for _, s := range tx.Streams() {
		switch s.Delivery.EndpointURL {
		case c.apps[0].URL + "/auth/ssf":
			mine = s
		case "https://other.example/ssf":
			if len(s.EventsRequested) != 1 {
				t.Errorf("the other receiver's stream was changed: %+v", s)
			}
		default:
			t.Errorf("a stream %+v", s)
		}
	}
	if mine.Delivery.AuthorizationHeader != "Bearer push-token-from-config" || len(mine.EventsRequested) != 6 ||
		slices.Contains(mine.EventsRequested, ssftx.TokenClaimsChange) {
		t.Errorf("the app's stream after Ready: %+v", mine)
	}
	set := tx.SET(mine, ssftx.SessionRevoked, issSub(c.op.Issuer, "nobody"), map[string]any{})
	if status, _, _ := tx.Push(mine, set); status != http.StatusAccepted {
		t.Errorf("push with the PushToken: %d", status)
	}
	old := mine
	old.Delivery.AuthorizationHeader = "Bearer old"
	if status, code, _ := tx.Push(old, set); status != http.StatusUnauthorized || code != "authentication_failed" {
		t.Errorf("push with the old token: %d %q", status, code)
	}
}

// clientCredentials is the app's client-credentials access token at the
// cluster's OP.
func clientCredentials(c *cluster) (string, error) {
	req, _ := http.NewRequest(http.MethodPost, c.op.Issuer+devprovider.PathToken, strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app", "app-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out.AccessToken, err
}

// TestSharedSignalsLongPoll: a transmitter that holds a poll longer than
// the provider client's 10-second timeout (RFC 8936 lets it wait for an
// event) is waited for, not taken for a failure and backed off from.
func TestSharedSignalsLongPoll(t *testing.T) {
	var pollErrors atomic.Int64
	s := newSSFCluster(t, clusterOptions{instances: 1, mw: func(cfg *middleware.Config) {
		cfg.OnEvent = func(ctx context.Context, e event.Event) {
			for _, a := range e.Attrs {
				if a.Key == "route" && a.Value.String() == "ssf-poll" {
					pollErrors.Add(1)
				}
			}
			testenv.CollectEvent(ctx, e)
		}
	}}, middleware.SharedSignals{Poll: true})
	s.tx.SetLongPoll(11 * time.Second)
	hc := s.signIn(t, devprovider.DemoUser)
	time.Sleep(12 * time.Second) // the first poll (at Ready) waited its 2 s; the next one 11 s, with nothing to say
	s.deliver(t, s.tx.SET(s.stream(t), ssftx.SessionRevoked, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{}))
	start := time.Now()
	for s.tx.Pending(s.stream(t)) > 0 && time.Since(start) < 10*time.Second {
		time.Sleep(20 * time.Millisecond)
	}
	if n := pollErrors.Load(); n != 0 {
		t.Errorf("%d failed polls", n)
	}
	if who := whoami(t, hc, s.apps[0].URL); who != "anonymous" {
		t.Errorf("after the event: %q (acknowledged in %s)", who, time.Since(start))
	}
}

// TestSharedSignalsRevokesRefreshTokens: a session-revoked naming the
// user ends their sessions and revokes their refresh tokens at the
// provider (so that an in-memory deny list's restart brings back no
// session that can be refreshed), with cookie and Redis sessions.
func TestSharedSignalsRevokesRefreshTokens(t *testing.T) {
	for _, store := range []string{"redis", "cookie"} {
		t.Run(store, func(t *testing.T) {
			s := newSSFCluster(t, clusterOptions{instances: 2, denyList: store == "cookie"}, middleware.SharedSignals{})
			alice1, alice2 := s.signIn(t, devprovider.DemoUser), s.signIn(t, devprovider.DemoUser)
			revoked := s.op.RevokedRefreshTokens()
			s.deliver(t, s.tx.SET(s.stream(t), ssftx.SessionRevoked, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{}))
			if n := s.op.RevokedRefreshTokens() - revoked; n != 2 {
				t.Errorf("%d refresh tokens revoked, want the 2 sessions'", n)
			}
			s.expect(t, "session-revoked by subject", map[*http.Client]string{alice1: "anonymous", alice2: "anonymous"})
		})
	}
}

// TestSharedSignalsAfterRestart: with cookie sessions and the in-memory
// deny list (Setup's default), an instance that did not see a session's
// sign-in (restarted since, its lists empty) learns of it at its next
// request, and an event about its user ends it there.
func TestSharedSignalsAfterRestart(t *testing.T) {
	s := newSSFCluster(t, clusterOptions{instances: 2, noRedis: true, mw: func(cfg *middleware.Config) {
		cs, err := session.NewCookieStore(session.CookieConfig{Keys: sharedKeys})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Store = cs
	}}, middleware.SharedSignals{})
	alice := s.signIn(t, devprovider.DemoUser) // at instance 0
	restarted := s.apps[1].URL
	if who := whoami(t, alice, restarted); who != "op:"+devprovider.DemoUser.ID {
		t.Fatalf("the other instance: %q", who)
	}
	st := s.stream(t)
	st.Delivery.EndpointURL = restarted + "/auth/ssf"
	if status, code, err := s.tx.Push(st, s.tx.SET(st, ssftx.SessionRevoked, issSub(s.op.Issuer, devprovider.DemoUser.ID), map[string]any{})); status != http.StatusAccepted {
		t.Fatalf("push: %d %q %v", status, code, err)
	}
	if who := whoami(t, alice, restarted); who != "anonymous" {
		t.Errorf("after session-revoked at the instance that did not see the sign-in: %q", who)
	}
}

// sharedKeys are the cookie keys of TestSharedSignalsAfterRestart's
// instances.
var sharedKeys = [][]byte{testenv.NewKey()}
