package middleware

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
)

// AntiForgeryHeader is the header a single-page app sends with every call
// to Proxy and SessionInfo, with the value "1". A page of another site
// cannot send it without a CORS preflight that the app never grants, so a
// request that carries it comes from the app's own pages.
const AntiForgeryHeader = "X-CSRF"

// forwardedHeaders are the request headers Proxy passes to the API by
// default: what describes the request's content, its caching and the
// encodings the browser takes, and the W3C trace context. Never a cookie,
// the browser's Authorization, the anti-forgery header or any other
// header of the app's (API.ForwardHeaders adds the API's own).
var forwardedHeaders = []string{"Accept", "Accept-Encoding", "Accept-Language", "Content-Type", "Content-Language",
	"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "Range", "Cache-Control",
	"Traceparent", "Tracestate"}

// Proxy is a backend-for-frontend: it forwards a single-page app's calls to
// the named API (Config.APIs) with the signed-in user's access token, so
// that the token never reaches the browser. Mount it under a prefix that
// is stripped:
//
//	mux.Handle("/bff/orders/", http.StripPrefix("/bff/orders", auth.Proxy("orders")))
//
// A call to /bff/orders/v1/items goes to BaseURL + "v1/items" with its
// query. Each call must carry AntiForgeryHeader: 1 and must not come from
// another site; a call that does not gets 403 JSON and reaches nothing.
// Without a session it gets 401 JSON with WWW-Authenticate: Cookie (never
// a redirect: the app's script sends the user to sign in). The API gets
// only the content, caching and encoding headers of the call, the W3C
// trace context, and the headers its API.ForwardHeaders names, never its
// cookies or the app's headers, and its Set-Cookie headers are dropped; a
// body over API.MaxRequestBody (default 10 MiB) gets 413. When the API
// answers 401, the token is refreshed once and the call sent again (a body
// up to 64 KiB is kept for that); responses are streamed (server-sent events
// and chunked responses as they are written, others at least every 100
// ms) and private to the session (Cache-Control: private and Vary: Cookie, unless the API
// said no-store). A path with a dot-segment in any form an API server
// might honour gets 400 JSON (see unsafePath). The token is
// refreshed first when it is due.
//
// When the API needs the user first, the page gets a typed answer with a
// login_url to follow (confidant.js, the example's helper, adds
// return_to and goes there): an RFC 9470 challenge of an API that takes
// the session's tokens is 401 JSON {"error":
// "insufficient_user_authentication", "acr_values", "max_age",
// "login_url"}, the sign-in with those (max_age=0 when it names none; the
// app's own acr_values are never lowered); an insufficient_scope
// challenge with a scope is 403 JSON {"error": "insufficient_scope",
// "scope", "login_url"}, a sign-in that adds the scopes neither the
// client nor the refused token has; a connected API not connected is 401
// JSON {"error": "not_connected", "login_url"}. These answers carry
// StepHeader, which an API's responses never do (Proxy drops it). Right after a sign-in for the
// same requirements (a minute), or when nothing is left to ask for, the
// answer has no login_url: another round would loop. Proxy panics when
// api is not one of Config.APIs (a programming error, found at start).
func (a *Auth) Proxy(api string) http.Handler {
	t := a.apiNamed("Proxy", api)
	rp := &httputil.ReverseProxy{
		Transport: &proxyTransport{a: a, api: t},
		// ReverseProxy sends server-sent events and responses of unknown
		// length (a chunked stream) as they are written; anything else
		// at the latest FlushInterval after it was written (its status
		// and headers too), not with a write per piece: a response that
		// is over sooner goes out in one write.
		FlushInterval: proxyFlushInterval,
		BufferPool:    copyBuffers,
		Rewrite: func(pr *httputil.ProxyRequest) {
			out := pr.Out
			target := *t.base
			target.Path = t.base.Path + strings.TrimPrefix(pr.In.URL.Path, "/")
			target.RawPath = ""
			target.RawQuery = pr.In.URL.RawQuery
			out.URL, out.Host = &target, ""
			h := http.Header{}
			for _, k := range t.forward {
				if v := pr.In.Header.Values(k); len(v) > 0 {
					h[textproto.CanonicalMIMEHeaderKey(k)] = v
				}
			}
			if isWebSocket(pr.In) {
				// The handshake, checked by the handler: its own headers
				// go on (not the browser's Origin or cookies).
				h.Set("Connection", "Upgrade")
				h.Set("Upgrade", "websocket")
				for _, k := range []string{"Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions"} {
					if v := pr.In.Header.Values(k); len(v) > 0 {
						h[k] = v
					}
				}
			}
			// The credentials come from the handler through the request's
			// context, never from a header the browser could have set.
			creds, _ := pr.In.Context().Value(proxyCredsKey{}).(proxyCreds)
			h.Set("Authorization", creds.authorization)
			if creds.dpop != "" {
				h.Set("DPoP", creds.dpop)
			}
			out.Header = h
		},
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Del("Set-Cookie") // the API's cookies are not the app's
			resp.Header.Del(StepHeader)   // nor its say where the page goes
			if resp.StatusCode != http.StatusSwitchingProtocols {
				privateCache(resp.Header)
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				jsonError(w, http.StatusRequestEntityTooLarge, "request_too_large", "the request body is larger than the API takes through this proxy")
			case errors.Is(err, errProxySessionEnded):
				a.unauthorized(w)
			case errors.As(err, new(*StepUpError)):
				var se *StepUpError
				errors.As(err, &se)
				a.proxyStepUp(w, r, se, nil)
			case errors.As(err, new(*scopeError)):
				var sc *scopeError
				errors.As(err, &sc)
				a.proxyStepUp(w, r, nil, sc)
			case errors.As(err, new(*notConnectedError)):
				var nc *notConnectedError
				errors.As(err, &nc)
				a.notConnectedJSON(w, r, nc, "/")
			case errors.Is(err, fail.RefreshUnavailable):
				w.Header().Set("Retry-After", strconv.Itoa(int((a.cfg.RetryAfter+time.Second-1)/time.Second)))
				jsonError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the access token could not be renewed now")
			default:
				jsonError(w, http.StatusBadGateway, "bad_gateway", "the API could not be reached")
			}
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, ok := a.prepareSPA(w, r, false)
		if !ok {
			return
		}
		sw := &st.sw
		if r.Method != http.MethodGet && isWebSocket(r) {
			jsonError(sw, http.StatusBadRequest, "bad_request", "a WebSocket handshake is a GET")
			return
		}
		if !st.signedIn() || (t.provider != "" && st.sess.Provider != t.provider) {
			// The BFF's own 401 (WWW-Authenticate: Cookie …), which a page
			// tells from an API's (Bearer …): the session is what ended.
			a.unauthorized(sw)
			return
		}
		target, err := url.Parse(t.base.String() + strings.TrimPrefix(r.URL.EscapedPath(), "/"))
		if err != nil || unsafePath(r.URL.EscapedPath()) || a.apiFor(target, st.sess.Provider) != t {
			jsonError(w, http.StatusBadRequest, "bad_request", "not a path of the API")
			return
		}
		if t.maxBody >= 0 {
			if r.ContentLength > t.maxBody {
				jsonError(sw, http.StatusRequestEntityTooLarge, "request_too_large", "the request body is larger than the API takes through this proxy")
				return
			}
			r.Body = http.MaxBytesReader(sw, r.Body, t.maxBody)
		}
		api := t
		if t.disc != nil {
			// An API that describes itself: its metadata names where its
			// token comes from.
			d, err := a.connectedTarget(r.Context(), t)
			if err != nil {
				code := "bad_gateway"
				if row := fail.Find(err); row != nil {
					code = row.Code
				}
				jsonError(w, StatusCode(err), code, "the API's metadata was refused")
				return
			}
			api = d
			if d.provider != "" && st.sess.Provider != d.provider {
				a.unauthorized(sw)
				return
			}
		}
		tok, err := st.tokenFor(r.Context(), api)
		var nc *notConnectedError
		if errors.As(err, &nc) {
			// A connected API the user has not connected: the page sends
			// the browser to login_url (its return_to is "/"; the page
			// may set its own).
			a.notConnectedJSON(w, r, nc, "/")
			return
		}
		if err != nil {
			jsonError(w, StatusCode(err), "token_unavailable", "the access token could not be obtained")
			return
		}
		creds := proxyCreds{authorization: tok.Type() + " " + tok.AccessToken, st: st, token: tok.AccessToken, api: api}
		if ck, err := r.Cookie(a.stepUpName()); err == nil {
			creds.mark = ck.Value
		}
		if isDPoP(tok) {
			if creds.dpop, err = a.proof(st.sess, r.Method, target, tok.AccessToken); err != nil {
				jsonError(w, http.StatusUnauthorized, "unauthorized", "sign-in required")
				return
			}
		}
		rp.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), proxyCredsKey{}, creds)))
	})
}

