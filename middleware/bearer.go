package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/dpop"
	"github.com/confidant-go/confidant/internal/lifetime"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/session"
)

// reqSession is a request's view of its session: the tokens may change while
// the handler runs (a refresh by the bearer client), and the writer commits
// the change before the response starts.
type reqSession struct {
	ctx  context.Context // the incoming request's
	sw   sessionWriter
	user confidant.User
	a    *Auth
	orig *session.Session // as loaded from the store

	mu   sync.Mutex
	sess *session.Session // current; nil after the session ended
}

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
			return nil, client.ErrNoToken
		case !s.Expiry.IsZero() && !now.Before(s.Expiry):
			return nil, client.ErrTokenExpired
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
		case errors.Is(err, ErrRefreshUnavailable):
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrRefreshUnavailable, err)
	}
	return tokenOf(st.sess), nil
}

// tokenFor returns a valid access token for api: the sign-in token, or the
// API's own, obtained or refreshed when it is missing or about to expire.
func (st *reqSession) tokenFor(ctx context.Context, api *apiTarget) (*oauth2.Token, error) {
	if api.op.api == "" {
		return st.token(ctx)
	}
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

func apiTokenOf(s *session.Session, api string) (*oauth2.Token, error) {
	t, ok := s.APITokens[api]
	if !ok {
		return nil, client.ErrNoToken
	}
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, Expiry: t.Expiry}, nil
}

// forceRefresh gets a new access token for api after the API refused used.
// If the session's token already changed (another goroutine refreshed),
// that one is returned without a new refresh.
func (st *reqSession) forceRefresh(ctx context.Context, api *apiTarget, used string) (*oauth2.Token, error) {
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
		if action == EndSession {
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
		// The response has started: the new cookie cannot be written now.
		// Keep the outcome for the old cookie so the next request gets the
		// rotated tokens instead of replaying the old refresh token.
		a.refresher.keepUnwritten(st.orig)
		a.emit(ctx, event.Event{Kind: event.SessionSaved, Provider: old.Provider, Session: sessionRef(old),
			Attrs: []slog.Attr{slog.String("why", "refresh after the response started: saved with the next request")}})
	}
	return nil
}

