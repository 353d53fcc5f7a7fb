// Package ssftx is an OpenID Shared Signals Framework 1.0 transmitter for
// confidant's tests, built from the specifications (SSF 1.0, CAEP 1.0,
// RISC 1.0, RFC 8935), as strict as they are: its configuration at the
// well-known URL (7.2), its keys, stream management behind a bearer token
// (8.1: create, get, update, delete), and push delivery of SETs it signs
// with go-jose (typ secevent+jwt, kid, iss, aud, jti, iat, one event,
// sub_id) to the stream's endpoint with the stream's authorization header.
// No certified provider here transmits SSF.
package ssftx

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Event types of CAEP 1.0 and RISC 1.0.
const (
	SessionRevoked       = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	CredentialChange     = "https://schemas.openid.net/secevent/caep/event-type/credential-change"
	TokenClaimsChange    = "https://schemas.openid.net/secevent/caep/event-type/token-claims-change"
	AssuranceLevelChange = "https://schemas.openid.net/secevent/caep/event-type/assurance-level-change"
	AccountDisabled      = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
	AccountPurged        = "https://schemas.openid.net/secevent/risc/event-type/account-purged"
	CredentialCompromise = "https://schemas.openid.net/secevent/risc/event-type/credential-compromise"
	Verification         = "https://schemas.openid.net/secevent/ssf/event-type/verification"
)

// Stream is a stream's configuration (SSF 1.0 8.1.1).
type Stream struct {
	ID              string   `json:"stream_id"`
	Iss             string   `json:"iss"`
	Aud             []string `json:"aud"`
	EventsSupported []string `json:"events_supported"`
	EventsRequested []string `json:"events_requested"`
	EventsDelivered []string `json:"events_delivered"`
	Delivery        Delivery `json:"delivery"`
}

// Delivery is a stream's delivery method.
type Delivery struct {
	Method              string `json:"method"`
	EndpointURL         string `json:"endpoint_url,omitempty"`
	AuthorizationHeader string `json:"authorization_header,omitempty"`
}

// Transmitter is a running transmitter.
type Transmitter struct {
	Issuer string
	// Token is the bearer token its management API takes.
	Token string

	srv *httptest.Server
	key *ecdsa.PrivateKey
	kid string

	mu      sync.Mutex
	streams map[string]*Stream
	n       int
}

// Supported are the events it transmits.
var Supported = []string{SessionRevoked, CredentialChange, TokenClaimsChange, AssuranceLevelChange,
	AccountDisabled, AccountPurged, CredentialCompromise, Verification}

// Start runs a transmitter on loopback, stopped when t ends.
func Start(t testing.TB) *Transmitter {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tx := &Transmitter{Token: "mgmt-" + random(), key: key, kid: "tx-" + random()[:8], streams: map[string]*Stream{}}
	tx.srv = httptest.NewServer(http.HandlerFunc(tx.serve))
	t.Cleanup(tx.srv.Close)
	tx.Issuer = tx.srv.URL
	return tx
}

func random() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (tx *Transmitter) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/ssf-configuration":
		writeJSON(w, http.StatusOK, map[string]any{"spec_version": "1_0", "issuer": tx.Issuer, "jwks_uri": tx.Issuer + "/jwks",
			"delivery_methods_supported": []string{"urn:ietf:rfc:8935"}, "configuration_endpoint": tx.Issuer + "/streams",
			"verification_endpoint": tx.Issuer + "/verify", "critical_subject_members": []string{"user"},
			"authorization_schemes": []map[string]string{{"spec_urn": "urn:ietf:rfc:6749"}}})
	case "/jwks":
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: tx.key.Public(), KeyID: tx.kid, Algorithm: "ES256", Use: "sig"}}})
	case "/streams":
		if r.Header.Get("Authorization") != "Bearer "+tx.Token {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		tx.streamsAPI(w, r)
	default:
		http.NotFound(w, r)
	}
}

