package middleware

// Connected APIs: an API on an authorization server of its own
// (API.Client), whose tokens a user grants once ("connect your calendar")
// and the app keeps for the user, not for a browser: in the grant store,
// sealed with the session keys, keyed by the user's provider and subject.
// A browser session finds them through its user; a background job through
// Auth.ClientFor. Each grant is refreshed once at a time across every
// instance and worker (the store's lock, as a session's refresh), its
// rotated refresh token written before the new access token is used.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/internal/seal"
	"github.com/confidant-go/confidant/internal/seam"
	"github.com/confidant-go/confidant/session"
)

// grantStore keeps users' grants, sealed, where every instance finds them
// (redisstore.Store, redisstore.DenyList); memGrants in one process
// otherwise.
type grantStore interface {
	// Grant is user's sealed grant for api, nil when none.
	Grant(ctx context.Context, user, api string) ([]byte, error)
	// Grants lists the APIs user has a grant for.
	Grants(ctx context.Context, user string) ([]string, error)
	// SwapGrant replaces user's grant for api with sealed (nil deletes
	// it) if it still is old (nil: if there is none), and reports whether
	// it did.
	SwapGrant(ctx context.Context, user, api string, old, sealed []byte) (bool, error)
	// SetGrant writes user's grant for api whatever it holds: for the
	// holder of its lock, which read it under that lock.
	SetGrant(ctx context.Context, user, api string, sealed []byte) error
	// Lock is sharedStore.Lock: one holder at a time across instances.
	Lock(ctx context.Context, id string) (held context.Context, unlock func(), err error)
}

// grant is what the store keeps of a user's grant for one API.
type grant struct {
	AccessToken  string    `json:"at"`
	TokenType    string    `json:"tt,omitempty"`
	RefreshToken string    `json:"rt,omitempty"`
	Expiry       time.Time `json:"ex,omitzero"`
	Issued       time.Time `json:"is"` // of the access token
	Scope        string    `json:"sc,omitempty"`
	Connected    time.Time `json:"ca"`
	// Issuer is the authorization server of an API that describes
	// itself, which issued the grant: a grant from another (the API
	// moved) is not used.
	Issuer string `json:"iss,omitempty"`
}

func (g *grant) token() *oauth2.Token {
	return &oauth2.Token{AccessToken: g.AccessToken, TokenType: g.TokenType, Expiry: g.Expiry}
}

// grants is the Auth's grant engine.
type grants struct {
	store  grantStore
	cipher *seal.Cipher
	app    string
	shared bool // the store is shared by the app's instances

	mu      sync.Mutex
	flights map[string]*grantFlight // by user and API
}

type grantFlight struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

// userRef names a user in the grant store: a hash of the provider and
// subject, so that the store never holds either.
func userRef(provider, subject string) string {
	h := sha256.Sum256([]byte("confidant/user\x00" + provider + "\x00" + subject))
	return hex.EncodeToString(h[:16])
}

// user is how the store names a user of this app: the app is part of it,
// so that two apps sharing a Redis (and a prefix) neither see nor change
// each other's grants.
func (g *grants) user(provider, subject string) string {
	return userRef(g.app+"\x00"+provider, subject)
}

func (g *grants) aad(user, api string) []byte {
	return []byte("confidant/grant/" + user + "\x00" + api + "\x00" + g.app)
}

// load returns user's grant for api as stored (raw, for a later swap) and
// opened; both nil when there is none, or when it cannot be opened (sealed
// with a retired key, or for another app): as if none.
func (g *grants) load(ctx context.Context, user, api string) ([]byte, *grant, error) {
	raw, err := g.store.Grant(ctx, user, api)
	if err != nil || raw == nil {
		return nil, nil, err
	}
	plain, stale, err := g.cipher.OpenBytesStale(string(raw), g.aad(user, api))
	if err != nil {
		return raw, nil, nil
	}
	var gr grant
	if json.Unmarshal(plain, &gr) != nil {
		return raw, nil, nil
	}
	if stale {
		// Sealed with a retired key: sealed again with the current one
		// (best effort), so that dropping the old key later loses nothing
		// that was used or listed meanwhile.
		if sealed := g.seal(user, api, &gr); func() bool {
			ok, err := g.store.SwapGrant(ctx, user, api, raw, sealed)
			return ok && err == nil
		}() {
			raw = sealed
		}
	}
	return raw, &gr, nil
}

