package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/devprovider/ssftx"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// ssfApp is the example on three instances behind one address (requests
// round-robin), its provider transmitting security events from its
// issuer's /.well-known/ssf-configuration.
type ssfApp struct {
	url string
	op  *devprovider.Provider
	tx  *ssftx.Transmitter
}

func startSSFApp(t *testing.T, env map[string]string) *ssfApp {
	t.Helper()
	redis := testenv.StartRedis(t)
	lb := httptest.NewUnstartedServer(nil)
	a := &ssfApp{url: "http://" + lb.Listener.Addr().String()}
	op, err := devprovider.Start(devprovider.Config{Users: []devprovider.User{devprovider.DemoUser, {ID: "u-2", Username: "bob", Password: "bob", Email: "bob@example.com"}},
		Clients: []devprovider.Client{{ID: "ex", Secret: "ex-secret",
			Redirects: []string{a.url + "/auth/callback"}, PostLogoutRedirects: []string{a.url + "/"}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(op.Close)
	a.op = op
	a.tx = ssftx.New(op.Issuer)
	a.tx.SetLongPoll(2 * time.Second)
	api := op.NewAPI()
	a.tx.Authorize = func(w http.ResponseWriter, r *http.Request) (string, bool) { return api.Subject(w, r) }
	for _, p := range a.tx.Paths() {
		op.Handle(p, a.tx)
	}
	vars := map[string]string{"OIDC_ISSUER": op.Issuer, "OIDC_CLIENT_ID": "ex", "OIDC_CLIENT_SECRET": "ex-secret", "APP_URL": a.url,
		"SESSION_KEYS": base64.StdEncoding.EncodeToString(testenv.NewKey()), "REDIS_URL": "redis://" + redis.Addr + "/0"}
	for k, v := range env {
		vars[k] = v
	}
	var instances []http.Handler
	for range 3 {
		b, err := build(context.Background(), func(k string) string { return vars[k] }, nil, testenv.CollectLogger())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.auth.Close() })
		instances = append(instances, b.handler)
	}
	var next atomic.Int64
	lb.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		instances[next.Add(1)%int64(len(instances))].ServeHTTP(w, r)
	})
	lb.Start()
	t.Cleanup(lb.Close)
	return a
}

func (a *ssfApp) signIn(t *testing.T, user devprovider.User) *http.Client {
	t.Helper()
	hc := testenv.Browser()
	resp, err := hc.Get(a.url + "/profile")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, err := a.op.Login(hc, resp.Header.Get("Location"), user)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err = hc.Get(cb.String()); err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("callback: %v", err)
	}
	return hc
}

