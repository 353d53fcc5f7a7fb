// Package ssftx is an OpenID Shared Signals Framework 1.0 transmitter for
// confidant's tests and cmd/devprovider, built from the specifications (SSF 1.0, CAEP 1.0,
// RISC 1.0, RFC 8935, RFC 8936), as strict as they are: its configuration
// at the well-known URL (7.2), its keys, stream management behind a bearer
// token (8.1: create, get, update, delete; aud, iss and the events
// delivered are the transmitter's to say), push delivery (RFC 8935) to the
// stream's endpoint with the stream's authorization header, and poll
// delivery (RFC 8936) with acknowledgements and setErrs, long-polled. It
// signs SETs with go-jose (typ secevent+jwt, kid, iss, aud, jti, iat, one
// event, sub_id). No certified provider here transmits SSF.
package ssftx

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
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

// The delivery methods.
const (
	PushURN = "urn:ietf:rfc:8935"
	PollURN = "urn:ietf:rfc:8936"
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
	Description     string   `json:"description,omitempty"`

	owner string
}

// Delivery is a stream's delivery method.
type Delivery struct {
	Method              string `json:"method"`
	EndpointURL         string `json:"endpoint_url,omitempty"`
	AuthorizationHeader string `json:"authorization_header,omitempty"`
}

// SETError is what a poller said of a SET it refused (RFC 8936 2.4).
type SETError struct {
	Err         string `json:"err"`
	Description string `json:"description"`
}

// Transmitter is a transmitter, served by its ServeHTTP.
type Transmitter struct {
	Issuer string
	// Token is the bearer token its management API and poll endpoint
	// take by default, for the receiver "receiver".
	Token string
	// Authorize, when set, decides instead who calls the management API
	// and the poll endpoint (a client-credentials token checked at a
	// provider), answering 401 itself when it returns false. The
	// receiver it returns owns the streams it makes and is their aud.
	Authorize func(w http.ResponseWriter, r *http.Request) (receiver string, ok bool)

	base string // the issuer without a trailing slash
	key  *ecdsa.PrivateKey
	kid  string

	mu       sync.Mutex
	longPoll time.Duration // SetLongPoll
	streams  map[string]*Stream
	n        int
	queue    map[string][]queued // stream ID → SETs to poll, oldest first
	wake     chan struct{}       // closed and replaced when a SET is queued
	acked    []string
	errs     map[string]SETError
	calls    map[string]int // "METHOD path" → calls
}

type queued struct{ jti, raw string }

// Supported are the events it transmits.
var Supported = []string{SessionRevoked, CredentialChange, TokenClaimsChange, AssuranceLevelChange,
	AccountDisabled, AccountPurged, CredentialCompromise, Verification}

// New is a transmitter whose issuer is issuer: serve it on that origin at
// the well-known path and under /ssf/.
func New(issuer string) *Transmitter {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return &Transmitter{Issuer: issuer, base: strings.TrimSuffix(issuer, "/"), Token: "mgmt-" + random(), key: key, kid: "tx-" + random()[:8],
		streams: map[string]*Stream{}, queue: map[string][]queued{}, wake: make(chan struct{}), errs: map[string]SETError{}, calls: map[string]int{}}
}

// Start runs a transmitter of its own on loopback; stop it with the
// function returned.
func Start() (*Transmitter, func()) {
	srv := httptest.NewUnstartedServer(nil)
	tx := New("http://" + srv.Listener.Addr().String())
	srv.Config.Handler = tx
	srv.Start()
	return tx, srv.Close
}

func random() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// WellKnownPath is the path of the configuration of the issuer at base
// (SSF 1.0 7.2: the well-known path before the issuer's own).
func WellKnownPath(issuer string) string {
	u, _ := url.Parse(issuer)
	return "/.well-known/ssf-configuration" + strings.TrimSuffix(u.Path, "/")
}

// Paths are the paths the transmitter serves.
func (tx *Transmitter) Paths() []string {
	return []string{WellKnownPath(tx.Issuer), "/ssf/"}
}

func (tx *Transmitter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tx.mu.Lock()
	tx.calls[r.Method+" "+r.URL.Path]++
	tx.mu.Unlock()
	switch r.URL.Path {
	case WellKnownPath(tx.Issuer):
		writeJSON(w, http.StatusOK, map[string]any{"spec_version": "1_0", "issuer": tx.Issuer, "jwks_uri": tx.base + "/ssf/jwks",
			"delivery_methods_supported": []string{PushURN, PollURN}, "configuration_endpoint": tx.base + "/ssf/streams",
			"verification_endpoint": tx.base + "/ssf/verify", "critical_subject_members": []string{"user"},
			"authorization_schemes": []map[string]string{{"spec_urn": "urn:ietf:rfc:6749"}}})
	case "/ssf/jwks":
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: tx.key.Public(), KeyID: tx.kid, Algorithm: "ES256", Use: "sig"}}})
	case "/ssf/streams":
		if who, ok := tx.authorize(w, r); ok {
			tx.streamsAPI(w, r, who)
		}
	case "/ssf/poll":
		if who, ok := tx.authorize(w, r); ok {
			tx.poll(w, r, who)
		}
	case "/ssf/verify":
		if who, ok := tx.authorize(w, r); ok {
			tx.verify(w, r, who)
		}
	default:
		http.NotFound(w, r)
	}
}

