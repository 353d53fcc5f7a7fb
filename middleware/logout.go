package middleware

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/internal/sesskeys"
	"github.com/confidant-go/confidant/session"
)

// logout ends the local session (denied from now on, so a copy of its
// cookie taken before is refused too), revokes the refresh token where the
// provider can, and sends the browser to the provider's end_session
// endpoint (or to AfterLogout when there is none). A cross-site request is
// refused: another site cannot sign the user out.
//
// A GET is a sign-out only with AllowGETLogout, or when it carries the
// session's sign-out token (?sid=, SessionInfo's logout_url), which a page
// of another site cannot know: a single-page app navigates there, so that
// the provider's session ends too (a fetch cannot follow the redirect to
// the provider).
func (a *Auth) logout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	byToken := r.Method == http.MethodGet && !a.cfg.AllowGETLogout && r.URL.Query().Has(logoutTokenParam)
	if r.Method != http.MethodPost && !(a.cfg.AllowGETLogout && r.Method == http.MethodGet) && !byToken {
		if a.cfg.AllowGETLogout {
			w.Header().Set("Allow", "GET, POST")
		} else {
			w.Header().Set("Allow", "POST")
		}
		a.fail(w, r, fail.MethodNotAllowed)
		return
	}
	if err := a.checkSameOrigin(r); err != nil {
		a.fail(w, r, err)
		return
	}
	s, err := a.cfg.Store.Load(r)
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		a.fail(w, r, fmt.Errorf("%w: %w", fail.SessionStore, err))
		return
	}
	if byToken && s != nil && subtle.ConstantTimeCompare([]byte(r.URL.Query().Get(logoutTokenParam)), []byte(logoutToken(s))) != 1 {
		// Not this session's token: a link made for another session (or
		// guessed) changes nothing.
		a.fail(w, r, fmt.Errorf("%w: the sign-out link is not this session's", fail.CrossOrigin))
		return
	}
	var kept *session.Session
	if s != nil && a.family != nil {
		// The sign-in grant kept of this session ends with it, under the
		// session's lock (a background refresh in flight finishes first),
		// and is revoked with its newest tokens (a background job may have
		// rotated the cookie's).
		ctx, cancel := context.WithTimeout(r.Context(), a.cfg.RefreshTimeout+5*time.Second)
		err := a.refresher.underLock(ctx, s.ID, func() error {
			var err error
			kept, err = a.family.dropOf(ctx, s)
			return err
		})
		cancel()
		if err != nil {
			a.fail(w, r, fmt.Errorf("%w: %w", fail.SessionStore, err))
			return
		}
	}
	if s != nil && a.shared == nil && a.cfg.DenyList != nil {
		// A cookie store cannot take the cookie back from copies: deny
		// the session itself for as long as any copy could be valid.
		if err := a.cfg.DenyList.Deny(r.Context(), sesskeys.ID(s.ID), denyAll, a.denyTTL); err != nil {
			if kept != nil {
				a.revokeKept(r.Context(), kept, "sign-out") // its record is gone: its tokens must not stay live
			}
			a.fail(w, r, fmt.Errorf("%w: %w", fail.SessionStore, err))
			return
		}
	}
	if err := a.cfg.Store.Delete(w, r); err != nil {
		a.fail(w, r, fmt.Errorf("%w: %w", fail.SessionStore, err))
		return
	}
	if s != nil {
		a.unrecord(r.Context(), s) // tidying: the entry of an ended session is not listed anyway
	}
	if a.cfg.SilentSignIn {
		a.setSilentMark(w) // not signed in again without asking
	}
	target := a.cfg.AfterLogout
	if c := a.sessionClient(s); c != nil {
		a.refresher.forget(s.ID)
		var keptRTs []string
		if kept != nil {
			keptRTs = append([]string{kept.RefreshToken}, apiRefreshTokens(kept)...)
		}
		ctx := r.Context()
		start := time.Now()
		revokeErr := c.Revoke(ctx, &oauth2.Token{AccessToken: s.AccessToken, RefreshToken: s.RefreshToken})
		rts := append(apiRefreshTokens(s), keptRTs...)
		slices.Sort(rts)
		for _, rt := range slices.Compact(rts) {
			if rt == s.RefreshToken || rt == "" {
				continue
			}
			// Grants of the APIs' own (token exchange): every refresh
			// token the session holds ends with it.
			if err := c.Revoke(ctx, &oauth2.Token{RefreshToken: rt}); err != nil && !errors.Is(err, fail.NotSupported) {
				revokeErr = errors.Join(revokeErr, err)
			}
		}
		revokeTime := time.Since(start)
		revoked := revokeErr == nil
		if errors.Is(revokeErr, fail.NotSupported) || errors.Is(revokeErr, fail.NoToken) {
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

// logoutTokenParam is the query parameter of a sign-out by GET.
const logoutTokenParam = "sid"

// logoutToken is s's sign-out token: derived from the session's secret ID,
// so only a page that may read the session endpoint (the app's own) learns
// it, and a new session has a new one.
func logoutToken(s *session.Session) string {
	h := sha256.Sum256([]byte("confidant/logout\x00" + s.ID))
	return base64.RawURLEncoding.EncodeToString(h[:18])
}

// logoutURL is the sign-out URL a script can navigate to for s.
func (a *Auth) logoutURL(s *session.Session) string {
	return a.LogoutPath() + "?" + logoutTokenParam + "=" + logoutToken(s)
}

// checkSameOrigin refuses a request that a page of another origin made the
// browser send: by Sec-Fetch-Site (same-origin or none, or absent), then
// Origin against the Host and Config.TrustedOrigins (the standard library's
// CrossOriginProtection, which checks unsafe methods and lets requests
// without either header through: they do not come from a browser). It is
// the one origin check of every endpoint (sign-out, Proxy, SessionInfo);
// its error names the check that failed and what the browser sent.
func (a *Auth) checkSameOrigin(r *http.Request) error {
	switch sfs := r.Header.Get("Sec-Fetch-Site"); sfs {
	case "", "same-origin", "none":
	default:
		return fmt.Errorf("%w: the browser says the request is %s (Sec-Fetch-Site), from Origin %q", fail.CrossOrigin, netx.ProviderText(sfs), netx.ProviderText(r.Header.Get("Origin")))
	}
	if err := a.cop.Check(r); err != nil {
		return fmt.Errorf("%w: Origin %q is neither the Host %q nor a trusted origin (Config.TrustedOrigins; a dev server that rewrites Host belongs there)",
			fail.CrossOrigin, netx.ProviderText(r.Header.Get("Origin")), netx.ProviderText(r.Host))
	}
	return nil
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

// apiRefreshTokens are the refresh tokens of s's API tokens that are not
// the sign-in's, each once.
func apiRefreshTokens(s *session.Session) []string {
	var rts []string
	for _, t := range s.APITokens {
		if t.RefreshToken != "" && t.RefreshToken != s.RefreshToken && !slices.Contains(rts, t.RefreshToken) {
			rts = append(rts, t.RefreshToken)
		}
	}
	return rts
}
