package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/sesskeys"
	"github.com/confidant-go/confidant/session"
)

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
		if err := a.cfg.DenyList.Deny(r.Context(), sesskeys.ID(s.ID), denyAll, a.denyTTL); err != nil {
			a.fail(w, r, fmt.Errorf("%w: %w", ErrSessionStore, err))
			return
		}
	}
	if err := a.cfg.Store.Delete(w, r); err != nil {
		a.fail(w, r, fmt.Errorf("%w: %w", ErrSessionStore, err))
		return
	}
	if a.cfg.SilentSignIn {
		a.setSilentMark(w) // not signed in again without asking
	}
	target := a.cfg.AfterLogout
	if c := a.sessionClient(s); c != nil {
		a.refresher.forget(s.ID)
		ctx := r.Context()
		start := time.Now()
		revokeErr := c.Revoke(ctx, &oauth2.Token{AccessToken: s.AccessToken, RefreshToken: s.RefreshToken})
		for _, rt := range apiRefreshTokens(s) {
			// Grants of the APIs' own (token exchange): every refresh
			// token the session holds ends with it.
			if err := c.Revoke(ctx, &oauth2.Token{RefreshToken: rt}); err != nil && !errors.Is(err, client.ErrNotSupported) {
				revokeErr = errors.Join(revokeErr, err)
			}
		}
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
