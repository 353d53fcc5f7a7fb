package middleware

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/internal/seam"
	"github.com/confidant-go/confidant/internal/secevent"
	"github.com/confidant-go/confidant/internal/sesskeys"
	"github.com/confidant-go/confidant/internal/ssf"
	"github.com/confidant-go/confidant/session"
)

// The event types of CAEP 1.0 and RISC 1.0 the receiver acts on by
// default.
const (
	caepSessionRevoked       = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	caepCredentialChange     = "https://schemas.openid.net/secevent/caep/event-type/credential-change"
	caepTokenClaimsChange    = "https://schemas.openid.net/secevent/caep/event-type/token-claims-change"
	caepAssuranceLevelChange = "https://schemas.openid.net/secevent/caep/event-type/assurance-level-change"
	riscAccountDisabled      = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
	riscAccountPurged        = "https://schemas.openid.net/secevent/risc/event-type/account-purged"
	riscCredentialCompromise = "https://schemas.openid.net/secevent/risc/event-type/credential-compromise"
)

var defaultSignals = map[string]SignalAction{
	caepSessionRevoked:       SignalEndSessions,
	caepCredentialChange:     SignalEndUser,
	riscAccountDisabled:      SignalEndUser,
	riscAccountPurged:        SignalEndUser,
	riscCredentialCompromise: SignalEndUser,
	caepTokenClaimsChange:    SignalRefreshClaims,
	caepAssuranceLevelChange: SignalStepUp,
}

const (
	// setMaxAge is how old a SET's iat may be: a transmitter retries a
	// push, and a poller that was down collects what waited, for hours.
	setMaxAge = 24 * time.Hour
	// actFor bounds what one SET does (its revocations included), and
	// busyFor is how long an instance holds it meanwhile: much longer.
	actFor, busyFor = time.Minute, 5 * time.Minute
	// maxLongPoll is how long a poll may wait for the transmitter's
	// answer (RFC 8936 lets it hold the request until it has an event).
	maxLongPoll = 2 * time.Minute
	// pushLabel derives the default push authorization from the keys.
	pushLabel = "confidant shared signals push authorization\x00"
)

// receiver receives the sign-in provider's security events
// (Config.SharedSignals).
type receiver struct {
	a        *Auth
	c        *client.Client // the sign-in provider's
	provider string
	issuer   string       // the provider's: the transmitter's
	hc       *http.Client // the provider's: its transport, its timeout (10 s by default)
	pollHC   *http.Client // the same transport, waiting as long as a long poll may
	actions  map[string]SignalAction
	poll     bool
	scopes   []string
	endpoint string   // Prefix+"ssf" on the app's origin
	push     string   // the Authorization value the transmitter is given
	accept   []string // the values a push may carry (every key's)
	marks    bool     // some action marks sessions (claims, step-up)

	setup      sync.Mutex // one stream setup at a time
	mu         sync.Mutex
	st         *stream
	checked    time.Time // when Ready last saw st at the transmitter
	tok        *oauth2.Token
	keys       []jose.JSONWebKey
	keysAt     time.Time // the last read of the keys
	keysFailed bool      // it failed

	polling   bool
	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
}

// stream is the app's stream, as the transmitter configured it.
type stream struct {
	meta *ssf.Metadata
	id   string
	aud  []string
	poll string // the poll endpoint
	how  string // "created", "updated" or "reused", with its delivery method
}

// streamConfig is a stream's configuration (SSF 1.0 8.1.1).
type streamConfig struct {
	ID              string         `json:"stream_id,omitempty"`
	Aud             audienceList   `json:"aud,omitempty"`
	EventsRequested []string       `json:"events_requested"`
	Delivery        streamDelivery `json:"delivery"`
	Description     string         `json:"description,omitempty"`
}

type streamDelivery struct {
	Method              string `json:"method"`
	EndpointURL         string `json:"endpoint_url,omitempty"`
	AuthorizationHeader string `json:"authorization_header,omitempty"`
}

// audienceList is aud: a string or an array of strings.
type audienceList []string

func (l *audienceList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	err := json.Unmarshal(b, &many)
	*l = many
	return err
}