// proxyCreds carry the API's Authorization and DPoP headers from the
// handler to Rewrite, in the inbound request's context: no header of the
// browser's can stand in for them. st and token let the transport refresh
// the token the API refused.
type proxyCreds struct {
	authorization, dpop string
	st                  *reqSession
	token               string
	api                 *apiTarget // the API as its token was obtained for
	mark                string     // the page's step-up mark cookie (stepUpMark), if any
}

// maxProxyReplay is the largest request body the proxy keeps to send again
// after the API refused the token (a longer or unsized one is not retried:
// the page gets the API's 401).
const maxProxyReplay = 64 << 10

// errProxySessionEnded: the API refused the token and the session ended on
// the refresh that followed; the page gets the BFF's own 401.
var errProxySessionEnded error = fail.ProxySessionEnded

// proxyTransport sends a proxied call; when the API answers 401 (not a
// step-up challenge), it refreshes the token once, as HTTPClient does, and
// sends the call again with the new one.
type proxyTransport struct {
	a   *Auth
	api *apiTarget
}

func (pt *proxyTransport) RoundTrip(out *http.Request) (*http.Response, error) {
	creds, _ := out.Context().Value(proxyCredsKey{}).(proxyCreds)
	api := pt.api
	if creds.api != nil {
		api = creds.api
	}
	var body []byte
	replayable := out.Body == nil || out.Body == http.NoBody
	if !replayable && out.ContentLength > 0 && out.ContentLength <= maxProxyReplay {
		b, err := io.ReadAll(io.LimitReader(out.Body, maxProxyReplay+1))
		out.Body.Close()
		if err != nil {
			return nil, err
		}
		body, replayable = b, int64(len(b)) == out.ContentLength
		out.Body = io.NopCloser(bytes.NewReader(body))
	}
	provider := ""
	if creds.st != nil {
		if s := creds.st.current(); s != nil {
			provider = s.Provider
		}
	}
	base := pt.a.transportFor(provider) // the session's client's: its certificate, with one
	if api.conn != nil {
		base = api.connRT // a connected API's own provider's tokens
	}
	resp, err := base.RoundTrip(out)
	if err == nil && api.conn == nil && creds.st != nil {
		// The session's token falls short: the page is told how to
		// sign in again (proxyStepUp), not given the API's refusal.
		if se := stepUpChallenge(resp); se != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
			resp.Body.Close()
			return nil, se
		}
		if sc := scopeChallenge(resp, api, creds.token); sc != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
			resp.Body.Close()
			return nil, sc
		}
	}
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !replayable || creds.st == nil {
		return resp, err
	}
	ctx := out.Context()
	ntok, rerr := creds.st.forceRefresh(ctx, api, creds.token)
	switch {
	case creds.st.current() == nil:
		io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
		resp.Body.Close()
		return nil, errProxySessionEnded
	case rerr != nil && transient(rerr):
		io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %w", fail.RefreshUnavailable, rerr)
	case errors.Is(rerr, fail.NotConnected):
		// The connected API's grant was refused at its provider (and
		// deleted): the page learns where to connect again.
		io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
		resp.Body.Close()
		return nil, rerr
	case rerr != nil || ntok.AccessToken == creds.token:
		return resp, nil // the API refuses a token the provider says is good
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
	resp.Body.Close()
	again := out.Clone(ctx)
	again.Header.Set("Authorization", ntok.Type()+" "+ntok.AccessToken)
	again.Header.Del("DPoP")
	if isDPoP(ntok) {
		proof, err := pt.a.proof(creds.st.current(), out.Method, out.URL, ntok.AccessToken)
		if err != nil {
			return nil, errProxySessionEnded
		}
		again.Header.Set("DPoP", proof)
	}
	if body != nil {
		again.Body = io.NopCloser(bytes.NewReader(body))
	}
	pt.a.emit(ctx, event.Event{Kind: event.BearerRetried, Session: sessionRef(creds.st.current()),
		Attrs: []slog.Attr{slog.String("api", out.URL.Scheme+"://"+out.URL.Host+out.URL.Path), slog.String("api_name", api.name)}})
	return base.RoundTrip(again)
}

