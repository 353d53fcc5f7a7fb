package middleware

// The bearer client (HTTPClient): sends the request's access token, or an
// API's own, only to the configured APIs, with a DPoP proof when the token
// is DPoP-bound, and retries once after a forced refresh when an API
// refuses a token the SDK believed valid. The tokens come from the
// request's session (request.go).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/dpop"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/session"
)

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
		return nil, fmt.Errorf("%w: %s", fail.APINotAllowed, hostPath(req.URL.String()))
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
	if api.disc != nil {
		return t.described(req, api)
	}
	return t.tokenTrip(req, api)
}

// described sends a call to an API that describes itself: with its
// grant's token once its metadata is known; else first without a token,
// its 401 saying where the metadata is, then (at most once more) with the
// token. A token it still refuses (refreshed once) fails with
// fail.APIRefusedToken: no loop.
func (t *bearerTransport) described(req *http.Request, api *apiTarget) (*http.Response, error) {
	a, ctx := t.st.a, req.Context()
	if d := a.discovered(ctx, api); d != nil {
		if err := t.forUser(d); err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := t.tokenTrip(req, d)
		return a.refusedTo(d, req.URL, resp, err)
	}
	body, replayable := replayBody(req)
	var h http.Header
	if replayable {
		first := req.Clone(ctx)
		resp, err := netx.Transport(t.base).RoundTrip(first)
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			if body != nil {
				body.Close()
			}
			return resp, err
		}
		h = resp.Header
		io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
		resp.Body.Close()
	} else {
		// The call cannot be sent twice: the API's 401 to a call of its
		// own, without a token, says where the metadata is.
		body = req.Body
		h = a.probe(ctx, api)
	}
	d, err := a.discoverFrom(ctx, api, h)
	if err == nil {
		err = t.forUser(d)
	}
	var tok *oauth2.Token
	if err == nil {
		tok, err = t.st.tokenFor(ctx, d)
	}
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	resp, err := t.send(req, d, tok, body)
	return a.refusedTo(d, req.URL, resp, err)
}

// forUser refuses an API whose token comes from a sign-in provider to a
// user of another.
func (t *bearerTransport) forUser(d *apiTarget) error {
	if s := t.st.current(); s != nil && d.provider != "" && s.Provider != d.provider {
		return fmt.Errorf("%w: API %q takes tokens of provider %q", fail.APINotAllowed, d.name, d.provider)
	}
	return nil
}

// refusedTo turns a 401 from an API that describes itself (d), to the
// token obtained for it, into fail.APIRefusedToken; its metadata is read
// again on a later call (it may have moved to another server).
func (a *Auth) refusedTo(d *apiTarget, u *url.URL, resp *http.Response, err error) (*http.Response, error) {
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
	resp.Body.Close()
	a.refused(d)
	return nil, fmt.Errorf("%w: %s answered 401 to the token obtained for it", fail.APIRefusedToken, hostPath(u.String()))
}

