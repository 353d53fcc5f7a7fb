package client_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/hostile"
)

// hostileClient discovers op and returns a client with a short timeout.
func hostileClient(t *testing.T, op *hostile.OP, fetchUserInfo bool) *client.Client {
	t.Helper()
	hc := &http.Client{Timeout: 300 * time.Millisecond}
	prov, err := client.Discover(context.Background(), op.Issuer, client.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "rp", ClientSecret: "s", RedirectURL: "http://127.0.0.1:1/cb",
		FetchUserInfo: fetchUserInfo})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// code runs the authorization step (the hostile OP approves at once).
func code(t *testing.T, c *client.Client) (*client.Login, string) {
	t.Helper()
	l, err := c.NewLogin(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(l.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(resp.Header.Get("Location"))
	return l, u.Query().Get("code")
}

// TestProviderFaults: every fault of the token, JWKS, userinfo and
// discovery endpoints gives a clear error, bounded in time and memory.
func TestProviderFaults(t *testing.T) {
	huge := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"`))
		chunk := bytes.Repeat([]byte("a"), 64<<10)
		for range 160 { // 10 MB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		w.Write([]byte(`"}`))
	}
	cases := []struct {
		name  string
		setup func(op *hostile.OP)
		want  error
	}{
		{"token endpoint slower than the timeout", func(op *hostile.OP) {
			op.SetTokenFault(func(w http.ResponseWriter, r *http.Request) {
				r.ParseForm()
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			})
		}, client.ErrProviderUnavailable},
		{"token endpoint 500", func(op *hostile.OP) {
			op.SetTokenFault(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) })
		}, client.ErrProviderUnavailable},
		{"token endpoint HTML instead of JSON", func(op *hostile.OP) {
			op.SetTokenFault(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.Write([]byte("<html><body>Maintenance</body></html>"))
			})
		}, client.ErrProviderUnavailable},
		{"token endpoint 10 MB body", func(op *hostile.OP) { op.SetTokenFault(huge) }, client.ErrProviderUnavailable},
		{"userinfo 10 MB body", func(op *hostile.OP) {
			op.SetUserinfoBody(bytes.Repeat([]byte(" "), 10<<20))
		}, fail.UserInfo},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := hostile.New(t)
			c := hostileClient(t, op, strings.HasPrefix(tc.name, "userinfo"))
			tc.setup(op)
			l, cd := code(t, c)
			start := time.Now()
			_, err := c.Callback(context.Background(), url.Values{"code": {cd}, "state": {l.State}}, l)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v: not bounded by the client timeout", d)
			}
		})
	}
}

// TestResponseBodiesBounded: a provider answering discovery, JWKS or token
// requests with 10 MB is cut off at maxResponseBytes, and the error says so.
func TestResponseBodiesBounded(t *testing.T) {
	huge := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for range 160 {
			if _, err := w.Write(bytes.Repeat([]byte(" "), 64<<10)); err != nil {
				return
			}
		}
	}
	for _, endpoint := range []string{"discovery", "JWKS", "token"} {
		t.Run(endpoint, func(t *testing.T) {
			op := hostile.New(t)
			var err error
			switch endpoint {
			case "discovery":
				op.SetDiscoveryFault(huge)
				_, err = client.Discover(context.Background(), op.Issuer)
			case "JWKS":
				c := hostileClient(t, op, false)
				l, cd := code(t, c)
				op.SetJWKSFault(huge) // before the first key fetch
				_, err = c.Callback(context.Background(), url.Values{"code": {cd}, "state": {l.State}}, l)
			case "token":
				c := hostileClient(t, op, false)
				l, cd := code(t, c)
				op.SetTokenFault(huge)
				_, err = c.Callback(context.Background(), url.Values{"code": {cd}, "state": {l.State}}, l)
			}
			if !errors.Is(err, fail.ResponseTooLarge) {
				t.Errorf("10 MB %s answer: %v, want fail.ResponseTooLarge", endpoint, err)
			}
		})
	}
}

// TestJWKSDownWithCachedKeys: once the keys are cached, sign-ins go on while
// the JWKS endpoint is down.
func TestJWKSDownWithCachedKeys(t *testing.T) {
	op := hostile.New(t)
	c := hostileClient(t, op, false)
	l, cd := code(t, c)
	if _, err := c.Callback(context.Background(), url.Values{"code": {cd}, "state": {l.State}}, l); err != nil {
		t.Fatal(err)
	}
	op.SetJWKSFault(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	for range 3 {
		l, cd := code(t, c)
		if _, err := c.Callback(context.Background(), url.Values{"code": {cd}, "state": {l.State}}, l); err != nil {
			t.Fatalf("with the JWKS endpoint down: %v", err)
		}
	}
	if op.Count("/jwks") != 1 {
		t.Errorf("JWKS fetched %d times, want 1", op.Count("/jwks"))
	}
}

// TestDiscoveryDownAtStartup: the app starts while discovery fails, and
// signs users in once the provider is back.
func TestDiscoveryDownAtStartup(t *testing.T) {
	op := hostile.New(t)
	op.SetDiscoveryFault(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "starting", http.StatusServiceUnavailable) })
	prov, err := client.Discover(context.Background(), op.Issuer, client.WithRetryInterval(time.Millisecond))
	if err != nil {
		t.Fatalf("Discover with the provider down: %v", err)
	}
	c, _ := client.New(client.Config{Provider: prov, ClientID: "rp", ClientSecret: "s", RedirectURL: "http://127.0.0.1:1/cb"})
	if _, err := c.NewLogin(context.Background(), nil); !errors.Is(err, client.ErrProviderUnavailable) {
		t.Fatalf("while down: %v", err)
	}
	op.SetDiscoveryFault(nil)
	time.Sleep(5 * time.Millisecond)
	l, cd := code(t, c)
	if _, err := c.Callback(context.Background(), url.Values{"code": {cd}, "state": {l.State}}, l); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}