// newReceiver checks cfg.SharedSignals and makes its receiver.
func (a *Auth) newReceiver() error {
	sc := a.cfg.SharedSignals
	if sc == nil {
		return nil
	}
	c := a.clients[0]
	p := providerOf(c.Provider())
	if !p.IsOIDC() {
		return configErr("SharedSignals: provider %q is not an OpenID provider with an issuer, where a transmitter is found", c.Provider().Name())
	}
	hc := p.HTTPClient()
	r := &receiver{a: a, c: c, provider: c.Provider().Name(), issuer: p.Issuer(), hc: hc, poll: sc.Poll,
		pollHC: &http.Client{Transport: hc.Transport, CheckRedirect: hc.CheckRedirect, Timeout: maxLongPoll},
		scopes: slices.Clone(sc.Scopes), endpoint: netx.Origin(a.origin) + a.cfg.Prefix + "ssf", actions: map[string]SignalAction{}}
	for typ, act := range defaultSignals {
		r.actions[typ] = act
	}
	for typ, act := range sc.Events {
		if act < signalDefault || act > SignalStepUp {
			return configErr("SharedSignals.Events[%q]: unknown SignalAction %d", typ, act)
		}
		if act == signalDefault {
			continue
		}
		r.actions[typ] = act
	}
	for typ, act := range r.actions {
		switch act {
		case SignalIgnore:
			delete(r.actions, typ)
		case SignalRefreshClaims:
			r.marks = true
		case SignalStepUp:
			r.marks = r.marks || len(plumbingOf(c).RequiredACR()) > 0
		}
	}
	if sc.PushToken != "" {
		r.push = "Bearer " + sc.PushToken
		r.accept = []string{r.push}
	} else {
		for _, k := range a.flows.Derive(pushLabel + a.appID()) {
			r.accept = append(r.accept, "Bearer "+base64.RawURLEncoding.EncodeToString(k))
		}
		r.push = r.accept[0]
	}
	a.signals = r
	return nil
}

// Close stops what the Auth runs in the background (the poller of
// SharedSignals.Poll), acknowledging what it received, and waits for it
// to stop. The Auth still serves requests. Safe to call more than once.
func (a *Auth) Close() error {
	if r := a.signals; r != nil {
		r.close()
	}
	return nil
}

// ready sets up the stream and, for a poller, starts polling. Called
// again (a readiness check), it checks now and then that the stream is
// still there, and sets it up again if it is gone.
func (r *receiver) ready(ctx context.Context) error {
	r.mu.Lock()
	st, checked := r.st, r.checked
	r.mu.Unlock()
	if st != nil && r.a.cfg.Now().Sub(checked) > time.Minute {
		r.mu.Lock()
		r.checked = r.a.cfg.Now()
		r.mu.Unlock()
		status, _, err := r.manage(ctx, http.MethodGet, st.meta.ConfigurationEndpoint+"?stream_id="+url.QueryEscape(st.id), nil)
		if err == nil && status == http.StatusNotFound {
			r.forgetStream(st)
		}
	}
	if _, err := r.stream(ctx); err != nil {
		return fmt.Errorf("shared signals: %w", err)
	}
	if r.poll {
		r.mu.Lock()
		if !r.polling && r.stop == nil {
			r.polling, r.stop, r.stopped = true, make(chan struct{}), make(chan struct{})
			go r.pollLoop()
		}
		r.mu.Unlock()
	}
	return nil
}

func (r *receiver) close() {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		stop, stopped := r.stop, r.stopped
		if stop == nil {
			r.stop = make(chan struct{}) // no poller starts after Close
			close(r.stop)
		}
		r.mu.Unlock()
		if stop != nil {
			close(stop)
			<-stopped
		}
	})
}

// restream forgets st so that the stream is read again, unless it was
// read less than ten seconds ago.
func (r *receiver) restream(st *stream) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.st != st || r.a.cfg.Now().Sub(r.checked) < 10*time.Second {
		return false
	}
	r.st = nil
	return true
}

// forgetStream drops st (gone at the transmitter): the next use sets
// the stream up again.
func (r *receiver) forgetStream(st *stream) {
	r.mu.Lock()
	if r.st == st {
		r.st = nil
	}
	r.mu.Unlock()
}

// stream returns the app's stream, set up at the transmitter the first
// time (by Ready, or by the first event that arrives before).
func (r *receiver) stream(ctx context.Context) (*stream, error) {
	r.mu.Lock()
	st := r.st
	r.mu.Unlock()
	if st != nil {
		return st, nil
	}
	r.setup.Lock()
	defer r.setup.Unlock()
	r.mu.Lock()
	st = r.st
	r.mu.Unlock()
	if st != nil {
		return st, nil
	}
	// One instance at a time across the app (Redis), so that instances
	// that start together find the stream the first one made.
	held, unlock, err := r.a.lockShared(ctx, "\x00shared signals stream")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	st, err = r.setUp(held)
	unlock()
	if err != nil {
		return nil, err
	}
	if r.a.cfg.Logger != nil {
		r.a.cfg.Logger.Info("confidant: shared signals stream ready", "provider", r.provider, "stream", netx.ProviderText(st.id), "delivery", st.how)
	}
	r.mu.Lock()
	r.st, r.checked = st, r.a.cfg.Now()
	r.mu.Unlock()
	return st, nil
}