// profile is /profile's status for hc, asked for as JSON.
func (a *ssfApp) profile(t *testing.T, hc *http.Client) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.url+"/profile", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestEnvContractSharedSignals: OIDC_SSF=push and poll, with Redis and
// with cookie sessions: one stream set up by three instances; a
// session-revoked SET ends the user's sessions at every instance (push:
// before the 202; poll: within 10 s) and no one else's; a SET for another
// audience is answered 400 invalid_audience (push) or returned in setErrs
// (poll); a push without the stream's authorization gets 401.
func TestEnvContractSharedSignals(t *testing.T) {
	for _, mode := range []string{"push", "poll"} {
		for _, store := range []string{"redis", "cookie"} {
			t.Run(mode+"/"+store, func(t *testing.T) {
				env := map[string]string{"OIDC_SSF": mode}
				if store == "cookie" {
					env["SESSION_STORE"] = "cookie"
				}
				a := startSSFApp(t, env)
				streams := a.tx.Streams()
				if len(streams) != 1 {
					t.Fatalf("%d streams, want 1: %+v", len(streams), streams)
				}
				st := streams[0]
				if mode == "push" && st.Delivery.EndpointURL != a.url+"/auth/ssf" {
					t.Fatalf("push endpoint %q", st.Delivery.EndpointURL)
				}
				alice, bob := a.signIn(t, devprovider.DemoUser), a.signIn(t, devprovider.User{ID: "u-2", Username: "bob", Password: "bob"})
				bad := a.tx.Sign(map[string]any{"iss": a.op.Issuer, "aud": "not-ex", "jti": "bad", "iat": time.Now().Unix(),
					"sub_id": map[string]any{"format": "iss_sub", "iss": a.op.Issuer, "sub": "u-2"},
					"events": map[string]any{ssftx.SessionRevoked: map[string]any{}}})
				good := a.tx.SET(st, ssftx.SessionRevoked, map[string]any{"format": "iss_sub", "iss": a.op.Issuer, "sub": devprovider.DemoUser.ID},
					map[string]any{"event_timestamp": time.Now().Unix()})
				if mode == "push" {
					if status, code, _ := a.tx.Push(st, bad); status != http.StatusBadRequest || code != "invalid_audience" {
						t.Errorf("another audience: %d %q", status, code)
					}
					noAuth := st
					noAuth.Delivery.AuthorizationHeader = ""
					if status, code, _ := a.tx.Push(noAuth, good); status != http.StatusUnauthorized || code != "authentication_failed" {
						t.Errorf("without the authorization: %d %q", status, code)
					}
					if status, code, err := a.tx.Push(st, good); status != http.StatusAccepted {
						t.Fatalf("push: %d %q %v", status, code, err)
					}
				} else {
					a.tx.Enqueue(st, bad)
					a.tx.Enqueue(st, good)
					deadline := time.Now().Add(10 * time.Second)
					for a.tx.Pending(st) > 0 && time.Now().Before(deadline) {
						time.Sleep(20 * time.Millisecond)
					}
					if n := a.tx.Pending(st); n != 0 {
						t.Fatalf("%d SETs still pending after 10 s", n)
					}
					if e := a.tx.SETErrors()["bad"]; e.Err != "invalid_audience" {
						t.Errorf("setErrs: %+v", a.tx.SETErrors())
					}
				}
				for i := range 3 { // each instance in turn
					if status := a.profile(t, alice); status != http.StatusUnauthorized {
						t.Errorf("alice, request %d: %d, want 401", i, status)
					}
					if status := a.profile(t, bob); status != http.StatusOK {
						t.Errorf("bob, request %d: %d, want 200", i, status)
					}
				}
			})
		}
	}
}