func (g *grants) seal(user, api string, gr *grant) []byte {
	plain, _ := json.Marshal(gr)
	return g.cipher.SealBytes(plain, g.aad(user, api))
}

func (g *grants) lockID(user, api string) string { return "grant\x00" + user + "\x00" + api }

// notConnectedError is ErrNotConnected for one API: Auth.StepUp starts its
// connect flow.
type notConnectedError struct {
	api     string
	revoked bool // the provider refused the grant's refresh token; it was deleted
}

func (e *notConnectedError) Error() string {
	if e.revoked {
		return fmt.Sprintf("middleware: API %q: the grant was revoked or expired at its provider (deleted; connect again)", e.api)
	}
	return fmt.Sprintf("middleware: API %q is not connected for this user", e.api)
}

func (e *notConnectedError) Is(target error) bool { return fail.NotConnected.Within(target) }

// memGrants keeps grants in this process: an app on one instance whose
// sessions are in cookies with no shared deny list. They end with the
// process.
type memGrants struct {
	mu    sync.Mutex
	m     map[string]map[string][]byte
	locks map[string]chan struct{}
}

func newMemGrants() *memGrants {
	return &memGrants{m: map[string]map[string][]byte{}, locks: map[string]chan struct{}{}}
}

func (m *memGrants) Grant(_ context.Context, user, api string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.m[user][api], nil
}

func (m *memGrants) Grants(_ context.Context, user string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	for api := range m.m[user] {
		names = append(names, api)
	}
	slices.Sort(names)
	return names, nil
}

func (m *memGrants) SwapGrant(_ context.Context, user, api string, old, sealed []byte) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.m[user][api]
	if (old == nil && ok) || (old != nil && string(cur) != string(old)) {
		return false, nil
	}
	if sealed == nil {
		delete(m.m[user], api)
		if len(m.m[user]) == 0 {
			delete(m.m, user)
		}
		return true, nil
	}
	if m.m[user] == nil {
		m.m[user] = map[string][]byte{}
	}
	m.m[user][api] = slices.Clone(sealed)
	return true, nil
}

func (m *memGrants) SetGrant(_ context.Context, user, api string, sealed []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m[user] == nil {
		m.m[user] = map[string][]byte{}
	}
	m.m[user][api] = slices.Clone(sealed)
	return nil
}

func (m *memGrants) Lock(ctx context.Context, id string) (context.Context, func(), error) {
	for {
		m.mu.Lock()
		ch := m.locks[id]
		if ch == nil {
			ch = make(chan struct{})
			m.locks[id] = ch
			m.mu.Unlock()
			var once sync.Once
			return ctx, func() {
				once.Do(func() {
					m.mu.Lock()
					delete(m.locks, id)
					m.mu.Unlock()
					close(ch)
				})
			}, nil
		}
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("%w: waiting for the grant's lock: %w", fail.SessionUnavailable, ctx.Err())
		}
	}
}

// bindGrants picks the grant store: the session store's server when it is
// shared, else the shared deny list's, else this process's memory.
func (a *Auth) bindGrants() {
	g := &grants{cipher: a.flows, app: a.appID(), flights: map[string]*grantFlight{}}
	if s, ok := seam.Of(a.cfg.Store).(grantStore); ok {
		g.store, g.shared = s, true
	} else if s, ok := seam.Of(a.cfg.DenyList).(grantStore); ok {
		g.store, g.shared = s, true
	} else {
		g.store = newMemGrants()
		if a.cfg.Logger != nil && (a.cfg.BackgroundAccess || slices.ContainsFunc(a.apis, func(t apiTarget) bool { return t.conn != nil || t.disc != nil })) {
			a.cfg.Logger.Info("confidant: the users' grants (connected APIs, BackgroundAccess) are kept in this process's memory: they end when it restarts, and other instances and workers do not see them; " +
				"give every instance the same redisstore.DenyList (or keep sessions in redisstore.Store)")
		}
	}
	a.grants = g
}