type proxyCredsKey struct{}

// privateCache makes a proxied response private to the session: the
// browser's call carried a cookie, not the Authorization header that keeps
// shared caches away (RFC 9111 3.5), so a CDN in front of the app could
// otherwise serve one user's response to another. The API's no-store
// stands; public and s-maxage go; its other directives stay.
func privateCache(h http.Header) {
	var keep []string
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			d = strings.TrimSpace(d)
			name, _, _ := strings.Cut(strings.ToLower(d), "=")
			switch name {
			case "no-store":
				return
			case "", "public", "private", "s-maxage", "proxy-revalidate":
				continue
			}
			keep = append(keep, d)
		}
	}
	h.Set("Cache-Control", strings.Join(append([]string{"private"}, keep...), ", "))
	h.Add("Vary", "Cookie")
}

// unsafePath reports whether a proxied path (escaped, as the browser sent
// it) has a dot-segment or a separator that an API server might honour
// although the SDK's path check does not see it: "." and ".." segments,
// also percent-encoded, with a ;parameter ("..;" to Tomcat) or trailing
// dots; a backslash ("..\" to IIS) or an encoded slash; a percent sign
// left after one decoding (double encoding); control characters.
func unsafePath(escaped string) bool {
	p, err := url.PathUnescape(escaped)
	if err != nil || strings.ContainsAny(p, "\\%") {
		return true
	}
	lower := strings.ToLower(escaped)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") {
		return true
	}
	for _, seg := range strings.Split(p, "/") {
		for _, c := range seg {
			if c < 0x20 || c == 0x7f {
				return true
			}
		}
		seg, _, _ = strings.Cut(seg, ";")
		if seg != "" && strings.Trim(seg, ". ") == "" {
			return true
		}
	}
	return false
}