// tokenTrip sends a call with api's token, refreshing it once when the API
// refuses it.
func (t *bearerTransport) tokenTrip(req *http.Request, api *apiTarget) (*http.Response, error) {
	tok, err := t.st.tokenFor(req.Context(), api)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.send(req, api, tok, req.Body)
	if err == nil && resp.StatusCode == http.StatusForbidden && api.conn == nil {
		if sc := scopeChallenge(resp, api, tok.AccessToken); sc != nil {
			// The session's token lacks a scope the API names: only a
			// sign-in that asks for it helps (Auth.StepUp).
			io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
			resp.Body.Close()
			return nil, sc
		}
	}
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if api.disc != nil {
		if err := t.st.a.moved(req.Context(), api, resp.Header); err != nil {
			// The API names another server now: the user's token comes
			// from there (no refresh at the old one).
			io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
			resp.Body.Close()
			closeBody(req)
			return nil, err
		}
	}
	if se := stepUpChallenge(resp); se != nil && api.conn == nil {
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
		if resp, err = t.send(req, api, tok, body); err != nil || resp.StatusCode != http.StatusUnauthorized {
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
		return nil, fmt.Errorf("%w: the API refused the access token, and refreshing it failed: %w", fail.RefreshUnavailable, err)
	}
	if errors.Is(err, fail.NotConnected) {
		// The connected API's grant was refused at its provider (and
		// deleted): ErrNotConnected, for Auth.StepUp, not the API's 401.
		io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
		resp.Body.Close()
		if body != nil {
			body.Close()
		}
		return nil, err
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
	return t.send(req, api, ntok, body)
}

func (t *bearerTransport) send(req *http.Request, api *apiTarget, tok *oauth2.Token, body io.ReadCloser) (*http.Response, error) {
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
	if api.conn != nil {
		base = api.connRT // the API's own provider's tokens
	}
	start := time.Now()
	resp, err := base.RoundTrip(r2)
	if t.st.a.sink.Detailed() {
		e := event.Event{Kind: event.APIRequest, Session: sessionRef(t.st.current()), Duration: time.Since(start), Err: err,
			Attrs: []slog.Attr{slog.String("method", req.Method), slog.String("api", req.URL.Scheme+"://"+req.URL.Host+req.URL.Path), slog.String("api_name", api.name),
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
		return fmt.Errorf("%w: to %s", fail.CrossOriginRedirect, netx.Origin(req.URL))
	}
	return nil
}

// HTTPClient returns an *http.Client that calls the Config's APIs on behalf
// of r's signed-in user (r must have gone through Require or Optional).
//
// It sends the user's access token only to the APIs (Config.APIs): a
// request for any other URL fails with ErrForbidden without being sent,
// and a redirect to another origin, or from https to http, fails with
// ErrForbidden without being followed. It refreshes the token when
// it has expired: the new session cookie goes out with the response when it
// starts through the middleware's writer (or, when the handler writes
// nothing, after it returns), marked Cache-Control: no-store; if the
// response has already started, or is written past the middleware's writer
// (a framework's own), the new tokens reach the browser on the user's next
// request. The client may be used from several goroutines while the handler
// sets its headers: a refresh never writes the header map from the
// goroutine that made it. When the refresh fails and
// the session goes on, it sends the current token while that is still good
// for a moment; after that its requests fail with an error wrapping
// ErrUnavailable, for which StatusCode gives 503 (answer it with a
// Retry-After). When an API answers 401 it
// refreshes once and retries once if the request body can be replayed
// (GetBody set, as http.NewRequest does for common bodies). A 401 that asks
// for a stronger or more recent authentication (RFC 9470
// insufficient_user_authentication) fails with a *StepUpError instead,
// and a 403 that asks for more scope (RFC 6750 insufficient_scope with a
// scope) with an error wrapping ErrForbidden: hand either to Auth.StepUp.
//
// Its calls end when r ends (the request's context) or after
// Config.APITimeout. Without a session (behind Optional) its requests fail
// with ErrNotSignedIn; in a handler that neither Require nor Optional
// wraps, with a confidant.ErrConfig that says to wrap it.
func (a *Auth) HTTPClient(r *http.Request) *http.Client {
	st, _ := r.Context().Value(ctxKey{}).(*reqSession)
	if st == nil {
		// Not a missing session: a handler that no Require or Optional
		// wraps, whose request never had one looked up.
		err := fmt.Errorf("%w: HTTPClient(r) in a handler that auth.Require or auth.Optional does not wrap (%s %s): wrap it, e.g. mux.Handle(pattern, auth.Require(h))",
			fail.MiddlewareConfig, r.Method, netx.ProviderText(sentPath(r)))
		return &http.Client{Transport: errTransport{err}, Timeout: a.cfg.APITimeout}
	}
	provider := ""
	if s := st.current(); s != nil {
		provider = s.Provider
	}
	return &http.Client{Transport: &bearerTransport{st: st, base: a.transportFor(provider)},
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