// grantToken returns a usable access token of user's grant for api (not
// stale, the token an API just refused): the stored one, or a refreshed
// one, one refresh at a time per grant across instances.
func (a *Auth) grantToken(ctx context.Context, provider, subject string, t *apiTarget, stale string) (*oauth2.Token, error) {
	g := a.grants
	user := g.user(provider, subject)
	_, gr, err := g.load(ctx, user, t.name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	if gr == nil || gr.Issuer != t.issuer {
		return nil, &notConnectedError{api: t.name}
	}
	if a.grantUsable(gr, stale) {
		return gr.token(), nil
	}
	key := user + "\x00" + t.name
	g.mu.Lock()
	f := g.flights[key]
	if f == nil {
		f = &grantFlight{done: make(chan struct{})}
		g.flights[key] = f
		go func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.RefreshTimeout+5*time.Second)
			defer func() {
				// A panic (a custom transport's, say) is this refresh's
				// error, not the end of the process.
				if p := recover(); p != nil {
					f.tok, f.err = nil, fmt.Errorf("%w: the refresh of API %q's grant panicked (%T)", fail.RefreshUnavailable, t.name, p)
				}
				cancel()
				g.mu.Lock()
				delete(g.flights, key)
				g.mu.Unlock()
				close(f.done)
			}()
			f.tok, f.err = a.refreshGrant(rctx, provider, user, t, stale)
		}()
	}
	g.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", fail.RefreshUnavailable, ctx.Err())
	}
}

// grantUsable reports whether gr's access token may be sent: not the one
// an API refused, and not due (Config.RefreshLeeway before it expires, at
// most half its lifetime).
func (a *Auth) grantUsable(gr *grant, stale string) bool {
	if gr.AccessToken == "" || gr.AccessToken == stale {
		return false
	}
	if gr.Expiry.IsZero() {
		return true
	}
	leeway := a.cfg.RefreshLeeway
	if life := gr.Expiry.Sub(gr.Issued); life > 0 && leeway > life/2 {
		leeway = life / 2
	}
	return a.cfg.Now().Add(leeway).Before(gr.Expiry)
}

