package ssf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/secevent"
)

func TestWellKnown(t *testing.T) {
	for issuer, want := range map[string]string{
		"https://tx.example":         "https://tx.example/.well-known/ssf-configuration",
		"https://tx.example/":        "https://tx.example/.well-known/ssf-configuration",
		"https://tx.example/tenant1": "https://tx.example/.well-known/ssf-configuration/tenant1",
	} {
		if got, err := WellKnown(issuer); err != nil || got != want {
			t.Errorf("WellKnown(%q) = %q, %v; want %q", issuer, got, err, want)
		}
	}
	if _, err := WellKnown("/relative"); !errors.Is(err, fail.Config) {
		t.Errorf("a relative issuer: %v", err)
	}
}

// TestDiscover: the transmitter's configuration is taken when it names
// the issuer asked for, with a jwks_uri and https endpoints (http on
// loopback); otherwise refused, and a transmitter that is down is
// ErrProviderUnavailable (retried), not a refusal.
func TestDiscover(t *testing.T) {
	var doc func(base string) any
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/ssf-configuration" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(doc("http://" + r.Host))
	}))
	defer srv.Close()
	good := func(base string) any {
		return map[string]any{"spec_version": "1_0", "issuer": base, "jwks_uri": base + "/jwks",
			"delivery_methods_supported": []string{PushURN, PollURN}, "configuration_endpoint": base + "/streams"}
	}
	doc = good
	m, err := Discover(context.Background(), srv.Client(), srv.URL)
	if err != nil || m.JWKSURI != srv.URL+"/jwks" || m.ConfigurationEndpoint != srv.URL+"/streams" || len(m.DeliveryMethodsSupported) != 2 {
		t.Fatalf("Discover: %+v %v", m, err)
	}
	for _, c := range []struct {
		name string
		doc  func(base string) any
		st   int
		want error
	}{
		{"another issuer", func(base string) any {
			d := good(base).(map[string]any)
			d["issuer"] = "https://evil.example"
			return d
		}, 200, fail.Discovery},
		{"no jwks_uri", func(base string) any { d := good(base).(map[string]any); delete(d, "jwks_uri"); return d }, 200, fail.Discovery},
		{"an endpoint in clear", func(base string) any {
			d := good(base).(map[string]any)
			d["configuration_endpoint"] = "http://tx.example/streams"
			return d
		}, 200, fail.Discovery},
		{"not found", good, 404, fail.Discovery},
		{"down", good, 503, fail.ProviderUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, status = c.doc, c.st
			if _, err := Discover(context.Background(), srv.Client(), srv.URL); !errors.Is(err, c.want) {
				t.Errorf("Discover: %v, want %v", err, c.want)
			}
		})
	}
}

// TestPush: RFC 8935's answers. Without the stream's authorization, 401
// authentication_failed and the SET is not read; a SET of another
// content type, 400 invalid_request; a SET refused, 400 with its err; a
// SET taken (or a replay), 202; the receiver's own trouble, 503 with
// Retry-After (the transmitter delivers it again).
func TestPush(t *testing.T) {
	var received []string
	var verdict error
	p := &Push{
		Authorized: func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer stream-secret" },
		Receive: func(_ context.Context, raw string) error {
			received = append(received, raw)
			return verdict
		},
	}
	push := func(method, auth, ctype, body string) (*http.Response, map[string]string) {
		req := httptest.NewRequest(method, "/auth/ssf", strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, req)
		var out map[string]string
		json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Result(), out
	}
	const set = "eyJ0eXAiOiJzZWNldmVudCtqd3QifQ.e30.sig"
	if resp, out := push("POST", "", "application/secevent+jwt", set); resp.StatusCode != 401 || out["err"] != "authentication_failed" || len(received) != 0 {
		t.Errorf("no authorization: %d %v, %d SETs read", resp.StatusCode, out, len(received))
	}
	if resp, out := push("POST", "Bearer wrong", "application/secevent+jwt", set); resp.StatusCode != 401 || out["err"] != "authentication_failed" || len(received) != 0 {
		t.Errorf("another authorization: %d %v", resp.StatusCode, out)
	}
	if resp, _ := push("GET", "Bearer stream-secret", "", ""); resp.StatusCode != 405 {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	if resp, out := push("POST", "Bearer stream-secret", "application/json", set); resp.StatusCode != 400 || out["err"] != "invalid_request" {
		t.Errorf("another content type: %d %v", resp.StatusCode, out)
	}
	for _, c := range []struct {
		verdict error
		status  int
		code    string
	}{
		{nil, 202, ""},
		{fmt.Errorf("%w: kid k9", secevent.ErrInvalidKey), 400, "invalid_key"},
		{secevent.ErrInvalidIssuer, 400, "invalid_issuer"},
		{secevent.ErrInvalidAudience, 400, "invalid_audience"},
		{secevent.ErrInvalidRequest, 400, "invalid_request"},
		{fmt.Errorf("%w: the replay cache", fail.SessionUnavailable), 503, ""},
	} {
		verdict = c.verdict
		resp, out := push("POST", "Bearer stream-secret", "application/secevent+jwt; charset=utf-8", set+"\n")
		if resp.StatusCode != c.status || out["err"] != c.code {
			t.Errorf("verdict %v: %d %v, want %d %q", c.verdict, resp.StatusCode, out, c.status, c.code)
		}
		if c.status == 503 && resp.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	}
	if received[0] != set {
		t.Errorf("the SET handed on as %q", received[0])
	}
}