func (tx *Transmitter) authorize(w http.ResponseWriter, r *http.Request) (string, bool) {
	if tx.Authorize != nil {
		return tx.Authorize(w, r)
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+tx.Token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return "", false
	}
	return "receiver", true
}

// streamsAPI is SSF 1.0 8.1.1: POST creates, GET reads (one by stream_id,
// else all the caller's), PATCH and PUT update, DELETE deletes. A
// receiver sees and changes only its own streams.
func (tx *Transmitter) streamsAPI(w http.ResponseWriter, r *http.Request, who string) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	id := r.URL.Query().Get("stream_id")
	own := func(id string) *Stream {
		if s := tx.streams[id]; s != nil && s.owner == who {
			return s
		}
		return nil
	}
	switch r.Method {
	case http.MethodPost, http.MethodPatch, http.MethodPut:
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "Content-Type must be application/json"})
			return
		}
		var in Stream
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		var s *Stream
		if r.Method == http.MethodPost {
			s = &Stream{Iss: tx.Issuer, Aud: []string{who}, owner: who}
		} else if s = own(in.ID); s == nil {
			http.NotFound(w, r)
			return
		}
		next := *s
		if r.Method == http.MethodPut || in.Delivery.Method != "" {
			next.Delivery = in.Delivery
		}
		if r.Method == http.MethodPut || in.EventsRequested != nil {
			next.EventsRequested = in.EventsRequested
		}
		if r.Method == http.MethodPut || in.Description != "" {
			next.Description = in.Description
		}
		switch next.Delivery.Method {
		case PushURN:
			if u, err := url.Parse(next.Delivery.EndpointURL); err != nil || !u.IsAbs() || (u.Scheme != "https" && !loopback(u.Hostname())) {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "push delivery needs an https endpoint_url"})
				return
			}
		case PollURN:
			// The transmitter supplies the poll endpoint (SSF 1.0 6.1.2).
			next.Delivery = Delivery{Method: PollURN}
		default:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported delivery method"})
			return
		}
		if r.Method == http.MethodPost {
			tx.n++
			next.ID = fmt.Sprintf("s%d", tx.n)
		}
		if next.Delivery.Method == PollURN {
			next.Delivery.EndpointURL = tx.base + "/ssf/poll?stream_id=" + next.ID
		}
		next.EventsSupported = Supported
		next.EventsDelivered = nil
		for _, e := range next.EventsRequested {
			for _, sup := range Supported {
				if e == sup {
					next.EventsDelivered = append(next.EventsDelivered, e)
				}
			}
		}
		*s = next
		tx.streams[s.ID] = s
		status := http.StatusOK
		if r.Method == http.MethodPost {
			status = http.StatusCreated
		}
		writeJSON(w, status, s)
	case http.MethodGet:
		if id == "" {
			all := []*Stream{}
			for _, s := range tx.streams {
				if s.owner == who {
					all = append(all, s)
				}
			}
			writeJSON(w, http.StatusOK, all)
			return
		}
		if s := own(id); s != nil {
			writeJSON(w, http.StatusOK, s)
			return
		}
		http.NotFound(w, r)
	case http.MethodDelete:
		if own(id) == nil {
			http.NotFound(w, r)
			return
		}
		delete(tx.streams, id)
		delete(tx.queue, id)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// verify is SSF 1.0 8.1.4.2: a verification event with the receiver's
