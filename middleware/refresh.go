package middleware

// The refresh engine: runs a refresh (of the sign-in tokens, or the
// exchange or refresh of one API's token) at most once per set of tokens.
// Requests in this process that carry the same tokens join one flight; an
// outcome is remembered for the requests still in flight with the old
// cookie; a shared store takes a per-session lock and writes with
// compare-and-swap; a refreshCoordinator does the same for cookie sessions
// across instances. When a refresh is due, and what its failure means, is
// the policy (policy.go).

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/dpop"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/seam"
	"github.com/confidant-go/confidant/internal/sink"
	"github.com/confidant-go/confidant/session"
)

// tokenKey identifies one set of tokens: a session's, or later one API's
// token within a session. The same session with other tokens has another
// key. Requests that carry the same key share one refresh.
type tokenKey [32]byte

// keyOf is the key of the session's sign-in tokens.
func keyOf(s *session.Session) tokenKey { return tokenKeyOf(s.ID, "", s.RefreshToken, s.AccessToken) }

// tokenKeyOf is the key of the tokens of api ("" for the sign-in tokens)
// in session id.
func tokenKeyOf(id, api, refreshToken, accessToken string) tokenKey {
	h := sha256.New()
	for _, part := range []string{id, api, refreshToken, accessToken} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	var k tokenKey
	h.Sum(k[:0])
	return k
}

// refreshOp is what a refresh obtains: the sign-in tokens (api ""), or an
// API's own token (a refresh grant for its resource).
type refreshOp struct {
	api      string
	resource string
	scopes   []string
	exchange bool // token exchange of the sign-in access token, not a refresh grant

	// claimsBefore: the sign-in tokens' refresh renews the claims of a
	// session whose claims are not newer (a security event said they
	// changed).
	claimsBefore time.Time
}

// key is the key of the tokens op would replace in s.
func (op refreshOp) key(s *session.Session) tokenKey {
	if op.api == "" {
		return keyOf(s)
	}
	return tokenKeyOf(s.ID, op.api, s.RefreshToken, s.APITokens[op.api].AccessToken)
}

// refresher owns refresh: when a session's tokens are due, the one token
// request per set of tokens (singleflight in this process, the store's
// lease across instances), what a failure means (the one place that asks
// Config.OnRefreshError), and the recent outcomes, so that a request still
// carrying an old cookie (sent before the browser saw the new one) reuses
// the result instead of presenting a rotated-away refresh token.
type refresher struct {
	clientFor func(*session.Session) *client.Client
	shared    sharedStore  // nil: the caller saves the result
	coord     *coordinator // cookie sessions shared across instances; nil without
	fam       *family      // the users' sign-in grants (Config.BackgroundAccess); nil without
	now       func() time.Time
	sink      sink.Sink
	policy    func(error, *session.Session, time.Time) RefreshAction
	leeway    time.Duration // before the handler runs
	// claimsMaxAge makes a session whose claims are older due (0: never).
	claimsMaxAge time.Duration
	timeout      time.Duration // of one refresh
	retryAfter   time.Duration // a failure that keeps the session is retried after it

	mu      sync.Mutex
	flights map[tokenKey]*flight
	done    map[tokenKey]*outcome
	order   []tokenKey // insertion order of done, for eviction
	max     int

	// Without a shared store, every use of a session's refresh token is
	// serialized here (sign-in tokens and API tokens share it: with
	// rotation, two concurrent uses are a reuse), and latest is the newest
	// result per session, which a later use starts from.
	locks  map[string]*sessionLock
	latest map[string]*outcome
}

type sessionLock struct {
	mu   sync.Mutex
	refs int
}

// flight is a refresh in progress; its fields are set before ch closes.
type flight struct {
	ch chan struct{}
	outcome
	// Under refresher.mu: the requests that wait for it, those that gave
	// up before it finished, and whether it has.
	waiting, gone int
	finished      bool
}

// outcome is a finished refresh: the refreshed session, or an error and
// what it means for the session.
type outcome struct {
	sess   *session.Session
	err    error
	action RefreshAction // with err
	until  time.Time     // remembered until
}

const (
	outcomeTTL   = 2 * time.Minute  // covers requests in flight with the old cookie
	unwrittenTTL = 24 * time.Hour   // a refresh whose cookie could not be written
	revokedTTL   = 30 * time.Second // a refresh that ended the session is not retried at once
	maxOutcomes  = 10000
)