// refuseForgery answers 403 JSON to a call without the anti-forgery header
// or from another site, and reports whether it did.
func (a *Auth) refuseForgery(w http.ResponseWriter, r *http.Request) bool {
	err := a.checkAntiForgery(r)
	if err == nil {
		return false
	}
	a.emitRejected(r, http.StatusForbidden, err)
	jsonError(w, http.StatusForbidden, "forbidden", "cross-site, or without the "+AntiForgeryHeader+" header")
	return true
}

// apiNamed is the API called name; a missing one is a programming error
// that what (the method) reports at start.
func (a *Auth) apiNamed(what, name string) *apiTarget {
	for i := range a.apis {
		if a.apis[i].name == name {
			return &a.apis[i]
		}
	}
	panic("middleware: " + what + ": no API named " + name + " in Config.APIs")
}

// checkAntiForgery refuses a call without the anti-forgery header, or that
// the one origin check (checkSameOrigin) refuses, for any method: a GET
// too, since a proxied GET spends the user's token.
//
// Two GETs a browser makes without letting a script add headers take the
// header's place with what the browser itself vouches for (see
// docs/security.md): a WebSocket handshake must carry an Origin (every
// browser sends one) that the origin check accepts; an EventSource (Accept:
// text/event-stream) must come with Sec-Fetch-Site: same-origin, which a
// page of another site cannot produce.
func (a *Auth) checkAntiForgery(r *http.Request) error {
	if r.Header.Get(AntiForgeryHeader) != "1" {
		switch {
		case r.Method == http.MethodGet && isWebSocket(r):
			if r.Header.Get("Origin") == "" {
				return fmt.Errorf("%w: a WebSocket handshake without Origin", fail.AntiForgery)
			}
		case r.Method == http.MethodGet && isEventStream(r):
			if sfs := r.Header.Get("Sec-Fetch-Site"); sfs != "same-origin" {
				return fmt.Errorf("%w: an event stream without %s needs Sec-Fetch-Site: same-origin (got %q)", fail.AntiForgery, AntiForgeryHeader, netx.ProviderText(sfs))
			}
		default:
			return fmt.Errorf("%w: no %s: 1 header", fail.AntiForgery, AntiForgeryHeader)
		}
	}
	check := r
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
		// CrossOriginProtection passes safe methods: check as for a POST.
		check = &http.Request{Method: http.MethodPost, Header: r.Header, Host: r.Host, URL: r.URL}
	}
	if err := a.checkSameOrigin(check); err != nil {
		return fmt.Errorf("%w: %s", fail.AntiForgery, strings.TrimPrefix(err.Error(), fail.CrossOrigin.Error()+": "))
	}
	return nil
}

