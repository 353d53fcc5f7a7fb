package ssf_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/confidant-go/confidant/internal/devprovider/ssftx"
	"github.com/confidant-go/confidant/internal/secevent"
	"github.com/confidant-go/confidant/internal/ssf"
)

// TestTransmitterToPush: a transmitter built from SSF 1.0 and RFC 8935
// (ssftx) and this package's receiver side, end to end: its configuration
// discovered, a stream created through its management API (push to the
// receiver, with the authorization the receiver checks), and SETs pushed:
// taken (202), a replay acknowledged and not acted on again, a forged
// one (another key) answered invalid_key, one for another audience
// invalid_audience, one without the stream's authorization
// authentication_failed.
func TestTransmitterToPush(t *testing.T) {
	tx, stop := ssftx.Start()
	defer stop()
	ctx := context.Background()
	m, err := ssf.Discover(ctx, http.DefaultClient, tx.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	keys := func(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
		resp, err := http.Get(m.JWKSURI)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var set jose.JSONWebKeySet
		err = json.NewDecoder(resp.Body).Decode(&set)
		return set.Keys, err
	}
	// The transmitter makes the stream's aud the receiver it authorized.
	const app, secret = "receiver", "Bearer push-secret-value"
	var mu sync.Mutex
	seen, acted := map[string]bool{}, []string{}
	push := &ssf.Push{
		Authorized: func(r *http.Request) bool {
			return subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(secret)) == 1
		},
		Receive: func(ctx context.Context, raw string) error {
			tok, err := secevent.Verify(ctx, raw, keys, secevent.Want{Issuer: tx.Issuer, Audience: []string{app}, MaxAge: time.Hour})
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if !seen[tok.ID] {
				seen[tok.ID] = true
				acted = append(acted, tok.Event+" "+tok.Subject.User.Sub)
			}
			return nil
		},
	}
	recv := httptest.NewServer(push)
	defer recv.Close()

	// The stream, through the management API (its bearer token).
	create := func(token string) (*http.Response, ssftx.Stream) {
		body, _ := json.Marshal(map[string]any{"events_requested": []string{ssftx.SessionRevoked, "urn:unknown"},
			"delivery": map[string]any{"method": ssf.PushURN, "endpoint_url": recv.URL, "authorization_header": secret}})
		req, _ := http.NewRequest(http.MethodPost, m.ConfigurationEndpoint, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s ssftx.Stream
		json.NewDecoder(resp.Body).Decode(&s)
		return resp, s
	}
	if resp, _ := create("wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the management API without its token: %d", resp.StatusCode)
	}
	resp, stream := create(tx.Token)
	if resp.StatusCode != http.StatusCreated || stream.ID == "" || len(stream.EventsDelivered) != 1 || len(stream.Aud) != 1 || stream.Aud[0] != app {
		t.Fatalf("stream: %d %+v", resp.StatusCode, stream)
	}

	subject := map[string]any{"format": "complex", "user": map[string]any{"format": "iss_sub", "iss": tx.Issuer, "sub": "alice"},
		"session": map[string]any{"format": "opaque", "id": "sid-1"}}
	set := tx.SET(stream, ssftx.SessionRevoked, subject, map[string]any{"event_timestamp": time.Now().Unix()})
	for i := range 2 { // the second time, a replay
		if status, code, err := tx.Push(stream, set); err != nil || status != http.StatusAccepted {
			t.Fatalf("push %d: %d %q %v", i, status, code, err)
		}
	}
	if len(acted) != 1 || acted[0] != ssftx.SessionRevoked+" alice" {
		t.Errorf("acted on %q, want the event once", acted)
	}

	forger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged := tx.SignWith(forger, "tx-forged", map[string]any{"iss": tx.Issuer, "aud": app, "jti": "f1", "iat": time.Now().Unix(),
		"sub_id": subject, "events": map[string]any{ssftx.SessionRevoked: map[string]any{}}})
	other := stream
	other.Aud = []string{"https://other.example"}
	noAuth := stream
	noAuth.Delivery.AuthorizationHeader = ""
	for _, c := range []struct {
		name   string
		s      ssftx.Stream
		raw    string
		status int
		code   string
	}{
		{"another key", stream, forged, 400, "invalid_key"},
		{"another audience", other, tx.SET(other, ssftx.SessionRevoked, subject, map[string]any{}), 400, "invalid_audience"},
		{"without the stream's authorization", noAuth, tx.SET(stream, ssftx.SessionRevoked, subject, map[string]any{}), 401, "authentication_failed"},
	} {
		if status, code, err := tx.Push(c.s, c.raw); err != nil || status != c.status || code != c.code {
			t.Errorf("%s: %d %q %v, want %d %s", c.name, status, code, err, c.status, c.code)
		}
	}
	if len(acted) != 1 {
		t.Errorf("acted on %q after the refusals", acted)
	}
}