// setUp finds the transmitter and makes the app's stream there: one of
// the app's with the same delivery is reused (updated when its events or
// authorization differ), else one is created. None is deleted.
func (r *receiver) setUp(ctx context.Context) (*stream, error) {
	meta, err := ssf.Discover(ctx, r.hc, r.issuer)
	if err != nil {
		return nil, err
	}
	method := ssf.PushURN
	if r.poll {
		method = ssf.PollURN
	}
	if len(meta.DeliveryMethodsSupported) > 0 && !slices.Contains(meta.DeliveryMethodsSupported, method) {
		return nil, fmt.Errorf("%w: the transmitter does not deliver by %s (it names %q)", fail.Discovery, method, meta.DeliveryMethodsSupported)
	}
	if meta.ConfigurationEndpoint == "" {
		return nil, fmt.Errorf("%w: the transmitter has no configuration_endpoint to make a stream with", fail.Discovery)
	}
	want := streamConfig{EventsRequested: r.events(), Delivery: streamDelivery{Method: method}}
	if !r.poll {
		want.Delivery.EndpointURL, want.Delivery.AuthorizationHeader = r.endpoint, r.push
	}
	status, body, err := r.manage(ctx, http.MethodGet, meta.ConfigurationEndpoint, nil)
	if err != nil {
		return nil, err
	}
	var found *streamConfig
	if status == http.StatusOK {
		var list []streamConfig
		if json.Unmarshal(body, &list) != nil {
			var one streamConfig
			if json.Unmarshal(body, &one) == nil && one.ID != "" {
				list = []streamConfig{one}
			}
		}
		for i, s := range list {
			if s.Delivery.Method == method && (r.poll || s.Delivery.EndpointURL == r.endpoint) {
				found = &list[i]
				break
			}
		}
	} else if status != http.StatusNotFound && status != http.StatusNoContent {
		return nil, r.refused("reading its streams", status, body)
	}
	var got streamConfig
	how := "reused"
	switch {
	case found == nil:
		how = "created"
		status, body, err = r.manage(ctx, http.MethodPost, meta.ConfigurationEndpoint, want)
		if err != nil {
			return nil, err
		}
		if status != http.StatusCreated && status != http.StatusOK {
			return nil, r.refused("creating the stream", status, body)
		}
	case !sameSet(found.EventsRequested, want.EventsRequested) || (!r.poll && found.Delivery.AuthorizationHeader != r.push):
		// Another instance made it with other events, or keys that were
		// rotated since (a transmitter may not show the authorization:
		// it is set again).
		how = "updated"
		want.ID = found.ID
		status, body, err = r.manage(ctx, http.MethodPatch, meta.ConfigurationEndpoint, want)
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK && status != http.StatusAccepted {
			return nil, r.refused("updating the stream", status, body)
		}
	default:
		body, _ = json.Marshal(found)
	}
	if err := json.Unmarshal(body, &got); err != nil || got.ID == "" {
		return nil, fmt.Errorf("%w: the transmitter's stream configuration is not one: %v", fail.Discovery, err)
	}
	st := &stream{meta: meta, id: got.ID, aud: got.Aud, how: how + " (" + method + ")"}
	if r.poll {
		st.poll = got.Delivery.EndpointURL
		if u, err := parseHTTPS(st.poll); err != nil || netx.Origin(u) == "" {
			return nil, fmt.Errorf("%w: the stream's poll endpoint %q is not https", fail.Discovery, netx.ProviderText(st.poll))
		}
	}
	return st, nil
}

// lockShared takes the lock id across the app's instances when they share
// Redis (the Store's, or the DenyList's), else within this process only.
func (a *Auth) lockShared(ctx context.Context, id string) (context.Context, func(), error) {
	if a.shared != nil {
		return a.shared.Lock(ctx, id)
	}
	if rc, ok := seam.Of(a.cfg.DenyList).(refreshCoordinator); ok {
		return rc.Lock(ctx, id)
	}
	return ctx, func() {}, nil
}