// streamsAPI is SSF 1.0 8.1.1: POST creates, GET reads (one by stream_id,
// else all), PATCH and PUT update, DELETE deletes.
func (tx *Transmitter) streamsAPI(w http.ResponseWriter, r *http.Request) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	id := r.URL.Query().Get("stream_id")
	switch r.Method {
	case http.MethodPost, http.MethodPatch, http.MethodPut:
		var in Stream
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if r.Method != http.MethodPost {
			id = in.ID
		}
		s := tx.streams[id]
		if r.Method == http.MethodPost {
			if in.Delivery.Method != "urn:ietf:rfc:8935" || !strings.HasPrefix(in.Delivery.EndpointURL, "http") {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "push delivery with an endpoint_url only"})
				return
			}
			tx.n++
			s = &Stream{ID: fmt.Sprintf("s%d", tx.n), Iss: tx.Issuer}
			tx.streams[s.ID] = s
		} else if s == nil {
			http.NotFound(w, r)
			return
		}
		if len(in.Aud) > 0 {
			s.Aud = in.Aud
		}
		if in.Delivery.Method != "" {
			s.Delivery = in.Delivery
		}
		if in.EventsRequested != nil {
			s.EventsRequested = in.EventsRequested
		}
		s.EventsSupported = Supported
		s.EventsDelivered = nil
		for _, e := range s.EventsRequested {
			for _, sup := range Supported {
				if e == sup {
					s.EventsDelivered = append(s.EventsDelivered, e)
				}
			}
		}
		status := http.StatusOK
		if r.Method == http.MethodPost {
			status = http.StatusCreated
		}
		writeJSON(w, status, s)
	case http.MethodGet:
		if id == "" {
			all := []*Stream{}
			for _, s := range tx.streams {
				all = append(all, s)
			}
			writeJSON(w, http.StatusOK, all)
			return
		}
		if s := tx.streams[id]; s != nil {
			writeJSON(w, http.StatusOK, s)
			return
		}
		http.NotFound(w, r)
	case http.MethodDelete:
		if tx.streams[id] == nil {
			http.NotFound(w, r)
			return
		}
		delete(tx.streams, id)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Streams are the streams as they are now.
func (tx *Transmitter) Streams() []Stream {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	var out []Stream
	for _, s := range tx.streams {
		out = append(out, *s)
	}
	return out
}

// SET signs a SET for stream s: event with payload, about subject (the
// sub_id), with a fresh jti, now.
func (tx *Transmitter) SET(s Stream, event string, subject, payload map[string]any) string {
	return tx.SignWith(tx.key, tx.kid, map[string]any{"iss": tx.Issuer, "aud": s.Aud, "jti": random(), "iat": time.Now().Unix(),
		"sub_id": subject, "events": map[string]any{event: payload}})
}

// SignWith signs claims as a SET with key and kid (another key: a forged
// SET).
func (tx *Transmitter) SignWith(key *ecdsa.PrivateKey, kid string, claims map[string]any) string {
	opts := (&jose.SignerOptions{}).WithType("secevent+jwt").WithHeader("kid", kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
	if err != nil {
		panic(err)
	}
	b, _ := json.Marshal(claims)
	obj, err := signer.Sign(b)
	if err != nil {
		panic(err)
	}
	raw, _ := obj.CompactSerialize()
	return raw
}

// Push delivers raw to stream s as RFC 8935 says, and returns the
// receiver's status and its err (for a 400).
func (tx *Transmitter) Push(s Stream, raw string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, s.Delivery.EndpointURL, bytes.NewReader([]byte(raw)))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/secevent+jwt")
	req.Header.Set("Accept", "application/json")
	if s.Delivery.AuthorizationHeader != "" {
		req.Header.Set("Authorization", s.Delivery.AuthorizationHeader)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var e struct {
		Err string `json:"err"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&e)
	return resp.StatusCode, e.Err, nil
}