// SessionInfo serves what a single-page app needs to know of its session,
// as JSON: the user (provider, subject, name, e-mail and whether it is
// verified, picture; never a token or the raw claims); when the access
// token expires and when the session itself ends (idle_expires_at, after
// which an unused session ends, and expires_at, its absolute end);
// logout_url, a sign-out the page navigates to (GET, with the session's
// sign-out token), which ends the provider's session too; and login_url.
// Like Proxy it needs AntiForgeryHeader and a same-origin call (a page of
// the app's own origin, or of Config.TrustedOrigins: a page of the same
// site on another port is refused). Without a
// session it answers 401 with login_url (and WWW-Authenticate: Cookie).
// login_url returns to the page that called (its Referer, when it is the
// app's own), or to ?return_to=.
//
// It needs no fresh token: when the access token is due and the provider
// cannot be reached, it still answers from the session, with
// "refresh_unavailable": true, rather than 503 (a page would take that
// for "signed out").
func (a *Auth) SessionInfo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, ok := a.prepareSPA(w, r, true)
		if !ok {
			return
		}
		sw := &st.sw
		login := a.loginURLFor(r)
		if !st.signedIn() {
			h := sw.Header()
			h.Set("WWW-Authenticate", `Cookie realm="confidant", login="`+a.LoginPath()+`"`)
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-store")
			sw.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(sw).Encode(map[string]any{"signed_in": false, "login_url": login})
			return
		}
		sw.Header().Set("Content-Type", "application/json")
		sw.Header().Set("Cache-Control", "no-store")
		s := st.sess
		info := map[string]any{
			"signed_in":  true,
			"user":       map[string]any{"provider": s.Provider, "sub": s.Subject, "name": s.Name, "email": s.Email, "email_verified": s.EmailVerified, "picture": s.Picture},
			"logout_url": a.logoutURL(s),
			"login_url":  login,
		}
		if !s.Expiry.IsZero() {
			info["access_token_expires_at"] = s.Expiry.UTC().Format(time.RFC3339)
		}
		if to := a.timeouts; to != nil {
			if !s.CreatedAt.IsZero() {
				info["expires_at"] = s.CreatedAt.Add(to.Absolute).UTC().Format(time.RFC3339)
			}
			seen := s.LastSeen
			if seen.IsZero() {
				seen = s.CreatedAt
			}
			if !seen.IsZero() {
				idle := seen.Add(to.Idle)
				if abs := s.CreatedAt.Add(to.Absolute); !s.CreatedAt.IsZero() && abs.Before(idle) {
					idle = abs
				}
				info["idle_expires_at"] = idle.UTC().Format(time.RFC3339)
			}
		}
		if st.stale {
			info["refresh_unavailable"] = true
		}
		json.NewEncoder(sw).Encode(info)
	})
}