// TestEnvContractSessions: with REDIS_URL (Redis sessions, and cookie
// sessions), /sessions lists the caller's own sessions as JSON on any
// instance, 401 when signed out; POST /sessions/end-all refuses a
// cross-site request, ends every session of the caller (and no one
// else's) on every instance, revokes their refresh tokens, and answers
// 204 for JSON, 303 to / otherwise.
func TestEnvContractSessions(t *testing.T) {
	for _, store := range []string{"redis", "cookie"} {
		t.Run(store, func(t *testing.T) {
			env := map[string]string{}
			if store == "cookie" {
				env["SESSION_STORE"] = "cookie"
			}
			a := startSSFApp(t, env)
			bobUser := devprovider.User{ID: "u-2", Username: "bob", Password: "bob"}
			alice1, alice2, bob := a.signIn(t, devprovider.DemoUser), a.signIn(t, devprovider.DemoUser), a.signIn(t, bobUser)
			list := func(hc *http.Client) (int, []map[string]any) {
				req, _ := http.NewRequest(http.MethodGet, a.url+"/sessions", nil)
				req.Header.Set("Accept", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var out struct {
					Sessions []map[string]any `json:"sessions"`
				}
				json.NewDecoder(resp.Body).Decode(&out)
				return resp.StatusCode, out.Sessions
			}
			for i := range 3 { // each instance in turn
				status, sessions := list(alice2)
				current := 0
				for _, s := range sessions {
					for _, k := range []string{"id", "created", "last_seen", "current"} {
						if _, ok := s[k]; !ok {
							t.Errorf("request %d: session %v has no %q", i, s, k)
						}
					}
					if s["current"] == true {
						current++
					}
				}
				if status != http.StatusOK || len(sessions) != 2 || current != 1 {
					t.Errorf("request %d: %d %v, want alice's two sessions, one current", i, status, sessions)
				}
			}
			endAll := func(hc *http.Client, accept, site string) *http.Response {
				req, _ := http.NewRequest(http.MethodPost, a.url+"/sessions/end-all", nil)
				req.Header.Set("Accept", accept)
				if site != "" {
					req.Header.Set("Sec-Fetch-Site", site)
				}
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			if resp := endAll(alice1, "application/json", "cross-site"); resp.StatusCode != http.StatusForbidden {
				t.Errorf("a cross-site end-all: %d, want 403", resp.StatusCode)
			}
			if status := a.profile(t, alice2); status != http.StatusOK {
				t.Fatalf("after a refused end-all: %d", status)
			}
			revoked := a.op.RevokedRefreshTokens()
			if resp := endAll(alice1, "application/json", "same-origin"); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("end-all: %d, want 204", resp.StatusCode)
			}
			if n := a.op.RevokedRefreshTokens() - revoked; n != 2 {
				t.Errorf("%d refresh tokens revoked, want alice's 2", n)
			}
			for i := range 3 {
				for _, hc := range []*http.Client{alice1, alice2} {
					if status := a.profile(t, hc); status != http.StatusUnauthorized {
						t.Errorf("request %d: alice after end-all: %d, want 401", i, status)
					}
				}
				if status := a.profile(t, bob); status != http.StatusOK {
					t.Errorf("request %d: bob: %d", i, status)
				}
			}
			if status, _ := list(alice1); status != http.StatusUnauthorized {
				t.Errorf("/sessions signed out: %d, want 401", status)
			}
			if resp := endAll(bob, "text/html", ""); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
				t.Errorf("end-all from a form: %d to %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

// TestEnvContractAssuranceChange: with OIDC_ACR_VALUES=X and OIDC_SSF, an
// assurance-level-change to another level sends the user's next
// protected navigation to the provider with acr_values=X and
// prompt=login; a change to X does nothing.
func TestEnvContractAssuranceChange(t *testing.T) {
	a := startSSFApp(t, map[string]string{"OIDC_SSF": "push", "OIDC_ACR_VALUES": "gold"})
	a.op.SetTokenHook(func(resp map[string]any) {
		if raw, ok := resp["id_token"].(string); ok {
			parts := strings.Split(raw, ".")
			b, _ := base64.RawURLEncoding.DecodeString(parts[1])
			var cl map[string]any
			json.Unmarshal(b, &cl)
			cl["acr"] = "gold"
			resp["id_token"] = a.op.Sign(cl)
		}
	})
	alice := a.signIn(t, devprovider.DemoUser)
	st := a.tx.Streams()[0]
	sub := map[string]any{"format": "iss_sub", "iss": a.op.Issuer, "sub": devprovider.DemoUser.ID}
	push := func(level string) {
		if status, code, err := a.tx.Push(st, a.tx.SET(st, ssftx.AssuranceLevelChange, sub,
			map[string]any{"namespace": "RFC8176", "current_level": level, "change_direction": "decrease"})); status != http.StatusAccepted {
			t.Fatalf("push: %d %q %v", status, code, err)
		}
	}
	push("gold")
	if status := a.profile(t, alice); status != http.StatusOK {
		t.Fatalf("after a change to the app's level: %d", status)
	}
	push("silver")
	resp, err := alice.Get(a.url + "/profile")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), a.op.Issuer) ||
		loc.Query().Get("acr_values") != "gold" || loc.Query().Get("prompt") != "login" {
		t.Errorf("after a change to silver: %d to %s, want the provider with acr_values=gold and prompt=login", resp.StatusCode, loc)
	}
}