// transient reports whether a refresh failed for want of the provider or
// the session store, which a later try may not meet.
func transient(err error) bool {
	return errors.Is(err, ErrRefreshUnavailable) || errors.Is(err, client.ErrProviderUnavailable) ||
		errors.Is(err, session.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

func tokenOf(s *session.Session) *oauth2.Token {
	return &oauth2.Token{AccessToken: s.AccessToken, TokenType: s.TokenType, RefreshToken: "", Expiry: s.Expiry}
}

// bearerTransport sends the request's access token, only to the Config's
// APIs, and, when an API answers 401 to a token the SDK believed valid,
// refreshes once and retries once (only when the request body can be
// replayed).
type bearerTransport struct {
	st   *reqSession
	base http.RoundTripper
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	s := t.st.current()
	provider := ""
	if s != nil {
		provider = s.Provider
	}
	api := t.st.a.apiFor(req.URL, provider)
	if api == nil {
		closeBody(req)
		return nil, fmt.Errorf("%w: %s", ErrAPINotAllowed, hostPath(req.URL.String()))
	}
	// The call ends with the request that made it: a user who went away
	// does not keep the app waiting on the API.
	ctx, cancel := context.WithCancel(req.Context())
	stop := context.AfterFunc(t.st.ctx, cancel)
	release := func() { stop(); cancel() }
	req = req.WithContext(ctx)
	resp, err := t.roundTrip(req, api)
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releaseBody releases the call's context when the caller is done with the
// body.
type releaseBody struct {
	io.ReadCloser
	release func()
	once    sync.Once
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

func (t *bearerTransport) roundTrip(req *http.Request, api *apiTarget) (*http.Response, error) {
	tok, err := t.st.tokenFor(req.Context(), api)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.send(req, tok, req.Body)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if se := stepUpChallenge(resp); se != nil {
		// A refreshed token would carry the same authentication: only a
		// new sign-in helps (Auth.StepUp).
		io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
		resp.Body.Close()
		return nil, se
	}
	if isDPoP(tok) && t.st.a.nonces.Learn(req.URL, resp, nil) {
		// The API asks for its nonce in the proof: once more with it.
		body, ok := replayBody(req)
		if !ok {
			return resp, nil
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
		resp.Body.Close()
		if resp, err = t.send(req, tok, body); err != nil || resp.StatusCode != http.StatusUnauthorized {
			return resp, err
		}
	}
	body, ok := replayBody(req)
	if !ok {
		return resp, nil // cannot replay: the caller gets the 401
	}
	ntok, err := t.st.forceRefresh(req.Context(), api, tok.AccessToken)
	if err != nil && transient(err) && t.st.current() != nil {
		// The API refused the token and no new one can be had now (the
		// provider or the session store is away): the SDK's 503, not the
		// API's 401, which an app would pass on as a sign-out.
		io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
		resp.Body.Close()
		if body != nil {
			body.Close()
		}
		return nil, fmt.Errorf("%w: the API refused the access token, and refreshing it failed: %w", ErrRefreshUnavailable, err)
	}
	if err != nil || ntok.AccessToken == tok.AccessToken {
		if body != nil {
			body.Close()
		}
		return resp, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
	resp.Body.Close()
	t.st.a.emit(req.Context(), event.Event{Kind: event.BearerRetried, Session: sessionRef(t.st.current()),
		Attrs: []slog.Attr{slog.String("api", req.URL.Scheme+"://"+req.URL.Host+req.URL.Path)}})
	return t.send(req, ntok, body)
}

func (t *bearerTransport) send(req *http.Request, tok *oauth2.Token, body io.ReadCloser) (*http.Response, error) {
	r2 := req.Clone(req.Context())
	r2.Body = body
	tok.SetAuthHeader(r2)
	if isDPoP(tok) {
		proof, err := t.st.a.proof(t.st.current(), req.Method, req.URL, tok.AccessToken)
		if err != nil {
			if body != nil {
				body.Close()
			}
			return nil, err
		}
		r2.Header.Set("DPoP", proof)
	}
	base := netx.Transport(t.base)
	start := time.Now()
	resp, err := base.RoundTrip(r2)
	if t.st.a.sink.Enabled() {
		e := event.Event{Kind: event.APIRequest, Session: sessionRef(t.st.current()), Duration: time.Since(start), Err: err,
			Attrs: []slog.Attr{slog.String("method", req.Method), slog.String("api", req.URL.Scheme+"://"+req.URL.Host+req.URL.Path),
				slog.String("bearer", event.Redact(tok.AccessToken))}}
		if resp != nil {
			e.Status = resp.StatusCode
		}
		t.st.a.emit(req.Context(), e)
	}
	return resp, err
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

type errTransport struct{ err error }

func (e errTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody(req)
	return nil, e.err
}

// sameOriginRedirects follows a redirect only within the origin of the
// first request: the token is never carried to another origin, nor from
// https to http.
func sameOriginRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("middleware: API stopped after 10 redirects")
	}
	if netx.Origin(req.URL) != netx.Origin(via[0].URL) {
		return fmt.Errorf("%w: to %s", ErrCrossOriginRedirect, netx.Origin(req.URL))
	}
	return nil
}

// HTTPClient returns an *http.Client that calls the Config's APIs on behalf
// of r's signed-in user (r must have gone through Require or Optional).
//
// It sends the user's access token only to the APIs (Config.APIs): a
// request for any other URL fails with ErrAPINotAllowed without being sent,
// and a redirect to another origin, or from https to http, fails with
// ErrCrossOriginRedirect without being followed. It refreshes the token when
// it has expired (the new tokens are saved with this response or, if it has
// already started, on the user's next request). When the refresh fails and
// the session goes on, it sends the current token while that is still good
// for a moment; after that its requests fail with an error wrapping
// ErrRefreshUnavailable, for which StatusCode gives 503 (answer it with a
// Retry-After). When an API answers 401 it
// refreshes once and retries once if the request body can be replayed
// (GetBody set, as http.NewRequest does for common bodies). A 401 that asks
// for a stronger or more recent authentication (RFC 9470
// insufficient_user_authentication) fails with a *StepUpError instead:
// hand it to Auth.StepUp.
//
// Its calls end when r ends (the request's context) or after
// Config.APITimeout. Without a session its requests fail with
// ErrNotSignedIn.
func (a *Auth) HTTPClient(r *http.Request) *http.Client {
	st, _ := r.Context().Value(ctxKey{}).(*reqSession)
	if st == nil {
		return &http.Client{Transport: errTransport{ErrNotSignedIn}, Timeout: a.cfg.APITimeout}
	}
	return &http.Client{Transport: &bearerTransport{st: st, base: a.cfg.APITransport},
		CheckRedirect: sameOriginRedirects, Timeout: a.cfg.APITimeout}
}

// replayBody returns a new copy of req's body for a second attempt (nil
// for a request without one), or false when it cannot be replayed.
func replayBody(req *http.Request) (io.ReadCloser, bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	b, err := req.GetBody()
	return b, err == nil
}

func isDPoP(tok *oauth2.Token) bool { return strings.EqualFold(tok.Type(), "DPoP") }

// proof is the DPoP proof of a call to target with accessToken, by s's
// key, with the server's nonce when it gave one.
func (a *Auth) proof(s *session.Session, method string, target *url.URL, accessToken string) (string, error) {
	if s == nil || len(s.DPoPKey) == 0 {
		return "", fmt.Errorf("%w: a DPoP token without its key", ErrNotSignedIn)
	}
	signer, err := a.dpopSigner(s.DPoPKey)
	if err != nil {
		return "", fmt.Errorf("%w: the session's DPoP key: %v", ErrNotSignedIn, err)
	}
	return signer.Proof(method, target, accessToken, a.nonces.Get(target), a.cfg.Now())
}

// dpopSigner returns the proof maker of a session's key, parsed once (a
// bounded cache: parsing costs about a third of a proof).
func (a *Auth) dpopSigner(key []byte) (*dpop.Signer, error) {
	if s, ok := a.signers.Load(string(key)); ok {
		return s.(*dpop.Signer), nil
	}
	k, err := dpop.Parse(key)
	if err != nil {
		return nil, err
	}
	s, err := dpop.NewSigner(k)
	if err != nil {
		return nil, err
	}
	if a.nsigners.Add(1) > maxOutcomes {
		a.signers.Clear()
		a.nsigners.Store(0)
	}
	a.signers.Store(string(key), s)
	return s, nil
}