// refreshGrant refreshes user's grant for api under its lock: from the
// grant as stored then (another instance may have refreshed it), and
// writes the rotated tokens before returning them.
func (a *Auth) refreshGrant(ctx context.Context, provider, user string, t *apiTarget, stale string) (*oauth2.Token, error) {
	g := a.grants
	held, unlock, err := g.store.Lock(ctx, g.lockID(user, t.name))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	defer unlock()
	raw, gr, err := g.load(ctx, user, t.name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	if gr == nil || gr.Issuer != t.issuer {
		return nil, &notConnectedError{api: t.name}
	}
	if a.grantUsable(gr, stale) {
		a.emit(ctx, event.Event{Kind: event.RefreshDeduplicated, Provider: provider,
			Attrs: []slog.Attr{slog.String("api", t.name), slog.String("by", "grant store")}})
		return gr.token(), nil
	}
	if gr.RefreshToken == "" {
		// Expired, with nothing to renew it: the user connects again.
		g.store.SwapGrant(ctx, user, t.name, raw, nil)
		return nil, &notConnectedError{api: t.name, revoked: true}
	}
	if held.Err() != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, context.Cause(held))
	}
	tok, err := plumbingOf(t.conn).RefreshFor(ctx, gr.RefreshToken, nil, t.op.resource, nil)
	if err != nil {
		if errors.Is(err, fail.RefreshRevoked) {
			// Revoked or expired at the provider: deleted, not retried.
			g.store.SwapGrant(ctx, user, t.name, raw, nil)
			a.emit(ctx, event.Event{Kind: event.RefreshFailed, Provider: provider, Err: err,
				Attrs: []slog.Attr{slog.String("api", t.name), slog.Bool("grant_deleted", true)}})
			return nil, fmt.Errorf("%w: %w", &notConnectedError{api: t.name, revoked: true}, err)
		}
		return nil, fmt.Errorf("%w: API %q: %w", fail.RefreshUnavailable, t.name, err)
	}
	ng := &grant{AccessToken: tok.AccessToken, TokenType: tok.Type(), RefreshToken: tok.RefreshToken, Expiry: tok.Expiry,
		Issued: a.cfg.Now(), Scope: gr.Scope, Connected: gr.Connected, Issuer: gr.Issuer}
	if s := grantedScope(tok); s != "" {
		ng.Scope = s
	}
	// The provider may have retired the old refresh token: the new one is
	// written before its access token is used, however long the store
	// takes to come back (within the refresh's time).
	var swapped bool
	err = untilAvailable(ctx, func() error {
		var err error
		swapped, err = g.store.SwapGrant(ctx, user, t.name, raw, g.seal(user, t.name, ng))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	if !swapped {
		// Changed under the lock: the lease ran out and another holder
		// wrote (or the user disconnected meanwhile).
		return nil, fmt.Errorf("%w: API %q: the grant changed during its refresh", fail.SessionStore, t.name)
	}
	return ng.token(), nil
}

// putGrant stores a new grant of user for api (the connect callback's),
// replacing any other, whose refresh token is then revoked (best effort).
func (a *Auth) putGrant(ctx context.Context, user string, t *apiTarget, tok *oauth2.Token) error {
	g := a.grants
	_, unlock, err := g.store.Lock(ctx, g.lockID(user, t.name))
	if err != nil {
		return fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	defer unlock()
	now := a.cfg.Now()
	ng := &grant{AccessToken: tok.AccessToken, TokenType: tok.Type(), RefreshToken: tok.RefreshToken, Expiry: tok.Expiry,
		Issued: now, Scope: grantedScope(tok), Connected: now, Issuer: t.issuer}
	for range 3 {
		raw, old, err := g.load(ctx, user, t.name)
		if err != nil {
			return fmt.Errorf("%w: %w", fail.SessionStore, err)
		}
		ok, err := g.store.SwapGrant(ctx, user, t.name, raw, g.seal(user, t.name, ng))
		if err != nil {
			return fmt.Errorf("%w: %w", fail.SessionStore, err)
		}
		if ok {
			if old != nil && old.RefreshToken != "" && old.RefreshToken != ng.RefreshToken {
				a.revokeGrant(ctx, t, old, "replaced")
			}
			return nil
		}
	}
	return fmt.Errorf("%w: API %q: the grant kept changing", fail.SessionStore, t.name)
}

// revokeGrant revokes gr's refresh token (else its access token) at t's
// provider, best effort, and reports the outcome as an event.
func (a *Auth) revokeGrant(ctx context.Context, t *apiTarget, gr *grant, why string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	tok := &oauth2.Token{RefreshToken: gr.RefreshToken}
	if tok.RefreshToken == "" {
		tok.AccessToken = gr.AccessToken
	}
	if t.disc != nil && (t.conn == nil || t.issuer != gr.Issuer) {
		// An API that describes itself: revoked where it was granted.
		nt, err := a.targetAt(ctx, t, gr.Issuer, nil)
		if err != nil {
			return err
		}
		if nt.conn == nil {
			return nil // a sign-in provider's: nothing is kept apart from the session
		}
		t = nt
	}
	err := t.conn.Revoke(ctx, tok)
	a.emit(ctx, event.Event{Kind: event.Logout, Provider: t.conn.Provider().Name(), Err: err,
		Attrs: []slog.Attr{slog.String("api", t.name), slog.String("why", why), slog.Bool("revoked", err == nil)}})
	return err
}

// apiCalled is the API called name, or nil.
func (a *Auth) apiCalled(name string) *apiTarget {
	for i := range a.apis {
		if a.apis[i].name == name {
			return &a.apis[i]
		}
	}
	return nil
}

// connectPath is where a browser starts connecting api, coming back to
// returnTo.
func (a *Auth) connectPath(api, returnTo string) string {
	q := url.Values{"api": {api}}
	if returnTo != "" {
		q.Set("return_to", returnTo)
	}
	return a.cfg.Prefix + "connect?" + q.Encode()
}

// connect serves Prefix+"connect?api=NAME&return_to=PATH" (behind
// Require): it starts the signed-in user's connect flow for the API, to
// its own provider, and comes back to return_to.
func (a *Auth) connect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		a.fail(w, r, fail.MethodNotAllowed)
		return
	}
	q := r.URL.Query()
	t := a.apiCalled(q.Get("api"))
	if t == nil || (t.conn == nil && t.disc == nil) {
		a.fail(w, r, fmt.Errorf("%w: no connected API named %q (an API with a Client or AuthorizationServers in Config.APIs)", fail.UnknownAPI, netx.ProviderText(q.Get("api"))))
		return
	}
	u := UserFrom(r.Context())
	if u == nil {
		a.fail(w, r, fail.NotSignedIn)
		return
	}
	if t.provider != "" && t.provider != u.Provider {
		a.fail(w, r, fmt.Errorf("%w: API %q is for users of provider %q", fail.Forbidden, t.name, t.provider))
		return
	}
	returnTo := a.returnTo(q.Get("return_to"))
	if len(returnTo) > maxFlowReturnTo {
		returnTo = a.cfg.AfterLogin
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		// Another site sent the browser here: connecting would link
		// whatever account the browser has at the API's server (one an
		// attacker signed it in to) to this user, without asking. The
		// user confirms on this app's own page first.
		a.confirmConnect(w, t, returnTo)
		return
	}
	t, err := a.connectedTarget(r.Context(), t)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if t.provider != "" && t.provider != u.Provider {
		a.fail(w, r, fmt.Errorf("%w: API %q is for users of provider %q", fail.Forbidden, t.name, t.provider))
		return
	}
	if t.signInPath() {
		// The API's server is the sign-in provider: a sign-in whose grant
		// covers the API (its resource and scopes; startFlow adds them).
		a.startFlow(w, r, a.byName[t.provider], returnTo, nil)
		return
	}
	c, err := a.connectClient(r.Context(), t)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var extra url.Values
	if t.op.resource != "" {
		extra = url.Values{"resource": {t.op.resource}}
	}
	l, err := c.NewLogin(r.Context(), extra)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f := flow{Provider: t.conn.Provider().Name(), API: t.name, User: a.grants.user(u.Provider, u.Subject),
		State: l.State, Verifier: l.Verifier, ReturnTo: returnTo, Created: a.cfg.Now().UnixMilli()}
	a.writeFlow(w, r, &f)
	a.emit(r.Context(), event.Event{Kind: event.LoginStarted, Provider: f.Provider, Flow: event.Redact(l.State),
		Attrs: []slog.Attr{slog.String("api", t.name), slog.Any("scopes", plumbingOf(c).Scopes()), slog.String("pkce", "S256"),
			slog.String("return_to", pathOnly(returnTo)), slog.String("authorize", hostPath(l.URL))}})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, l.URL, http.StatusFound)
}

