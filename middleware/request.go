package middleware

// The request's session, from the store to the response: prepare loads it
// (a missing or tampered cookie is no session), drops it when the deny list
// ended it or it can no longer be renewed, and refreshes it when due, all
// before the handler runs; while the handler runs, reqSession hands out
// valid tokens (refreshing through the refresh engine, refresh.go); every
// change is put in the response by the sessionWriter (writer.go) when it
// happens.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/lifetime"
	"github.com/confidant-go/confidant/session"
)

// reqSession is a request's view of its session: the tokens may change while
// the handler runs (a refresh by the bearer client), and the writer commits
// the change before the response starts.
type reqSession struct {
	ctx  context.Context // the incoming request's
	sw   sessionWriter
	user confidant.User // the signed-in user, when in
	in   bool           // the handler runs signed in (withSession)
	a    *Auth
	orig *session.Session // as loaded from the store

	mu   sync.Mutex
	sess *session.Session // current; nil after the session ended

	// stale: prepare was lenient and the refresh that was due could not
	// be made now; sess is the session as loaded.
	stale bool

	// reauth: a security event ended the session and asks for a new
	// authentication (SignalStepUp): Require signs in with prompt=login
	// at this client.
	reauth *client.Client
}

// signedIn reports whether prepare found the request signed in (before the
// handler runs: unlocked).
func (st *reqSession) signedIn() bool { return st.sess != nil }

func (st *reqSession) current() *session.Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.sess
}

// token returns a valid access token, refreshing when the current one has
// expired (or expires within the next 10 seconds).
func (st *reqSession) token(ctx context.Context) (*oauth2.Token, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.sess
	if s == nil {
		return nil, ErrNotSignedIn
	}
	now := st.a.cfg.Now()
	if !st.a.refresher.dueForCall(s, now) {
		switch {
		case s.AccessToken == "":
			return nil, fail.NoToken
		case !s.Expiry.IsZero() && !now.Before(s.Expiry):
			return nil, fail.TokenExpired
		}
		return tokenOf(s), nil
	}
	if err := st.refreshLocked(ctx); err != nil {
		// The refresh may have taken long (a slow provider, a store in
		// failover): the clock is read again.
		switch {
		case st.sess == nil: // the refresh ended the session
			return nil, err
		case lifetime.Usable(st.a.cfg.Now(), s.Issued, s.Expiry):
			// The provider failed but the session goes on: the current
			// token is still good, use it.
			return tokenOf(s), nil
		case errors.Is(err, fail.RefreshUnavailable):
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", fail.RefreshUnavailable, err)
	}
	return tokenOf(st.sess), nil
}

// tokenFor returns a valid access token for api: the sign-in token, or the
// API's own, obtained or refreshed when it is missing or about to expire.
func (st *reqSession) tokenFor(ctx context.Context, api *apiTarget) (*oauth2.Token, error) {
	if api.unread() {
		// Never the sign-in token for an API known only by its URL.
		return nil, fmt.Errorf("%w: API %q: its metadata has not been read", fail.NoToken, api.name)
	}
	if api.signInPath() {
		tok, err := st.opToken(ctx, api)
		var te *client.TokenError
		if errors.As(err, &te) && (te.Code == "invalid_target" || te.Code == "invalid_scope") {
			// The session's grant does not cover the API: a sign-in
			// that asks for it does (Auth.StepUp).
			return nil, fmt.Errorf("%w: %w", &notConnectedError{api: api.name}, err)
		}
		return tok, err
	}
	if api.conn != nil {
		return st.grantToken(ctx, api, "")
	}
	if api.op.api == "" {
		return st.token(ctx)
	}
	return st.opToken(ctx, api)
}

// opToken is api's own token in the session (API.Resource, or an API that
// describes itself at the sign-in provider): obtained or refreshed when it
// is missing or due.
func (st *reqSession) opToken(ctx context.Context, api *apiTarget) (*oauth2.Token, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.sess == nil {
		return nil, ErrNotSignedIn
	}
	if !st.a.refresher.opDue(api.op, st.sess, st.a.cfg.Now()) {
		return apiTokenOf(st.sess, api.name)
	}
	if err := st.runLocked(ctx, api.op); err != nil {
		return nil, err
	}
	return apiTokenOf(st.sess, api.name)
}

// grantToken is the token of the session's user's grant for a connected
// API (not stale).
func (st *reqSession) grantToken(ctx context.Context, api *apiTarget, stale string) (*oauth2.Token, error) {
	s := st.current()
	if s == nil {
		return nil, ErrNotSignedIn
	}
	return st.a.grantToken(ctx, s.User.Provider, s.User.Subject, api, stale)
}

func apiTokenOf(s *session.Session, api string) (*oauth2.Token, error) {
	t, ok := s.APITokens[api]
	if !ok {
		return nil, fail.NoToken
	}
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, Expiry: t.Expiry}, nil
}