// state, delivered on the stream.
func (tx *Transmitter) verify(w http.ResponseWriter, r *http.Request, who string) {
	var in struct {
		StreamID string `json:"stream_id"`
		State    string `json:"state"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in) != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "POST {stream_id, state}"})
		return
	}
	tx.mu.Lock()
	s := tx.streams[in.StreamID]
	tx.mu.Unlock()
	if s == nil || s.owner != who {
		http.NotFound(w, r)
		return
	}
	payload := map[string]any{}
	if in.State != "" {
		payload["state"] = in.State
	}
	go tx.Deliver(*s, tx.SET(*s, Verification, map[string]any{"format": "opaque", "id": s.ID}, payload))
	w.WriteHeader(http.StatusNoContent)
}

// poll is RFC 8936: the poller's acknowledgements and setErrs recorded,
// then up to maxEvents SETs returned, waiting up to the long poll's time for one
// unless returnImmediately.
func (tx *Transmitter) poll(w http.ResponseWriter, r *http.Request, who string) {
	var in struct {
		MaxEvents         *int                `json:"maxEvents"`
		ReturnImmediately bool                `json:"returnImmediately"`
		Ack               []string            `json:"ack"`
		SetErrs           map[string]SETError `json:"setErrs"`
	}
	if r.Method != http.MethodPost || json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in) != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"err": "invalid_request"})
		return
	}
	id := r.URL.Query().Get("stream_id")
	tx.mu.Lock()
	s := tx.streams[id]
	if s == nil || s.owner != who || s.Delivery.Method != PollURN {
		tx.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	done := map[string]bool{}
	for _, j := range in.Ack {
		done[j] = true
		tx.acked = append(tx.acked, j)
	}
	for j, e := range in.SetErrs {
		done[j] = true
		tx.errs[j] = e
	}
	q := tx.queue[id][:0:0]
	for _, e := range tx.queue[id] {
		if !done[e.jti] {
			q = append(q, e)
		}
	}
	tx.queue[id] = q
	tx.mu.Unlock()
	max := 10
	if in.MaxEvents != nil {
		max = *in.MaxEvents
	}
	if max < 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"err": "invalid_request", "description": "maxEvents must not be negative"})
		return
	}
	tx.mu.Lock()
	wait := tx.longPoll
	tx.mu.Unlock()
	if wait <= 0 {
		wait = 5 * time.Second
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		tx.mu.Lock()
		q, wake := tx.queue[id], tx.wake
		tx.mu.Unlock()
		if len(q) > 0 || in.ReturnImmediately || max == 0 {
			sets := map[string]string{}
			for _, e := range q[:min(len(q), max)] {
				sets[e.jti] = e.raw
			}
			writeJSON(w, http.StatusOK, map[string]any{"sets": sets, "moreAvailable": len(q) > max})
			return
		}
		select {
		case <-wake:
		case <-deadline.C:
			in.ReturnImmediately = true
		case <-r.Context().Done():
			return
		}
	}
}

// loopback reports whether host is this machine's (http is fine there).
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// SetLongPoll sets how long a poll without returnImmediately waits for a
// SET (default 5 s), for the polls that start from now on.
func (tx *Transmitter) SetLongPoll(d time.Duration) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.longPoll = d
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

// Calls counts the requests of method to path.
func (tx *Transmitter) Calls(method, path string) int {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.calls[method+" "+path]
}

// SET signs a SET for stream s: event with payload, about subject (the
// sub_id), with a fresh jti, now.
func (tx *Transmitter) SET(s Stream, event string, subject, payload map[string]any) string {
	return tx.Sign(map[string]any{"iss": tx.Issuer, "aud": s.Aud, "jti": random(), "iat": time.Now().Unix(),
		"sub_id": subject, "events": map[string]any{event: payload}})
}

// Sign signs claims as a SET with the transmitter's key.
func (tx *Transmitter) Sign(claims map[string]any) string { return tx.SignWith(tx.key, tx.kid, claims) }

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

// Deliver sends raw on stream s as its delivery method says: pushed
// (the receiver's status and err returned), or queued for its poller
// (202, at once).
func (tx *Transmitter) Deliver(s Stream, raw string) (int, string, error) {
	if s.Delivery.Method == PollURN {
		tx.Enqueue(s, raw)
		return http.StatusAccepted, "", nil
	}
	return tx.Push(s, raw)
}

// Events are the short names of the events Send takes.
var Events = map[string]string{"session-revoked": SessionRevoked, "credential-change": CredentialChange,
	"token-claims-change": TokenClaimsChange, "assurance-level-change": AssuranceLevelChange,
	"account-disabled": AccountDisabled, "account-purged": AccountPurged, "credential-compromise": CredentialCompromise}

// Send signs event (its URI) about subject with payload for each stream
// that delivers it, and delivers it: the streams' IDs with the receivers'
// answers (a push's status, or "queued").
func (tx *Transmitter) Send(event string, subject, payload map[string]any) map[string]string {
	out := map[string]string{}
	for _, s := range tx.Streams() {
		if !slicesContains(s.EventsDelivered, event) {
			continue
		}
		if s.Delivery.Method == PollURN {
			tx.Enqueue(s, tx.SET(s, event, subject, payload))
			out[s.ID] = "queued"
			continue
		}
		status, code, err := tx.Push(s, tx.SET(s, event, subject, payload))
		switch {
		case err != nil:
			out[s.ID] = err.Error()
		default:
			out[s.ID] = strings.TrimSpace(fmt.Sprintf("%d %s", status, code))
		}
	}
	return out
}

func slicesContains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Enqueue queues raw for stream s's poller.
func (tx *Transmitter) Enqueue(s Stream, raw string) {
	var c struct {
		JTI string `json:"jti"`
	}
	if jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256}); err == nil {
		json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c)
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.queue[s.ID] = append(tx.queue[s.ID], queued{jti: c.JTI, raw: raw})
	close(tx.wake)
	tx.wake = make(chan struct{})
}

// Pending is how many SETs stream s's poller has not acknowledged.
func (tx *Transmitter) Pending(s Stream) int {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return len(tx.queue[s.ID])
}

// Acked are the jtis pollers acknowledged; SETErrors what they refused.
func (tx *Transmitter) Acked() []string {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return append([]string(nil), tx.acked...)
}

// SETErrors are the setErrs pollers returned, by jti.
func (tx *Transmitter) SETErrors() map[string]SETError {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	out := map[string]SETError{}
	for k, v := range tx.errs {
		out[k] = v
	}
	return out
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