// run obtains what op asks for s (refreshOp{}: fresh sign-in tokens), or
// the error and what it means for the session: one token request per set
// of tokens. Concurrent callers with the same tokens share one token
// request; callers that arrive after it finished get its outcome from
// memory.
func (rf *refresher) run(ctx context.Context, s *session.Session, op refreshOp) (*session.Session, RefreshAction, error) {
	now := rf.now()
	rf.mu.Lock()
	k := op.key(s)
	// Follow earlier outcomes: old tokens → their refreshed tokens → …
	for hops := 0; hops < 8; hops++ {
		o := rf.done[k]
		if o == nil || !now.Before(o.until) {
			break
		}
		if o.err != nil {
			rf.mu.Unlock()
			// What the failure means is decided again: a token that was
			// good when it failed may not be now.
			return nil, rf.decide(o.err, s), o.err
		}
		s, k = o.sess, op.key(o.sess)
		if !rf.opDue(op, s, now) {
			rf.mu.Unlock()
			rf.deduplicated(ctx, s, "earlier result")
			return s, 0, nil
		}
	}
	f := rf.flights[k]
	started := f == nil
	if started {
		f = &flight{ch: make(chan struct{})}
		rf.flights[k] = f
		go rf.fly(context.WithoutCancel(ctx), k, s, op, f)
	}
	f.waiting++
	rf.mu.Unlock()
	select {
	case <-f.ch:
		if !started && f.err == nil {
			rf.deduplicated(ctx, s, "earlier result")
		}
		return f.sess, f.action, f.err
	case <-ctx.Done():
		// This request will not carry the result to the browser. When no
		// request does (a browser that gave up on a slow refresh), the
		// rotated tokens are kept for the old cookie as long as those of a
		// cookie that could not be written.
		rf.mu.Lock()
		f.gone++
		finished := f.finished
		rf.mu.Unlock()
		if finished && f.err == nil {
			rf.keepUnwritten(s)
		}
		return nil, rf.decide(ctx.Err(), s), ctx.Err()
	}
}

func (rf *refresher) deduplicated(ctx context.Context, s *session.Session, by string) {
	rf.sink.Emit(ctx, event.Event{Kind: event.RefreshDeduplicated, Provider: s.Provider, Session: sessionRef(s), Attrs: []slog.Attr{slog.String("by", by)}})
}

// fly makes the token request for flight f, bounded by the refresh timeout
// and independent of any one request's cancellation, and remembers its
// outcome: a success for the requests still carrying the old cookie, a
// failure until it may be tried again. parent is the first waiting
// request's context without its cancellation: its values (a trace span)
// go with the token request and its events.
func (rf *refresher) fly(parent context.Context, k tokenKey, s *session.Session, op refreshOp, f *flight) {
	ctx, cancel := context.WithTimeout(parent, rf.timeout)
	defer cancel()
	ns, err := rf.recovered(ctx, s, op)
	now := rf.now()
	ttl := outcomeTTL
	if err != nil {
		f.err, f.action = err, rf.decide(err, s)
		ttl = rf.retryAfter
		if f.action == RefreshEndSession {
			ttl = revokedTTL
		}
	} else {
		f.sess = ns
	}
	o := f.outcome
	o.until = now.Add(ttl)
	rf.mu.Lock()
	delete(rf.flights, k)
	rf.remember(k, &o)
	f.finished = true
	unreceived := f.gone == f.waiting

	if f.action == RefreshEndSession {
		rf.forgetLocked(s.ID)
	}
	rf.mu.Unlock()
	close(f.ch)
	if unreceived && err == nil {
		rf.keepUnwritten(s)
	}
}

// recovered is once, with a panic (a custom transport's, say) turned into
// an error: fly runs in a goroutine of its own, where nothing else would
// recover it and the process would end.
func (rf *refresher) recovered(ctx context.Context, s *session.Session, op refreshOp) (ns *session.Session, err error) {
	defer func() {
		if p := recover(); p != nil {
			ns, err = nil, fmt.Errorf("%w: the refresh panicked (%T)", fail.RefreshUnavailable, p)
		}
	}()
	return rf.once(ctx, s, op)
}

