package middleware

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/clientx"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/session"
)

// login starts a sign-in. ?return_to= names a local path to land on
// afterwards; anything that is not a same-origin relative path is ignored.
// ?provider= picks one of several providers (default: the first). The
// provider's own login parameters (Auth0's organization and invitation, …)
// are passed on.
func (a *Auth) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		a.fail(w, r, ErrMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	c := a.clients[0]
	if name := q.Get("provider"); name != "" {
		if c = a.byName[name]; c == nil {
			a.fail(w, r, ErrUnknownProvider)
			return
		}
	}
	returnTo, ok := sanitizeReturnTo(q.Get("return_to"))
	if !ok {
		returnTo = a.cfg.AfterLogin
	}
	extra := url.Values{}
	for _, k := range clientx.LoginParams.(func(*client.Client) []string)(c) {
		if v := q.Get(k); v != "" && len(v) <= 512 {
			extra.Set(k, v)
		}
	}
	a.startFlow(w, r, c, returnTo, extra)
}

// callback finishes a sign-in: state first (before any token request), then
// the provider's error if any, then the code exchange and a new session.
func (a *Auth) callback(w http.ResponseWriter, r *http.Request, c *client.Client) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		a.fail(w, r, ErrMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	w.Header().Set("Cache-Control", "no-store")
	a.emit(r.Context(), event.Event{Kind: event.CallbackReceived, Provider: c.Provider().Name(), Flow: event.Redact(q.Get("state")),
		Attrs: []slog.Attr{slog.String("code", event.Redact(q.Get("code"))), slog.String("state", event.Redact(q.Get("state"))),
			slog.String("error", truncate(q.Get("error"), 64))}})
	f, err := a.takeFlow(w, r, q.Get("state"), c)
	if e := q.Get("error"); e != "" {
		// Shown, never exchanged; an unknown state does not hide the
		// provider's reason but is still reported first.
		perr := &ProviderError{Code: netx.ProviderText(e), Description: netx.ProviderText(q.Get("error_description"))}
		if err != nil {
			a.fail(w, r, fmt.Errorf("%w (%w)", err, perr))
			return
		}
		a.fail(w, r, perr)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	code := q.Get("code")
	if code == "" {
		a.fail(w, r, ErrCodeMissing)
		return
	}
	res, err := c.Exchange(r.Context(), code, f.login())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	s := newSession(res, a.cfg.Now())
	if err := a.save(w, r, s, "sign-in"); err != nil {
		a.fail(w, r, fmt.Errorf("%w: %w", ErrSessionStore, err))
		return
	}
	if a.strict() {
		// The provider started this chain of redirects: a Strict cookie
		// would not come with a redirect to the return-to page.
		hopTo(w, f.ReturnTo)
		return
	}
	http.Redirect(w, r, f.ReturnTo, http.StatusFound)
}

// newSession builds the session for a completed sign-in, with a fresh ID.
func newSession(res *client.Result, now time.Time) *session.Session {
	t := res.Token
	var c struct {
		SID string `json:"sid"`
	}
	json.Unmarshal(res.User.Claims, &c)
	return &session.Session{
		ID:           newID(),
		Issuer:       res.Issuer,
		SID:          c.SID,
		AccessToken:  t.AccessToken,
		TokenType:    t.Type(),
		RefreshToken: t.RefreshToken,
		IDToken:      res.IDToken,
		Expiry:       t.Expiry,
		Issued:       now,
		Scope:        res.Scope,
		User:         res.User,
	}
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// logout ends the local session (denied from now on, so a copy of its
// cookie taken before is refused too), revokes the refresh token where the
// provider can, and sends the browser to the provider's end_session
// endpoint (or to AfterLogout when there is none). A cross-site request is
// refused: another site cannot sign the user out.
func (a *Auth) logout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost && !(a.cfg.AllowGETLogout && r.Method == http.MethodGet) {
		if a.cfg.AllowGETLogout {
			w.Header().Set("Allow", "GET, POST")
		} else {
			w.Header().Set("Allow", "POST")
		}
		a.fail(w, r, ErrMethodNotAllowed)
		return
	}
	if err := a.checkSameOrigin(r); err != nil {
		a.fail(w, r, err)
		return
	}
	s, err := a.cfg.Store.Load(r)
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		a.fail(w, r, fmt.Errorf("%w: %w", ErrSessionStore, err))
		return
	}
	if s != nil && a.shared == nil && a.cfg.DenyList != nil {
		// A cookie store cannot take the cookie back from copies: deny
		// the session itself for as long as any copy could be valid.
		if err := a.cfg.DenyList.Deny(r.Context(), session.IDKey(s.ID), a.cfg.Now(), a.denyTTL); err != nil {
			a.fail(w, r, fmt.Errorf("%w: %w", ErrSessionStore, err))
			return
		}
	}
	if err := a.cfg.Store.Delete(w, r); err != nil {
		a.fail(w, r, fmt.Errorf("%w: %w", ErrSessionStore, err))
		return
	}
	target := a.cfg.AfterLogout
	if c := a.sessionClient(s); c != nil {
		a.refresher.forget(s.ID)
		ctx := r.Context()
		start := time.Now()
		revokeErr := c.RevokeToken(ctx, &oauth2.Token{AccessToken: s.AccessToken, RefreshToken: s.RefreshToken})
		revokeTime := time.Since(start)
		revoked := revokeErr == nil
		if errors.Is(revokeErr, client.ErrNotSupported) || errors.Is(revokeErr, client.ErrNoToken) {
			revokeErr = nil // nothing to revoke, or no way to: not a failure
		}
		end, err := c.LogoutURL(ctx, s.IDToken, a.cfg.PostLogoutRedirectURL)
		if err == nil && end != "" {
			target = end
		}
		a.emit(ctx, event.Event{Kind: event.Logout, Provider: c.Provider().Name(), Session: sessionRef(s), Err: errors.Join(revokeErr, err),
			Duration: revokeTime, Attrs: []slog.Attr{slog.Bool("revoked", revoked),
				slog.String("revoked_token", revokedKind(s)), slog.Bool("end_session", end != ""),
				slog.String("end_session_url", hostPath(end)), slog.Bool("id_token_hint", end != "" && s.IDToken != "")}})
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// checkSameOrigin refuses a request that a page of another origin made the
// browser send: by Sec-Fetch-Site, or Origin against the app's origin (the
// standard library's CrossOriginProtection, which lets requests without
// either header through: they do not come from a browser). A GET (with
// AllowGETLogout) is refused when the browser says it is cross-site.
func (a *Auth) checkSameOrigin(r *http.Request) error {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return ErrCrossOrigin
	}
	if err := a.cop.Check(r); err != nil {
		return fmt.Errorf("%w: %w", ErrCrossOrigin, err)
	}
	return nil
}

func (a *Auth) sessionClient(s *session.Session) *client.Client {
	if s == nil {
		return nil
	}
	return a.clientFor(s)
}

// save stores s and reports it.
func (a *Auth) save(w http.ResponseWriter, r *http.Request, s *session.Session, why string) error {
	before := len(w.Header()["Set-Cookie"])
	err := a.cfg.Store.Save(w, r, s)
	if a.sink.Enabled() {
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

func revokedKind(s *session.Session) string {
	switch {
	case s.RefreshToken != "":
		return "refresh_token"
	case s.AccessToken != "":
		return "access_token"
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