// confirmConnect answers a connect started from another site with a page
// of the app's own whose link starts it again, same-origin: a click by the
// user, who sees which API is being connected. The page cannot be framed.
func (a *Auth) confirmConnect(w http.ResponseWriter, t *apiTarget, returnTo string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; style-src 'unsafe-inline'")
	name := html.EscapeString(t.name)
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Connect %s</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto">
<p>Another site sent you here to connect <b>%s</b> to your account on this app.</p>
<p><a id="connect" href="%s">Connect %s</a> · <a href="%s">Cancel</a></p>
</body></html>
`, name, name, html.EscapeString(a.connectPath(t.name, returnTo)), name, html.EscapeString(returnTo))
}

// connectClient is t's client as a connect flow uses it: exactly the
// API's scopes, and offline_access when the server lists it (a grant for
// later, and for background jobs); pushed (PAR) whenever it offers it.
func (a *Auth) connectClient(ctx context.Context, t *apiTarget) (*client.Client, error) {
	scopes := slices.Clone(t.op.scopes)
	if !slices.Contains(scopes, "offline_access") {
		if d, err := providerOf(t.conn.Provider()).Discovered(ctx); err != nil {
			return nil, err
		} else if slices.Contains(d.ScopesSupported, "offline_access") {
			scopes = append(scopes, "offline_access")
		}
	}
	return plumbingOf(t.conn).ForAPI(scopes), nil
}

// connectFlow reports whether the callback r finishes a connect flow: its
// state is that of a flow cookie for an API whose client's callback is
// this path.
func (a *Auth) connectFlow(r *http.Request, path string) *apiTarget {
	state := r.URL.Query().Get("state")
	if state == "" {
		return nil
	}
	for _, ck := range r.Cookies() {
		if _, ok := a.flowSlotOf(ck.Name); !ok {
			continue
		}
		f, ok := a.openFlow(ck.Name, ck.Value)
		if !ok || f.API == "" || !equalState(f.State, state) {
			continue
		}
		t := a.apiCalled(f.API)
		if t != nil && t.disc != nil {
			if t, _ = a.connectedTarget(r.Context(), t); t == nil {
				continue
			}
		}
		if t != nil && t.conn != nil && t.callback == path {
			return t
		}
	}
	return nil
}

// connectCallback finishes a connect flow (behind Optional): the state
// first, then the response's iss (RFC 9207) and the provider's error,
// the user who started it, and only then the code exchange; the grant is
// stored for the user, and the browser goes back to the page.
func (a *Auth) connectCallback(w http.ResponseWriter, r *http.Request, t *apiTarget) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		a.fail(w, r, fail.MethodNotAllowed)
		return
	}
	q := r.URL.Query()
	for _, k := range []string{"state", "code", "iss", "error"} {
		if n := len(q[k]); n > 1 {
			a.fail(w, r, fmt.Errorf("%w: %d %s parameters", fail.BadCallback, n, k))
			return
		}
	}
	a.emit(r.Context(), event.Event{Kind: event.CallbackReceived, Provider: t.conn.Provider().Name(), Flow: event.Redact(q.Get("state")),
		Attrs: []slog.Attr{slog.String("api", t.name), slog.String("code", event.Redact(q.Get("code"))),
			slog.String("state", event.Redact(q.Get("state"))), slog.String("error", netx.ProviderText(q.Get("error")))}})
	f, err := a.takeFlow(w, r, q.Get("state"), t.conn, t.name)
	if err == nil {
		err = plumbingOf(t.conn).CheckResponseIssuer(r.Context(), q)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	u := UserFrom(r.Context())
	if u == nil || !equalState(a.grants.user(u.Provider, u.Subject), f.User) {
		// Started for another user (or the session ended meanwhile): the
		// code is not redeemed for whoever holds this browser now.
		a.fail(w, r, fmt.Errorf("%w: the connect flow was started by another user, or the session ended", fail.StateMismatch))
		return
	}
	if e := q.Get("error"); e != "" {
		a.fail(w, r, &ProviderError{Code: netx.ProviderText(e), Description: netx.ProviderText(q.Get("error_description"))})
		return
	}
	code := q.Get("code")
	if code == "" {
		a.fail(w, r, fail.CodeMissing)
		return
	}
	tok, err := plumbingOf(t.conn).ExchangeGrant(r.Context(), code, f.login())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.putGrant(r.Context(), f.User, t, tok); err != nil {
		a.revokeGrant(r.Context(), t, &grant{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}, "not stored")
		a.fail(w, r, err)
		return
	}
	a.emit(r.Context(), event.Event{Kind: event.SessionSaved, Provider: t.conn.Provider().Name(),
		Attrs: []slog.Attr{slog.String("api", t.name), slog.String("why", "connected"), slog.Bool("refresh_token", tok.RefreshToken != "")}})
	http.Redirect(w, r, f.ReturnTo, http.StatusFound)
}

// ClientFor returns an *http.Client that calls the Config's connected
// APIs (those with a Client of their own) on behalf of the user that
// provider and subject name (confidant.User's Provider and Subject), with
// no request and no browser: for background jobs, webhooks and queue
// workers, in this process or any other built from the same Config. With
// Config.BackgroundAccess it calls the other APIs too, with the user's
// kept sign-in grant (its tokens, DPoP-bound ones included); a user with
// none (never signed in since, signed out of that session, or signed out
// everywhere) is ErrNotConnected, as for a connected API.
//
// It has the guarantees of HTTPClient: the token goes only to its API's
// BaseURL and never follows a redirect to another origin; a token due is
// refreshed first, one refresh at a time per grant across every instance
// and worker, the rotated refresh token stored before the new access token
// is sent; an API's 401 gets one refresh and one retry. A call for a user
// who has not connected the API fails with an error wrapping
// ErrNotConnected; one whose grant the provider refused (invalid_grant)
// fails with the same, a *client.TokenError in its chain, and the grant
// is deleted: not retried until the user connects again. A URL of no
// connected API fails with ErrForbidden without being sent; a provider
// that is not one of the sign-in providers' names (client.Provider.Name:
// a preset's, WithName's, else the issuer's hostname) fails with
// confidant.ErrConfig. Each call ends after Config.APITimeout, or earlier
// with its request's context (http.NewRequestWithContext).
func (a *Auth) ClientFor(provider, subject string) *http.Client {
	return &http.Client{Transport: &grantTransport{a: a, provider: provider, subject: subject},
		CheckRedirect: sameOriginRedirects, Timeout: a.cfg.APITimeout}
}

// grantTransport is ClientFor's: the user's grants, by the API a URL
// belongs to.
type grantTransport struct {
	a                 *Auth
	provider, subject string
}

func (t *grantTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.a.byName[t.provider] == nil {
		closeBody(req)
		names := make([]string, 0, len(t.a.clients))
		for _, c := range t.a.clients {
			names = append(names, strconv.Quote(c.Provider().Name()))
		}
		return nil, configErr("ClientFor: %q is not the name of a sign-in provider (the user's confidant.User.Provider: %s)", t.provider, strings.Join(names, ", "))
	}
	api := t.a.apiFor(req.URL, t.provider)
	if api == nil {
		closeBody(req)
		return nil, fmt.Errorf("%w: %s", fail.APINotAllowed, hostPath(req.URL.String()))
	}
	if api.disc != nil {
		d, err := t.a.connectedTarget(req.Context(), api)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		api = d
	}
	if api.conn == nil && t.a.family == nil {
		closeBody(req)
		return nil, configErr("ClientFor: API %q takes the sign-in provider's tokens; set Config.BackgroundAccess to call it from background jobs", api.name)
	}
	tok, rec, err := t.token(req.Context(), api, "")
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.send(req, api, tok, rec, req.Body)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if isDPoP(tok) && t.a.nonces.Learn(req.URL, resp, nil) {
		// The API asks for its nonce in the proof: once more with it.
		body, ok := replayBody(req)
		if !ok {
			return resp, nil
		}
		resp.Body.Close()
		if resp, err = t.send(req, api, tok, rec, body); err != nil || resp.StatusCode != http.StatusUnauthorized {
			return resp, err
		}
	}
	body, ok := replayBody(req)
	if !ok {
		return resp, nil
	}
	ntok, nrec, err := t.token(req.Context(), api, tok.AccessToken)
	if err != nil || ntok.AccessToken == tok.AccessToken {
		if body != nil {
			body.Close()
		}
		if errors.Is(err, fail.NotConnected) {
			// Revoked: the API's 401 says no more than that.
			resp.Body.Close()
			return nil, err
		}
		return resp, nil
	}
	resp.Body.Close()
	return t.send(req, api, ntok, nrec, body)
}

// token is the user's token for api: its connected grant's, or the kept
// sign-in grant's (with the session it is kept as, for DPoP proofs).
func (t *grantTransport) token(ctx context.Context, api *apiTarget, stale string) (*oauth2.Token, *session.Session, error) {
	if api.conn != nil {
		tok, err := t.a.grantToken(ctx, t.provider, t.subject, api, stale)
		return tok, nil, err
	}
	return t.a.familyToken(ctx, t.provider, t.subject, api, stale)
}

func (t *grantTransport) send(req *http.Request, api *apiTarget, tok *oauth2.Token, rec *session.Session, body io.ReadCloser) (*http.Response, error) {
	r2 := req.Clone(req.Context())
	r2.Body = body
	tok.SetAuthHeader(r2)
	base := api.connRT
	if api.conn == nil {
		base = t.a.transportFor(t.provider)
		if isDPoP(tok) && rec != nil {
			proof, err := t.a.proof(rec, req.Method, req.URL, tok.AccessToken)
			if err != nil {
				if body != nil {
					body.Close()
				}
				return nil, err
			}
			r2.Header.Set("DPoP", proof)
		}
	}
	return base.RoundTrip(r2)
}

// Disconnect ends the grant of the user that provider and subject name
// for api: its refresh token is revoked at the API's provider where it
// has a revocation endpoint, and the grant is deleted even if that fails
// (the error is then returned, after the deletion). A user with no grant
// for api is not an error.
func (a *Auth) Disconnect(ctx context.Context, provider, subject, api string) error {
	t := a.apiCalled(api)
	if t == nil || (t.conn == nil && t.disc == nil) {
		return configErr("Disconnect: no connected API named %q (an API with a Client or AuthorizationServers)", api)
	}
	return a.disconnect(ctx, a.grants.user(provider, subject), t)
}

func (a *Auth) disconnect(ctx context.Context, user string, t *apiTarget) error {
	g := a.grants
	_, unlock, err := g.store.Lock(ctx, g.lockID(user, t.name))
	if err != nil {
		return fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	defer unlock()
	raw, gr, err := g.load(ctx, user, t.name)
	if err != nil || raw == nil {
		return err
	}
	if _, err := g.store.SwapGrant(ctx, user, t.name, raw, nil); err != nil {
		return fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	if gr == nil {
		return nil
	}
	if err := a.revokeGrant(ctx, t, gr, "disconnect"); err != nil && !errors.Is(err, fail.Config) {
		return err
	}
	return nil
}

// Connections lists the connected APIs (by name) that the user that
// provider and subject name has a grant for.
func (a *Auth) Connections(ctx context.Context, provider, subject string) ([]string, error) {
	user := a.grants.user(provider, subject)
	names, err := a.grants.store.Grants(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	out := names[:0]
	for _, n := range names {
		if t := a.apiCalled(n); t != nil && (t.conn != nil || t.disc != nil) {
			// Only the grants this app can open (and use, and revoke).
			if _, gr, err := a.grants.load(ctx, user, n); err != nil {
				return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
			} else if gr != nil {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// endGrants ends every grant of a user (sign-out everywhere).
func (a *Auth) endGrants(ctx context.Context, provider, subject string) error {
	user := a.grants.user(provider, subject)
	var errs []error
	for i := range a.apis {
		if t := &a.apis[i]; t.conn != nil || t.disc != nil {
			if err := a.disconnect(ctx, user, t); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