// once makes one refresh of s. With a shared store it first takes the
// session's lock (so only one instance refreshes), re-reads the session
// (another instance may have refreshed it meanwhile: then its result is
// used and no token request is made) and stores the new tokens with a
// compare-and-swap write before releasing the lock.
func (rf *refresher) once(ctx context.Context, s *session.Session, op refreshOp) (*session.Session, error) {
	c := rf.clientFor(s)
	if c == nil {
		return nil, fail.SessionEnded // its provider is no longer configured
	}
	if rf.shared == nil && rf.coord != nil {
		return rf.coordinated(ctx, c, s, op)
	}
	if rf.shared == nil {
		unlock := rf.lockSession(s.ID)
		defer unlock()
		cur := s
		rf.mu.Lock()
		if l := rf.latest[s.ID]; l != nil && rf.now().Before(l.until) {
			// Other uses of the refresh token finished first (another
			// API's token, the sign-in tokens): start from their result,
			// which holds the rotated refresh token and their tokens.
			cur = l.sess
		}
		rf.mu.Unlock()
		cur, k, err := rf.fam.newer(ctx, cur)
		if err != nil {
			return nil, err
		}
		if cur != s && op.key(cur) != op.key(s) && !rf.opDue(op, cur, rf.now()) {
			// Newer tokens than the caller's: use them. The same tokens
			// (the caller's cookie already holds that result) are what
			// the caller needs renewed, due or not (an API refused them).
			rf.deduplicated(ctx, cur, "earlier result")
			return cur, nil
		}
		ns, err := rf.do(ctx, c, cur, op)
		if ns != nil {
			// Still under the session's lock: the next use must see the
			// rotated refresh token (also when a step after it failed).
			rf.setLatest(ns)
			rf.noteKept(ctx, k, ns, cur.RefreshToken)
		}
		if err != nil {
			return nil, err
		}
		return ns, nil
	}
	held, unlock, err := rf.shared.Lock(ctx, s.ID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	defer unlock()
	cur, err := rf.shared.LoadID(ctx, s.ID)
	gone := errors.Is(err, session.ErrNoSession)
	var k *kept
	if gone {
		// The session expired; the sign-in grant kept of it for
		// background jobs may live on.
		if cur, k, err = rf.fam.tracked(ctx, s); err == nil && cur == nil {
			return nil, fail.SessionEnded
		}
	}
	adopted := false
	if err == nil && !gone {
		// A background job may have refreshed the kept copy since.
		loaded := cur
		cur, k, err = rf.fam.newer(ctx, loaded)
		adopted = cur != loaded
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	if op.key(cur) != op.key(s) && !rf.opDue(op, cur, rf.now()) {
		if adopted && !isBackground(ctx) {
			// The browser's session catches up with the kept copy.
			if cur, err = rf.storeResult(ctx, cur); err != nil {
				return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
			}
		}
		rf.deduplicated(ctx, cur, "another instance")
		return cur, nil
	}
	if held.Err() != nil {
		// The lease ran out (Redis was unreachable for longer than it):
		// another instance may be refreshing; presenting the refresh
		// token now could be a reuse. Try again later.
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, context.Cause(held))
	}
	// The token request runs on ctx, not held: cancelling it halfway
	// would lose a rotation the provider already made.
	next, err := rf.do(ctx, c, cur, op)
	if next == nil {
		return nil, err
	}
	// The session, then the kept copy (a background job's refresh writes
	// only the copy: a job must not roll the browser session's idle time;
	// the browser's next refresh starts from it).
	ns := next
	if !gone && !isBackground(ctx) {
		var serr error
		if ns, serr = rf.storeResult(ctx, next); serr != nil {
			// The rotated tokens could not be stored: nobody else will present
			// the old refresh token (we hold the lock), but this result is lost.
			rf.noteKept(ctx, k, next, cur.RefreshToken)
			return nil, fmt.Errorf("%w: %w", fail.SessionStore, serr)
		}
	}
	rf.noteKept(ctx, k, next, cur.RefreshToken)
	if err != nil {
		return nil, err // a step after the rotation failed; the rotation is stored
	}
	return ns, nil
}

// storeResult writes a refresh result to the shared store. The provider
// has already rotated the refresh token, so a store that is unavailable
// (a failover in progress) is tried again, with backoff, until ctx (the
// refresh timeout) ends: losing the result would leave the session with a
// refresh token the provider no longer honours.
func (rf *refresher) storeResult(ctx context.Context, next *session.Session) (*session.Session, error) {
	var ns *session.Session
	err := untilAvailable(ctx, func() (err error) {
		ns, err = rf.shared.Update(ctx, next)
		return err
	})
	return ns, err
}

// untilAvailable runs write until it succeeds or fails for another reason
// than an unavailable store, with backoff, bounded by ctx: what a refresh
// obtained from the provider must not be lost to a store's blip.
func untilAvailable(ctx context.Context, write func() error) error {
	wait := 50 * time.Millisecond
	for {
		err := write()
		if err == nil || !errors.Is(err, session.ErrUnavailable) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// do makes op's token request for cur and returns the session with its
// result (and the rotated refresh token). With an error it returns nil,
// or the session as a first step left it (a token exchange that failed
// after the sign-in tokens were refreshed): the caller stores that one.
func (rf *refresher) do(ctx context.Context, c *client.Client, cur *session.Session, op refreshOp) (*session.Session, error) {
	if op.api == "" {
		prev := previousOf(cur)
		prev.RenewClaims = rf.claimsStale(cur, rf.now()) || op.claimsDue(cur)
		res, err := plumbingOf(c).Refresh(ctx, cur.RefreshToken, prev)
		if err != nil {
			return nil, err
		}
		ns := refreshed(cur, res, rf.now())
		if prev.RenewClaims && res.User.Subject == "" {
			// The provider could not be asked for the claims now: they are
			// kept, and asked for again after another ClaimsMaxAge, not at
			// every request.
			ns.ClaimsAt = rf.now()
		}
		return ns, nil
	}
	var tok *oauth2.Token
	var err error
	if op.exchange {
		refreshed := false
		if rf.dueForCall(cur, rf.now()) {
			// The token to exchange must be valid: the sign-in tokens
			// first, under the same lock.
			if cur, err = rf.do(ctx, c, cur, refreshOp{}); err != nil {
				return nil, err
			}
			refreshed = true
		}
		if tok, err = c.ExchangeToken(ctx, cur.AccessToken, op.resource, op.scopes); err != nil && refreshed {
			// The sign-in refresh rotated the refresh token: its result
			// is stored by the caller even though the exchange failed.
			return cur, err
		}
	} else {
		tok, err = plumbingOf(c).RefreshFor(ctx, cur.RefreshToken, previousOf(cur).DPoPKey, op.resource, op.scopes)
	}
	if err != nil {
		return nil, err
	}
	ns := *cur
	ns.APITokens = make(map[string]session.APIToken, len(cur.APITokens)+1)
	for k, v := range cur.APITokens {
		ns.APITokens[k] = v
	}
	t := session.APIToken{AccessToken: tok.AccessToken, TokenType: tok.Type(), Expiry: tok.Expiry, Issued: rf.now()}
	switch {
	case op.exchange:
		// A grant of its own: whatever it returns stays with the API's
		// token, never over the sign-in tokens.
		t.RefreshToken = tok.RefreshToken
		if t.RefreshToken == "" {
			t.RefreshToken = cur.APITokens[op.api].RefreshToken // revoked at sign-out
		}
	case tok.RefreshToken != "":
		// The sign-in grant's refresh token, rotated by this use.
		ns.RefreshToken = tok.RefreshToken
	}
	ns.APITokens[op.api] = t
	return &ns, nil
}

// noteKept writes ns over the kept copy of its session (BackgroundAccess),
// reporting a failure: the result is used anyway, and a copy that missed it
// is never taken for newer (family.newer).
func (rf *refresher) noteKept(ctx context.Context, k *kept, ns *session.Session, superseded string) {
	if err := rf.fam.note(ctx, k, ns, superseded); err != nil {
		rf.sink.Emit(ctx, event.Event{Kind: event.SessionSaved, Provider: ns.Provider, Session: sessionRef(ns), Err: err,
			Attrs: []slog.Attr{slog.String("why", "sign-in grant kept for background jobs")}})
	}
}

// underLock runs fn under session id's refresh lock, the one its
// refreshes take (the shared store's, the deny list's, or this process's).
func (rf *refresher) underLock(ctx context.Context, id string, fn func() error) error {
	var lock func(context.Context, string) (context.Context, func(), error)
	switch {
	case rf.shared != nil:
		lock = rf.shared.Lock
	case rf.coord != nil:
		lock = rf.coord.shared.Lock
	default:
		unlock := rf.lockSession(id)
		defer unlock()
		return fn()
	}
	_, unlock, err := lock(ctx, id)
	if err != nil {
		return fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	defer unlock()
	return fn()
}

// setLatest records ns as the newest result of its session's refresh
// token, bounding the record.
func (rf *refresher) setLatest(ns *session.Session) {
	now := rf.now()
	rf.mu.Lock()
	defer rf.mu.Unlock()
	rf.latest[ns.ID] = &outcome{sess: ns, until: now.Add(outcomeTTL)}
	if len(rf.latest) > rf.max {
		for id, l := range rf.latest {
			if !now.Before(l.until) || len(rf.latest) > 2*rf.max {
				delete(rf.latest, id)
			}
		}
	}
}

// lockSession serializes the uses of session id's refresh token in this
// process.
func (rf *refresher) lockSession(id string) (unlock func()) {
	rf.mu.Lock()
	l := rf.locks[id]
	if l == nil {
		l = &sessionLock{}
		rf.locks[id] = l
	}
	l.refs++
	rf.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		rf.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(rf.locks, id)
		}
		rf.mu.Unlock()
	}
}

// remember stores an outcome, evicting expired and then the oldest ones
// beyond max. Called with mu held.
func (rf *refresher) remember(k tokenKey, o *outcome) {
	if _, ok := rf.done[k]; !ok {
		rf.order = append(rf.order, k)
	}
	rf.done[k] = o
	for len(rf.done) > rf.max && len(rf.order) > 0 {
		old := rf.order[0]
		rf.order = rf.order[1:]
		delete(rf.done, old)
	}
	if len(rf.order) > 2*rf.max { // drop keys already deleted
		now := rf.now()
		kept := rf.order[:0]
		for _, k := range rf.order {
			if o, ok := rf.done[k]; ok && now.Before(o.until) {
				kept = append(kept, k)
			} else {
				delete(rf.done, k)
			}
		}
		rf.order = kept
	}
}

// keepUnwritten makes the outcome of old's refresh last long: its new
// cookie could not be written (the response had started), so the browser
// will come back with old, and must get the rotated tokens then.
func (rf *refresher) keepUnwritten(old *session.Session) {
	rf.mu.Lock()
	var ns *session.Session
	if o := rf.done[keyOf(old)]; o != nil && o.err == nil {
		o.until = rf.now().Add(unwrittenTTL)
		ns = o.sess
	}
	if l := rf.latest[old.ID]; l != nil {
		l.until = rf.now().Add(unwrittenTTL)
	}
	rf.mu.Unlock()
	if rf.coord != nil && ns != nil {
		// Other instances must find it too, for as long.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		rf.coord.record(ctx, ns, unwrittenTTL)
	}
}

// forget drops every remembered outcome of session id (at sign-out, so an
// old cookie cannot bring the session back).
func (rf *refresher) forget(id string) {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	rf.forgetLocked(id)
}

func (rf *refresher) forgetLocked(id string) {
	delete(rf.latest, id)
	for k, o := range rf.done {
		if o.sess != nil && o.sess.ID == id {
			delete(rf.done, k)
		}
	}
}

// refreshed returns a copy of s with the tokens of res.
func refreshed(s *session.Session, res *client.Result, now time.Time) *session.Session {
	ns := *s
	t := res.Token
	ns.AccessToken, ns.TokenType, ns.RefreshToken, ns.Expiry, ns.Issued = t.AccessToken, t.Type(), t.RefreshToken, t.Expiry, now
	if s := grantedScope(res.Token); s != "" {
		ns.Scope = s
	}
	if res.IDToken != "" {
		ns.IDToken = res.IDToken
	}
	if res.User.Subject != "" {
		// The client checked that the subject is the same; the rest of
		// the user's description is what the provider asserts now.
		ns.User, ns.ClaimsAt = res.User, now
		ns.Provider, ns.Subject = s.Provider, s.Subject
		if ns.Name == "" && !namedIn(s.Claims) {
			ns.Name = s.Name // a display name from outside the claims (Apple's first sign-in)
		}
	}
	return &ns
}

// namedIn reports whether claims carry a name the user's Name comes from.
func namedIn(claims []byte) bool {
	var c struct {
		Name     string `json:"name"`
		Username string `json:"preferred_username"`
	}
	json.Unmarshal(claims, &c)
	return c.Name != "" || c.Username != ""
}

// previousOf is what a refresh of s must keep: the identity and the ID
// token's aud, azp and auth_time (OpenID Connect Core 12.2).
func previousOf(s *session.Session) seam.Previous {
	var key *ecdsa.PrivateKey
	if len(s.DPoPKey) > 0 {
		key, _ = dpop.Parse(s.DPoPKey)
	}
	return seam.PreviousOf(s.Issuer, s.Subject, s.Claims, s.IDToken, key)
}