// forceRefresh gets a new access token for api after the API refused used.
// If the session's token already changed (another goroutine refreshed),
// that one is returned without a new refresh.
func (st *reqSession) forceRefresh(ctx context.Context, api *apiTarget, used string) (*oauth2.Token, error) {
	if api.conn != nil {
		return st.grantToken(ctx, api, used)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.sess == nil {
		return nil, ErrNotSignedIn
	}
	if api.op.api != "" {
		if st.sess.APITokens[api.op.api].AccessToken == used {
			// Forget the refused token, so that a new one is due.
			ns := *st.sess
			ns.APITokens = maps.Clone(st.sess.APITokens)
			delete(ns.APITokens, api.op.api)
			st.sess = &ns
			if err := st.runLocked(ctx, api.op); err != nil {
				return nil, err
			}
		}
		return apiTokenOf(st.sess, api.op.api)
	}
	if st.sess.AccessToken == used {
		if err := st.refreshLocked(ctx); err != nil {
			return nil, err
		}
	}
	return tokenOf(st.sess), nil
}

// refreshLocked refreshes st.sess and arranges for the result to be saved;
// on a failure that ends the session it arranges for the deletion. Called
// with st.mu held.
func (st *reqSession) refreshLocked(ctx context.Context) error {
	return st.runLocked(ctx, refreshOp{})
}

// runLocked runs op for st.sess, as refreshLocked does.
func (st *reqSession) runLocked(ctx context.Context, op refreshOp) error {
	a := st.a
	old := st.sess
	ns, action, err := a.refresher.run(ctx, old, op)
	if err != nil {
		if action == RefreshEndSession {
			st.sess = nil
			st.sw.setDelete()
		}
		return err
	}
	st.sess = ns
	if a.shared != nil {
		return nil // already stored by the refresh
	}
	if !st.sw.setPending(ns, "refresh") {
		st.unwritten()
	}
	return nil
}

// unwritten is called when a refreshed session's cookie cannot reach the
// browser (the response had started). The outcome is kept for the old
// cookie, so the next request gets the rotated tokens instead of replaying
// the old refresh token.
func (st *reqSession) unwritten() {
	if st.orig == nil {
		return
	}
	st.a.refresher.keepUnwritten(st.orig)
	st.a.emit(st.ctx, event.Event{Kind: event.SessionSaved, Provider: st.orig.Provider, Session: sessionRef(st.orig),
		Attrs: []slog.Attr{slog.String("why", "refresh after the response started: saved with the next request")}})
}

// transient reports whether a refresh failed for want of the provider or
// the session store, which a later try may not meet.
func transient(err error) bool {
	return errors.Is(err, fail.RefreshUnavailable) || errors.Is(err, client.ErrProviderUnavailable) ||
		errors.Is(err, session.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

func tokenOf(s *session.Session) *oauth2.Token {
	return &oauth2.Token{AccessToken: s.AccessToken, TokenType: s.TokenType, RefreshToken: "", Expiry: s.Expiry}
}

// prepare loads the request's session and refreshes it when due, before
// the handler runs. It returns the request's session state: its writer
// (st.sw), to hand to the handler, and the session (signedIn). ok is false
// when it already answered (503 while the store or the provider is down).
// The writer, the state and the user are one allocation.
//
// lenient is for a handler that needs no fresh token (SessionInfo): a
// refresh that cannot be made now (the provider or the store away) keeps
// the session for this request and sets st.stale, instead of answering
// 503.
func (a *Auth) prepare(w http.ResponseWriter, r *http.Request, lenient bool) (st *reqSession, ok bool) {
	st = &reqSession{a: a, ctx: r.Context()}
	st.sw = sessionWriter{ResponseWriter: w, a: a, r: r, lost: st.unwritten}
	sw := &st.sw
	s, tampered, err := a.load(r)
	if err != nil {
		a.fail(w, r, err)
		return nil, false
	}
	if s == nil {
		if tampered {
			sw.setDelete() // so the browser stops sending it
		}
		return st, true
	}
	if a.clientFor(s) == nil {
		// Signed in with a provider that is no longer configured.
		sw.setDelete()
		return st, true
	}
	denied, claims, reauth, err := a.deniedOrMarked(r.Context(), s)
	if err != nil {
		a.fail(w, r, fmt.Errorf("%w: %w", fail.SessionStore, err))
		return nil, false
	} else if denied {
		sw.setDelete()
		return st, true
	}
	if a.signals != nil {
		a.learn(r.Context(), s)
	}
	if !reauth.IsZero() && !s.CreatedAt.After(reauth) {
		// A security event said the user's assurance is no longer the
		// app's: this session ends, and Require asks for a new
		// authentication.
		st.reauth = a.clientFor(s)
		sw.setDelete()
		a.emit(r.Context(), event.Event{Kind: event.Rejected, Provider: s.Provider, Session: sessionRef(s), Status: http.StatusUnauthorized,
			Err: fail.InsufficientAuthentication, Attrs: []slog.Attr{slog.String("path", sentPath(r)), slog.String("why", "assurance-level-change")}})
		return st, true
	}
	var claimsBefore time.Time
	if !claims.IsZero() && !claimsTime(s).After(claims) {
		if s.RefreshToken == "" {
			// Nothing can renew the claims the provider changed.
			sw.setDelete()
			return st, true
		}
		claimsBefore = claims
	}
	st.orig, st.sess = s, s
	now := a.cfg.Now()
	if s.RefreshToken == "" && !s.Expiry.IsZero() && !now.Before(s.Expiry) && !a.cfg.KeepExpiredSessions {
		// The access token is gone and nothing can renew it: the session
		// is over.
		st.sess = nil
		sw.setDelete()
		a.emit(r.Context(), event.Event{Kind: event.Rejected, Provider: s.Provider, Session: sessionRef(s), Status: http.StatusUnauthorized,
			Err: fail.SessionExpired, Attrs: []slog.Attr{slog.String("path", sentPath(r))}})
		return st, true
	}
	if !a.refresher.due(s, now) && claimsBefore.IsZero() {
		if a.touchEvery > 0 && now.Sub(s.LastSeen) > a.touchEvery {
			// Roll the idle timeout. On a shared store the touch is its own
			// write, which never makes a concurrent refresh's
			// compare-and-swap fail.
			if a.shared != nil {
				if err := a.shared.Touch(r.Context(), s); err != nil {
					a.emit(r.Context(), event.Event{Kind: event.Rejected, Session: sessionRef(s), Err: fmt.Errorf("%w: touch: %w", fail.SessionStore, err)})
				}
			} else {
				sw.setPending(s, "touch")
			}
			a.seen(r.Context(), s, now)
		}
		return st, true
	}
	ns, action, err := a.refresher.run(r.Context(), s, refreshOp{claimsBefore: claimsBefore})
	if err == nil {
		st.sess = ns
		if a.shared == nil {
			sw.setPending(ns, "refresh")
		}
		return st, true
	}
	switch action {
	case RefreshKeepSession:
		return st, true
	case RefreshUnavailable:
		if lenient {
			st.stale = true
			return st, true
		}
		a.fail(w, r, fmt.Errorf("%w: %w", fail.RefreshUnavailable, err))
		return nil, false
	default: // RefreshEndSession
		st.sess = nil
		sw.setDelete()
		return st, true
	}
}

// load reads the session. A missing or untrustworthy one (another app's
// included) is (nil, nil);
// tampered reports a cookie that was there but could not be trusted, which
// the caller deletes.
func (a *Auth) load(r *http.Request) (s *session.Session, tampered bool, err error) {
	s, err = a.cfg.Store.Load(r)
	if err == nil {
		return s, false, nil
	}
	if errors.Is(err, session.ErrNoSession) {
		return nil, errors.Is(err, fail.InvalidSession), nil
	}
	if errors.Is(err, fail.SealedUnbound) {
		// Sealed by a store never bound to an app: another app's that
		// shares the keys, or made before New bound this store
		// (confidanttest.SignedIn called first). Not this app's session:
		// not signed in, and deleted; the log says why.
		a.emit(r.Context(), event.Event{Kind: event.Rejected, Status: http.StatusUnauthorized, Err: err,
			Attrs: []slog.Attr{slog.String("path", sentPath(r))}})
		return nil, true, nil
	}
	if errors.Is(err, fail.SessionConfig) {
		return nil, false, fmt.Errorf("%w: %w", fail.MiddlewareConfig, err)
	}
	return nil, false, fmt.Errorf("%w: %w", fail.SessionStore, err)
}

// save stores s and reports it.
func (a *Auth) save(w http.ResponseWriter, r *http.Request, s *session.Session, why string) error {
	before := len(w.Header()["Set-Cookie"])
	err := a.cfg.Store.Save(w, r, s)
	if err == nil && why == "refresh" && a.refs == nil {
		// The list of a cookie session keeps its newest refresh token,
		// revoked when the session is ended from elsewhere.
		if rerr := a.record(r.Context(), s, "", false); rerr != nil {
			a.emit(r.Context(), event.Event{Kind: event.Rejected, Provider: s.Provider, Session: sessionRef(s),
				Err: fmt.Errorf("%w: the session list: %w", fail.SessionStore, rerr)})
		}
		a.seen(r.Context(), s, a.cfg.Now()) // a refresh is a use: not idle
	}
	if a.sink.Detailed() {
		// What the browser is sent: the session's Set-Cookie lines (a
		// server-side store's is only its ID, and only when new).
		set := w.Header()["Set-Cookie"]
		n := 0
		for _, c := range set[min(before, len(set)):] {
			n += len(c)
		}
		a.emit(r.Context(), event.Event{Kind: event.SessionSaved, Provider: s.Provider, Session: sessionRef(s), Err: err,
			Attrs: []slog.Attr{slog.String("why", why), slog.Int("set_cookie_bytes", n), slog.Int("cookies", len(set)-min(before, len(set)))}})
	}
	return err
}

// sessionClient is the client of s's provider; nil for no session.
func (a *Auth) sessionClient(s *session.Session) *client.Client {
	if s == nil {
		return nil
	}
	return a.clientFor(s)
}

// denied reports whether s was ended through the deny list.
func (a *Auth) denied(ctx context.Context, s *session.Session) (bool, error) {
	if a.cfg.DenyList == nil {
		return false, nil
	}
	at, err := a.cfg.DenyList.DeniedAt(ctx, sessionPlumbing.DenyKeys(s)...)
	if err != nil {
		return false, err
	}
	return !at.IsZero() && !s.CreatedAt.After(at), nil
}