// loginURLFor is the sign-in URL that returns to the page that made r: its
// ?return_to=, else its Referer when that is a page of the app's origin.
func (a *Auth) loginURLFor(r *http.Request) string {
	back := r.URL.Query().Get("return_to")
	if back == "" {
		if ref, err := url.Parse(r.Referer()); err == nil && ref.Host != "" && strings.EqualFold(ref.Scheme+"://"+ref.Host, netx.Origin(a.origin)) {
			back = ref.RequestURI()
		}
	}
	if target, ok := sanitizeReturnTo(back); ok && back != "" {
		return a.LoginPath() + "?return_to=" + url.QueryEscape(target)
	}
	return a.LoginPath()
}

func jsonError(w http.ResponseWriter, status int, code, desc string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (a *Auth) emitRejected(r *http.Request, status int, err error) {
	a.emit(r.Context(), event.Event{Kind: event.Rejected, Status: status, Err: err,
		Attrs: []slog.Attr{slog.String("method", r.Method), slog.String("path", sentPath(r))}})
}

// prepareSPA opens a request of the single-page app's (Proxy,
// SessionInfo): refused without the anti-forgery header or from another
// site, else prepare. ok is false when it already answered.
func (a *Auth) prepareSPA(w http.ResponseWriter, r *http.Request, lenient bool) (st *reqSession, ok bool) {
	if a.refuseForgery(w, r) {
		return nil, false
	}
	return a.prepare(w, r, lenient)
}

// isWebSocket reports whether r is a WebSocket handshake (RFC 6455 4.1).
func isWebSocket(r *http.Request) bool {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return false
	}
	for _, v := range r.Header.Values("Connection") {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "upgrade") {
				return true
			}
		}
	}
	return false
}

// isEventStream reports whether r asks for server-sent events only (an
// EventSource's request).
func isEventStream(r *http.Request) bool {
	accept := r.Header.Values("Accept")
	return len(accept) == 1 && strings.EqualFold(strings.TrimSpace(accept[0]), "text/event-stream")
}

// proxyFlushInterval bounds how long Proxy holds what a slow API has
// written of a response of known length.
const proxyFlushInterval = 100 * time.Millisecond

// copyBuffers are the Proxy's copy buffers, reused across requests: a
// ReverseProxy without a pool allocates 32 KiB for every response.
var copyBuffers = make(bufferPool, 256)

// bufferPool is a free list of 32 KiB buffers (httputil.BufferPool),
// holding at most its capacity; it allocates nothing to give or take one.
type bufferPool chan []byte

func (p bufferPool) Get() []byte {
	select {
	case b := <-p:
		return b
	default:
		return make([]byte, 32<<10)
	}
}

func (p bufferPool) Put(b []byte) {
	if cap(b) < 32<<10 {
		return
	}
	select {
	case p <- b[:32<<10]:
	default:
	}
}