// events are the event types the stream asks for.
func (r *receiver) events() []string {
	out := make([]string, 0, len(r.actions))
	for typ := range r.actions {
		out = append(out, typ)
	}
	slices.Sort(out)
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func (r *receiver) refused(what string, status int, body []byte) error {
	kind := fail.Discovery
	if status/100 == 5 || status == http.StatusTooManyRequests {
		kind = fail.ProviderUnavailable
	}
	return fmt.Errorf("%w: the transmitter refused %s: %d %s", kind, what, status, netx.ProviderText(string(body)))
}

// manage calls the transmitter (its management API, its poll endpoint)
// with the app's own token, taken again once when it is refused.
func (r *receiver) manage(ctx context.Context, method, url string, in any) (int, []byte, error) {
	return r.call(ctx, r.hc, method, url, in)
}

// call is manage with hc.
func (r *receiver) call(ctx context.Context, hc *http.Client, method, url string, in any) (int, []byte, error) {
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	for try := 0; ; try++ {
		tok, err := r.token(ctx, try > 0)
		if err != nil {
			return 0, nil, err
		}
		req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
		if err != nil {
			return 0, nil, fmt.Errorf("%w: %v", fail.Discovery, err)
		}
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		tok.SetAuthHeader(req)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, fmt.Errorf("%w: the transmitter: %w", fail.ProviderUnavailable, err)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if err != nil {
			return 0, nil, fmt.Errorf("%w: the transmitter: %w", fail.ProviderUnavailable, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && try == 0 {
			continue
		}
		return resp.StatusCode, b, nil
	}
}

// token is the app's own token for the transmitter (client_credentials).
func (r *receiver) token(ctx context.Context, renew bool) (*oauth2.Token, error) {
	r.mu.Lock()
	tok := r.tok
	r.mu.Unlock()
	if tok != nil && !renew && (tok.Expiry.IsZero() || r.a.cfg.Now().Add(expiryDelta).Before(tok.Expiry)) {
		return tok, nil
	}
	tok, err := r.c.ClientCredentials(ctx, "", r.scopes)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.tok = tok
	r.mu.Unlock()
	return tok, nil
}

// jwks returns the transmitter's keys, read again (at most every ten
// seconds) when none has kid.
func (r *receiver) jwks(ctx context.Context, st *stream, kid string) ([]jose.JSONWebKey, error) {
	r.mu.Lock()
	keys, at := r.keys, r.keysAt
	r.mu.Unlock()
	r.mu.Lock()
	failed := r.keysFailed
	r.mu.Unlock()
	has := slices.ContainsFunc(keys, func(k jose.JSONWebKey) bool { return kid == "" || k.KeyID == kid })
	if has {
		return keys, nil
	}
	if !at.IsZero() && r.a.cfg.Now().Sub(at) < 10*time.Second {
		// Read at most every ten seconds, failed or not.
		if failed {
			// Not the SET's fault: delivered again, it is verified then.
			return nil, fmt.Errorf("%w: the transmitter's keys could not be read lately", fail.ProviderUnavailable)
		}
		return keys, nil // no key has this kid: a forged SET's
	}
	keys, err := r.fetchKeys(ctx, st)
	r.mu.Lock()
	r.keysAt, r.keysFailed = r.a.cfg.Now(), err != nil
	if err == nil {
		r.keys = keys
	}
	r.mu.Unlock()
	return keys, err
}

// fetchKeys reads the transmitter's JWKS.
func (r *receiver) fetchKeys(ctx context.Context, st *stream) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, st.meta.JWKSURI, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: the transmitter's keys: %w", fail.ProviderUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: the transmitter's keys: %s", fail.ProviderUnavailable, resp.Status)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("%w: the transmitter's keys: %v", fail.ProviderUnavailable, err)
	}
	keys := []jose.JSONWebKey{}
	for _, raw := range set.Keys {
		// A key of a kind go-jose does not know (an encryption key, a
		// new algorithm) is skipped, not fatal to the others.
		var k jose.JSONWebKey
		if k.UnmarshalJSON(raw) == nil {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// serve is the push endpoint, Prefix+"ssf".
func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	reported := new(bool)
	(&ssf.Push{
		Authorized: func(req *http.Request) bool {
			got := []byte(req.Header.Get("Authorization"))
			ok := 0
			for _, v := range r.accept {
				ok |= subtle.ConstantTimeCompare(got, []byte(v))
			}
			return ok == 1
		},
		Receive: r.receive,
	}).ServeHTTP(&rejectedWriter{ResponseWriter: w, a: r.a, r: req, reported: reported}, req.WithContext(context.WithValue(req.Context(), reportedKey{}, reported)))
}

// rejectedWriter reports the push endpoint's refusals that receive did
// not (before a SET was read) as events.
type rejectedWriter struct {
	http.ResponseWriter
	a        *Auth
	r        *http.Request
	reported *bool
}

func (w *rejectedWriter) WriteHeader(status int) {
	if status >= 400 && !*w.reported {
		why := "a push that is not a SET (POST, application/secevent+jwt, at most 64 KiB)"
		if status == http.StatusUnauthorized {
			why = "a push without the stream's authorization"
		}
		w.a.emit(w.r.Context(), event.Event{Kind: event.Rejected, Status: status, Err: fmt.Errorf("%w: shared signals: %s", fail.BadRequest, why),
			Attrs: []slog.Attr{slog.String("method", w.r.Method), slog.String("path", sentPath(w.r)), slog.String("route", "ssf")}})
	}
	w.ResponseWriter.WriteHeader(status)
}

// receive verifies raw and acts on it once across instances: nil for an
// event taken (or a replay, acknowledged and not acted on), an error in
// fail.BadRequest for a SET refused, another error for the app's own
// trouble (the transmitter delivers it again).
func (r *receiver) receive(ctx context.Context, raw string) error {
	err := r.take(ctx, raw)
	if err != nil {
		status := http.StatusBadRequest
		if !errors.Is(err, fail.BadRequest) {
			status = http.StatusServiceUnavailable
		}
		r.a.emit(ctx, event.Event{Kind: event.Rejected, Provider: r.provider, Status: status, Err: err,
			Attrs: []slog.Attr{slog.String("route", "ssf")}})
		if rep, ok := ctx.Value(reportedKey{}).(*bool); ok {
			*rep = true
		}
	}
	return err
}

// reportedKey marks a push whose refusal receive reported.
type reportedKey struct{}

// take is receive without its report.
func (r *receiver) take(ctx context.Context, raw string) error {
	st, err := r.stream(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", fail.ProviderUnavailable, err)
	}
	verify := func(st *stream) (*secevent.Token, error) {
		aud := append(slices.Clone(st.aud), plumbingOf(r.c).ClientID())
		return secevent.Verify(ctx, raw, func(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
			return r.jwks(ctx, st, kid)
		}, secevent.Want{Issuer: st.meta.Issuer, Audience: aud, MaxAge: setMaxAge, Now: r.a.cfg.Now})
	}
	tok, err := verify(st)
	if errors.Is(err, secevent.ErrInvalidAudience) && r.restream(st) {
		// Another instance made the stream again, with an aud of its own:
		// the stream is read again (at most every ten seconds).
		if st, err = r.stream(ctx); err != nil {
			return fmt.Errorf("%w: %w", fail.ProviderUnavailable, err)
		}
		tok, err = verify(st)
	}
	if err != nil {
		return err
	}
	// Acted on once: "done" once it took effect (a replay then is
	// acknowledged and ignored), "busy" while an instance acts on it (the
	// same SET meanwhile is answered 503: it has not taken effect yet, and
	// the transmitter delivers it again).
	done, busy := "set\x00"+tok.Issuer+"\x00"+tok.ID, "setbusy\x00"+tok.Issuer+"\x00"+tok.ID
	if seen, err := r.a.replays.Seen(ctx, done); err != nil {
		return fmt.Errorf("%w: %w", fail.SessionStore, err)
	} else if seen {
		r.a.emit(ctx, event.Event{Kind: event.SignalReceived, Provider: r.provider,
			Attrs: []slog.Attr{slog.String("type", tok.Event), slog.String("jti", event.Redact(tok.ID)), slog.Bool("replay", true)}})
		return nil
	}
	first, err := r.a.replays.FirstUse(ctx, busy, busyFor)
	if err != nil {
		return fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	if !first {
		return fmt.Errorf("%w: the same SET is being acted on", fail.SessionStore)
	}
	if seen, err := r.a.replays.Seen(ctx, done); err != nil || seen {
		// Taken by another instance between the two looks.
		r.a.replays.Forget(context.WithoutCancel(ctx), busy)
		if err != nil {
			return fmt.Errorf("%w: %w", fail.SessionStore, err)
		}
		return nil
	}
	// The action ends well before the busy mark does: a second delivery
	// never acts beside it.
	actCtx, cancel := context.WithTimeout(ctx, actFor)
	n, what, err := r.act(actCtx, tok)
	cancel()
	if err == nil {
		_, err = r.a.replays.FirstUse(ctx, done, setMaxAge+2*time.Minute)
	}
	if err != nil {
		// Taken only once it took effect: the transmitter's retry must
		// work.
		return errors.Join(fmt.Errorf("%w: %w", fail.SessionStore, err), r.a.replays.Forget(context.WithoutCancel(ctx), busy))
	}
	r.a.replays.Forget(context.WithoutCancel(ctx), busy)
	attrs := []slog.Attr{slog.String("type", tok.Event), slog.String("action", what), slog.String("jti", event.Redact(tok.ID))}
	if r.a.shared != nil {
		attrs = append(attrs, slog.Int("sessions_deleted", n)) // cookie sessions are denied: how many is not known
	}
	r.a.emit(ctx, event.Event{Kind: event.SignalReceived, Provider: r.provider, Attrs: attrs})
	return nil
}

// target is who a SET's subject names, as the sessions' keys say.
type target struct {
	users    []string // keys of every session of the user (by subject or by verified email)
	subjects []string // the users' subjects: given, or found by their email
	sid      string   // the key of one provider session, when it names one
	withUser bool     // sid is that of the user's session only
	opaque   string   // a simple opaque subject: a user's sub, or (CAEP's session-revoked) a session's sid
}

// resolve finds who s names: nil for no one.
func (r *receiver) resolve(ctx context.Context, s *secevent.Subject) (*target, error) {
	if s == nil {
		return nil, nil
	}
	switch s.Format {
	case "complex":
		t := &target{}
		if s.User != nil {
			if s.User.Format == "complex" {
				return nil, nil
			}
			u, err := r.resolve(ctx, s.User)
			if u == nil || err != nil {
				return nil, err // a user member this app does not know: no one
			}
			t = u
			t.withUser, t.opaque = true, ""
		}
		if s.Session != nil {
			if s.Session.Format != "opaque" || s.Session.ID == "" {
				return nil, nil
			}
			t.sid = sesskeys.SID(r.sessionIssuer(s.User), s.Session.ID)
		}
		if len(t.users) == 0 && t.sid == "" {
			return nil, nil
		}
		return t, nil
	case "iss_sub":
		if s.Sub == "" || !providerOf(r.c.Provider()).HasIssuer(ctx, s.Iss) {
			return nil, nil
		}
		return &target{users: []string{sesskeys.User(r.provider, s.Sub)}, subjects: []string{s.Sub}}, nil
	case "opaque":
		if s.ID == "" {
			return nil, nil
		}
		return &target{users: []string{sesskeys.User(r.provider, s.ID)}, subjects: []string{s.ID}, opaque: s.ID}, nil
	case "email":
		if s.Email == "" {
			return nil, nil
		}
		key := sesskeys.Email(r.provider, s.Email)
		subs, err := r.a.subjectsOf(ctx, r.provider, s.Email)
		t := &target{users: []string{key}, subjects: subs}
		for _, sub := range subs {
			// The account the address is: every session of its user.
			t.users = append(t.users, sesskeys.User(r.provider, sub))
		}
		return t, err
	case "aliases":
		t := &target{}
		for i := range s.Identifiers {
			if f := s.Identifiers[i].Format; f == "aliases" || f == "complex" {
				continue
			}
			u, err := r.resolve(ctx, &s.Identifiers[i])
			if err != nil {
				return nil, err
			}
			if u != nil {
				t.users = append(t.users, u.users...)
				t.subjects = append(t.subjects, u.subjects...)
			}
		}
		if len(t.users) == 0 {
			return nil, nil
		}
		slices.Sort(t.subjects)
		t.subjects = slices.Compact(t.subjects)
		return t, nil
	}
	return nil, nil
}

// sessionIssuer is the ID tokens' iss that a complex subject's session
// belongs to: its iss_sub user's issuer (a tenant's), else the provider's.
func (r *receiver) sessionIssuer(user *secevent.Subject) string {
	if user != nil && user.Format == "iss_sub" && user.Iss != "" {
		return user.Iss
	}
	return r.issuer
}

// act does what tok's event does, and says how many sessions it deleted
// (with a Redis store) and what it did.
func (r *receiver) act(ctx context.Context, tok *secevent.Token) (int, string, error) {
	action := r.actions[tok.Event]
	if action == signalDefault {
		return 0, "none", nil // an event type the app does not act on
	}
	t, err := r.resolve(ctx, tok.Subject)
	if t == nil || err != nil {
		return 0, "no_subject", err
	}
	now := r.a.cfg.Now()
	switch action {
	case SignalEndSessions:
		if t.sid != "" {
			n, err := r.endSession(ctx, t)
			return n, "end_session", err
		}
		n, err := r.endUsers(ctx, t, now, false)
		if t.opaque != "" && err == nil && tok.Event == caepSessionRevoked {
			// CAEP's own session-revoked names the session by a simple
			// opaque subject: its sid.
			var m int
			m, err = r.endSession(ctx, &target{sid: sesskeys.SID(r.issuer, t.opaque)})
			n += m
		}
		return n, "end_sessions", err
	case SignalEndUser:
		if len(t.users) == 0 {
			n, err := r.endSession(ctx, t)
			return n, "end_session", err
		}
		n, err := r.endUsers(ctx, t, now, true)
		return n, "end_user", err
	case SignalRefreshClaims:
		return 0, "refresh_claims", r.mark(ctx, markClaims, t, now)
	case SignalStepUp:
		var p struct {
			Current string `json:"current_level"`
		}
		json.Unmarshal(tok.Payload, &p)
		want := plumbingOf(r.c).RequiredACR()
		if len(want) == 0 || slices.Contains(want, p.Current) {
			return 0, "none", nil
		}
		return 0, "step_up", r.mark(ctx, markReauth, t, now)
	}
	return 0, "none", nil
}

// endUsers ends every session of t's users made until at. Their refresh
// tokens are read before (a server-side store's are in the sessions) and
// revoked after: a session that comes back (a restart of an in-memory
// deny list) cannot be refreshed. With grants, the users' grants end too
// (EndUserSessions).
func (r *receiver) endUsers(ctx context.Context, t *target, at time.Time, grants bool) (int, error) {
	rts := make([]listedSessions, len(t.subjects))
	for i, sub := range t.subjects {
		var err error
		if rts[i], err = r.a.listedTokens(ctx, r.provider, sub); err != nil {
			return 0, err
		}
	}
	n, err := r.endAll(ctx, t.users, at)
	if err != nil {
		return n, err
	}
	for i, sub := range t.subjects {
		err = errors.Join(err, r.a.revokeTokens(ctx, r.provider, sub, rts[i]))
		if grants {
			err = errors.Join(err, r.a.endGrants(ctx, r.provider, sub))
			if r.a.family != nil {
				err = errors.Join(err, r.a.endSignInGrant(ctx, r.provider, sub))
			}
		}
	}
	return n, err
}

// endSession ends the one session (provider session) t names and, with
// withUser, only if it is one of t's users'. A server-side store finds it
// by its sid and checks its user; the deny list of cookie sessions has a
// key for both.
func (r *receiver) endSession(ctx context.Context, t *target) (int, error) {
	if !t.withUser {
		if known, err := r.writes(ctx, t.sid); !known || err != nil {
			return 0, err
		}
		return r.a.endSessions(ctx, t.sid, denyAll)
	}
	sid := strings.SplitN(t.sid, "\x00", 3)
	total := 0
	for _, sub := range t.subjects {
		if of, ok := r.a.shared.(interface {
			EndSessionsOf(ctx context.Context, key, provider, subject string) (int, error)
		}); ok {
			n, err := of.EndSessionsOf(ctx, t.sid, r.provider, sub)
			total += n
			if err != nil {
				return total, err
			}
			continue
		}
		if known, err := r.known(ctx, t.sid, sub); !known || err != nil {
			if err != nil {
				return total, err
			}
			continue
		}
		if _, err := r.a.endSessions(ctx, sesskeys.SIDUser(sid[1], sid[2], r.provider, sub), denyAll); err != nil {
			return total, err
		}
	}
	return total, nil
}

// endAll ends the sessions under each of keys (made until at).
func (r *receiver) endAll(ctx context.Context, keys []string, at time.Time) (int, error) {
	total := 0
	for _, k := range keys {
		if known, err := r.writes(ctx, k); !known || err != nil {
			if err != nil {
				return total, err
			}
			continue
		}
		n, err := r.a.endSessions(ctx, k, at)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// writes reports whether ending the sessions under key is worth a
// write: with a server-side store, ending what is not there writes
// nothing, and is always done; with cookie sessions, it is a deny-list
// entry: for a user, always; for a provider session (a new sid at every
// sign-in at the provider, for any of its users), only when the app may
// have a session of it (known).
func (r *receiver) writes(ctx context.Context, key string) (bool, error) {
	if r.a.shared != nil || !strings.HasPrefix(key, "sid\x00") {
		// A user's: always (there are as many as the provider's users).
		return true, nil
	}
	return r.known(ctx, key, "")
}

// known reports whether the app may have a session under key (of subject,
// when given): the users' lists of sessions say so. A subject the app has
// no session of costs no deny-list entry and no mark. Without lists that
// every instance shares (a DenyList of the app's own), every key is
// taken as known.
func (r *receiver) known(ctx context.Context, key, subject string) (bool, error) {
	if !r.a.listsShared() {
		return true, nil
	}
	fields, err := r.a.listedUnder(ctx, key)
	if err != nil {
		return false, err
	}
	if subject != "" {
		return slices.Contains(fields, subject), nil
	}
	return len(fields) > 0, nil
}

// The marks a security event leaves on sessions, read at their next
// request.
const (
	markClaims = "claims\x00" // renew the claims
	markReauth = "reauth\x00" // sign in again, prompt=login
)

func (r *receiver) mark(ctx context.Context, kind string, t *target, at time.Time) error {
	keys := t.users
	if t.sid != "" {
		keys = []string{t.sid}
		if t.withUser {
			keys = nil
			sid := strings.SplitN(t.sid, "\x00", 3)
			for _, sub := range t.subjects {
				keys = append(keys, sesskeys.SIDUser(sid[1], sid[2], r.provider, sub))
			}
		}
	}
	for _, k := range keys {
		known, err := r.writes(ctx, k)
		if strings.HasPrefix(k, "sidsub\x00") {
			// A provider session with its user: only one the lists know.
			parts := strings.SplitN(k, "\x00", 5)
			known, err = r.known(ctx, sesskeys.SID(parts[1], parts[2]), parts[4])
		}
		if err != nil {
			return err
		}
		if !known {
			continue
		}
		if err := r.a.marks.Deny(ctx, kind+k, at, r.a.denyTTL); err != nil {
			return err
		}
	}
	return nil
}

// eachDenied is a DenyList of this module's, which reads many keys at
// once (redisstore.DenyList: one round trip).
type eachDenied interface {
	DeniedEach(ctx context.Context, keys []string) ([]time.Time, error)
}

// deniedOrMarked reports whether s was ended through the deny list and,
// when security events can mark sessions, when s was last marked to renew
// its claims and to sign in again (zero: never): with this module's deny
// lists, in one round trip.
func (a *Auth) deniedOrMarked(ctx context.Context, s *session.Session) (denied bool, claims, reauth time.Time, err error) {
	if a.signals == nil || !a.signals.marks {
		denied, err = a.denied(ctx, s)
		return
	}
	keys := sessionPlumbing.DenyKeys(s)
	n := len(keys)
	all := make([]string, 0, 3*n)
	for _, k := range keys {
		all = append(all, markClaims+k)
	}
	for _, k := range keys {
		all = append(all, markReauth+k)
	}
	latest := func(ts []time.Time) (t time.Time) {
		for _, at := range ts {
			if at.After(t) {
				t = at
			}
		}
		return t
	}
	each, _ := seam.Of(a.marks).(eachDenied)
	if each != nil && a.cfg.DenyList == a.marks {
		ts, err := each.DeniedEach(ctx, append(all, keys...))
		if err != nil {
			return false, claims, reauth, err
		}
		at := latest(ts[2*n:])
		return !at.IsZero() && !s.CreatedAt.After(at), latest(ts[:n]), latest(ts[n : 2*n]), nil
	}
	if denied, err = a.denied(ctx, s); err != nil || denied {
		return
	}
	if each != nil {
		ts, err := each.DeniedEach(ctx, all)
		if err != nil {
			return false, claims, reauth, err
		}
		return false, latest(ts[:n]), latest(ts[n:]), nil
	}
	if claims, err = a.marks.DeniedAt(ctx, all[:n]...); err != nil {
		return
	}
	reauth, err = a.marks.DeniedAt(ctx, all[n:]...)
	return
}

// pollLoop polls the transmitter (RFC 8936) until Close: long polls, each
// acknowledging what the previous one brought (or returning its errors).
func (r *receiver) pollLoop() {
	defer close(r.stopped)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-r.stop
		cancel()
	}()
	var ack []string
	setErrs := map[string]map[string]string{}
	wait := time.Second
	for {
		select {
		case <-r.stop:
			if len(ack)+len(setErrs) > 0 {
				// What was taken is acknowledged before the poller stops.
				fctx, fcancel := context.WithTimeout(context.Background(), 5*time.Second)
				if st, err := r.stream(fctx); err == nil {
					r.manage(fctx, http.MethodPost, st.poll, map[string]any{"maxEvents": 0, "returnImmediately": true, "ack": ack, "setErrs": setErrs})
				}
				fcancel()
			}
			return
		default:
		}
		sets, err := r.pollOnce(ctx, ack, setErrs)
		if err != nil {
			if ctx.Err() == nil {
				r.a.emit(ctx, event.Event{Kind: event.Rejected, Provider: r.provider, Err: err, Attrs: []slog.Attr{slog.String("route", "ssf-poll")}})
			}
			select {
			case <-r.stop:
			case <-time.After(wait):
			}
			wait = min(2*wait, 30*time.Second)
			continue
		}
		ack, setErrs = ack[:0], map[string]map[string]string{}
		trouble := false
		for jti, raw := range sets {
			switch err := r.receive(ctx, raw); {
			case err == nil:
				ack = append(ack, jti)
			case errors.Is(err, fail.BadRequest):
				setErrs[jti] = map[string]string{"err": secevent.Code(err), "description": netx.ProviderText(err.Error())}
			default:
				// Neither: the transmitter delivers it again, after a
				// while (the app's store or the keys are away).
				trouble = true
			}
		}
		if !trouble {
			wait = time.Second
			continue
		}
		select {
		case <-r.stop:
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// pollOnce is one poll: up to 25 SETs, waiting for one as long as the
// transmitter holds the request.
func (r *receiver) pollOnce(ctx context.Context, ack []string, setErrs map[string]map[string]string) (map[string]string, error) {
	st, err := r.stream(ctx)
	if err != nil {
		return nil, err
	}
	status, body, err := r.call(ctx, r.pollHC, http.MethodPost, st.poll, map[string]any{"maxEvents": 25, "returnImmediately": false, "ack": ack, "setErrs": setErrs})
	if err != nil {
		return nil, err
	}
	if status == http.StatusNotFound {
		// The stream is gone (deleted at the transmitter): made again
		// at the next poll.
		r.forgetStream(st)
		return nil, fmt.Errorf("%w: the stream is gone at the transmitter (404 to a poll): made again", fail.ProviderUnavailable)
	}
	if status != http.StatusOK {
		return nil, r.refused("the poll", status, body)
	}
	var out struct {
		Sets map[string]string `json:"sets"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("%w: the poll's answer: %v", fail.ProviderUnavailable, err)
	}
	return out.Sets, nil
}

// parseHTTPS parses raw, an absolute URL over https (http on loopback).
func parseHTTPS(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || !netx.SecureOrLoopback(u) {
		return nil, fmt.Errorf("not an https URL")
	}
	return u, nil
}
