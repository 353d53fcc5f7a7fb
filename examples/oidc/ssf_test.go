package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/ssftx"
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
	a.tx.LongPoll = 2 * time.Second
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
