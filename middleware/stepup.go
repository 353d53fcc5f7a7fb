package middleware

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/sessions"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/cookies"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/session"
)

// stepUp answers a request whose session does not meet need: a browser
// signs in again with need's parameters and comes back to the page; an API
// call gets 401 with an RFC 9470 challenge.
func (a *Auth) stepUp(w http.ResponseWriter, r *http.Request, c *client.Client, need Requirement, why error) {
	a.emit(r.Context(), event.Event{Kind: event.Rejected, Status: http.StatusUnauthorized, Err: why,
		Attrs: []slog.Attr{slog.String("path", sentPath(r)), slog.String("step_up", need.params().Encode())}})
	if c != nil && isNavigation(r) {
		a.startFlow(w, r, c, a.returnTo(r.URL.RequestURI()), need.params())
		return
	}
	challenge := `Bearer error="insufficient_user_authentication", error_description="a stronger or more recent authentication is required"`
	if len(need.acr) > 0 {
		challenge += `, acr_values="` + strings.Join(need.acr, " ") + `"`
	}
	if need.maxAge > 0 {
		challenge += `, max_age=` + strconv.Itoa(int(need.maxAge/time.Second))
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("WWW-Authenticate", challenge)
	h.Set(StepHeader, "insufficient_user_authentication")
	w.WriteHeader(http.StatusUnauthorized)
	q := need.params()
	q.Set("return_to", "/")
	json.NewEncoder(w).Encode(map[string]string{
		"error":             "insufficient_user_authentication",
		"error_description": "a stronger or more recent authentication is required",
		"login_url":         a.LoginPath() + "?" + q.Encode(),
	})
}

// StepUpError is the error of a bearer client call (Auth.HTTPClient) that
// the API refused for insufficient user authentication (RFC 9470: 401 with
// WWW-Authenticate: Bearer error="insufficient_user_authentication"). Pass
// it to Auth.StepUp.
type StepUpError struct {
	ACRValues []string      // the API's acr_values, if it named them
	MaxAge    time.Duration // the API's max_age, if it named one
}

func (e *StepUpError) Error() string {
	return fmt.Sprintf("middleware: the API asks for a stronger or more recent authentication (acr_values %q, max_age %s)", strings.Join(e.ACRValues, " "), e.MaxAge)
}

// Is makes errors.Is(err, client.ErrInsufficientAuthentication) true.
func (e *StepUpError) Is(target error) bool {
	return fail.InsufficientAuthentication.Within(target)
}

// StepUp answers a request whose API call failed with a *StepUpError,
// ErrNotConnected, or an API's insufficient_scope.
//
// ErrNotConnected (a connected API the user has not connected, or whose
// grant was revoked): a browser's navigation is sent to connect the API
// (Prefix+"connect?api=NAME") and comes back to the page; any other
// request gets 401 JSON {"error":"not_connected","api":NAME,"login_url":URL},
// URL being where a page sends the browser to connect.
//
// A *StepUpError: the
// browser signs in again with what the API asked for (a challenge that
// names neither acr_values nor max_age asks for a new authentication,
// max_age=0) and comes back to the page; an API call of the app's own gets
// 401 with the same challenge. A session made by a step-up sign-in that
// started less than a minute ago goes to the ErrorHandler instead (401,
// the *StepUpError in the chain): the API refused what the provider just
// gave, and another round would loop.
//
// An API's insufficient_scope (an HTTPClient call answered 403 with
// WWW-Authenticate: Bearer error="insufficient_scope", scope="…"): the
// browser signs in again asking for the scopes the client does not ask
// for yet, besides its own, and comes back; an API call of the app's own
// gets 403 JSON {"error":"insufficient_scope","scope","login_url"}. Right
// after such a sign-in, when the client asks for every scope named
// already, or when the API's own token is asked with its API.Scopes
// (which a sign-in does not change: add the scope there), it goes to the
// ErrorHandler (403). It reports false, and does
// nothing, for any other error.
func (a *Auth) StepUp(w http.ResponseWriter, r *http.Request, err error) bool {
	var nc *notConnectedError
	if errors.As(err, &nc) {
		a.startConnect(w, r, nc)
		return true
	}
	var sc *scopeError
	if errors.As(err, &sc) {
		a.scopeStepUp(w, r, sc)
		return true
	}
	var se *StepUpError
	if !errors.As(err, &se) {
		return false
	}
	var c *client.Client
	if st, ok := r.Context().Value(ctxKey{}).(*reqSession); ok && st.sess != nil {
		c = a.clientFor(st.sess)
		if a.steppedUp(r, st.sess, markKey(Requirement{acr: se.ACRValues, maxAge: se.MaxAge}.params())) {
			// This session comes from a step-up moments ago, and the API
			// still asks for more: another one would loop through the
			// provider.
			a.fail(w, r, fmt.Errorf("%w: the API still refuses right after a step-up", se))
			return true
		}
	}
	if c != nil && isNavigation(r) {
		a.setStepUpMark(w, markKey(Requirement{acr: se.ACRValues, maxAge: se.MaxAge}.params()))
	}
	a.stepUp(w, r, c, Requirement{acr: se.ACRValues, maxAge: se.MaxAge}, se)
	return true
}

// stepUpGuard bounds Auth.StepUp: within it after a step-up sign-in
// started, a session made by that sign-in is not sent to sign in again.
const stepUpGuard = time.Minute

// stepUpMark is the cookie that holds when Auth.StepUp (or Proxy) last
// sent the browser to sign in (Unix milliseconds) and for what (markKey).
// A page can only loop itself by removing it.
const stepUpMark = "confidant_stepup"

func (a *Auth) stepUpName() string {
	return cookies.Name(stepUpMark, a.cookies.Secure, &sessions.Options{Path: "/"})
}

// markKey names a step-up's sign-in parameters in the mark.
func markKey(q url.Values) string {
	h := sha256.Sum256([]byte(q.Encode()))
	return hex.EncodeToString(h[:6])
}

func (a *Auth) setStepUpMark(w http.ResponseWriter, key string) {
	cookies.Write(w, a.stepUpName(), strconv.FormatInt(a.cfg.Now().UnixMilli(), 10)+"."+key,
		&sessions.Options{Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}, a.cookies.Secure, int(stepUpGuard/time.Second), a.cfg.Now())
}

// steppedUp reports whether s was signed in by a step-up for the same
// parameters (key) that started less than stepUpGuard ago.
func (a *Auth) steppedUp(r *http.Request, s *session.Session, key string) bool {
	c, err := r.Cookie(a.stepUpName())
	if err != nil {
		return false
	}
	return a.steppedUpBy(c.Value, s, key)
}

// steppedUpBy is steppedUp with the mark cookie's value.
func (a *Auth) steppedUpBy(mark string, s *session.Session, key string) bool {
	stamp, k, _ := strings.Cut(mark, ".")
	if k != key {
		return false
	}
	ms, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return false
	}
	at := time.UnixMilli(ms)
	return !s.CreatedAt.Before(at) && a.cfg.Now().Sub(at) < stepUpGuard
}

// stepUpChallenge reads an RFC 9470 challenge from an API's 401, or nil.
func stepUpChallenge(resp *http.Response) *StepUpError {
	if resp.StatusCode != http.StatusUnauthorized {
		return nil
	}
	for _, h := range resp.Header.Values("WWW-Authenticate") {
		scheme, rest, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "DPoP") {
			continue
		}
		params := authParams(rest)
		if params["error"] != "insufficient_user_authentication" {
			continue
		}
		e := &StepUpError{ACRValues: challengeTokens(params["acr_values"])}
		if n, err := strconv.Atoi(params["max_age"]); err == nil && n >= 0 {
			e.MaxAge = time.Duration(n) * time.Second
		}
		return e
	}
	return nil
}

// challengeTokens are the space-separated values of a challenge's
// acr_values or scope that the app may repeat in its own answers: at most
// 16, each at most 128 bytes of RFC 6749's scope-token characters
// (printable ASCII but space, " and \), so that an API cannot add a
// parameter to the app's WWW-Authenticate nor make its answers or its
// sign-in's URL grow without bound. Others are dropped.
func challengeTokens(v string) []string {
	var out []string
	for _, t := range strings.Fields(v) {
		if len(out) == 16 {
			break
		}
		if len(t) > 128 || slices.Contains(out, t) || strings.ContainsFunc(t, func(r rune) bool { return r < 0x21 || r > 0x7e || r == '"' || r == '\\' }) {
			continue
		}
		out = append(out, t)
	}
	return out
}

// authParams parses the auth-params of a challenge (netx.AuthParams).
func authParams(s string) map[string]string { return netx.AuthParams(s) }

// startConnect answers a request whose call found api not connected: a
// navigation goes to the connect flow and comes back here; an API call of
// the app's own gets 401 JSON with the URL a page sends the browser to.
func (a *Auth) startConnect(w http.ResponseWriter, r *http.Request, nc *notConnectedError) {
	a.emit(r.Context(), event.Event{Kind: event.Rejected, Status: http.StatusUnauthorized, Err: nc,
		Attrs: []slog.Attr{slog.String("path", sentPath(r)), slog.String("api", nc.api)}})
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if isNavigation(r) {
		http.Redirect(w, r, a.connectPath(nc.api, a.returnTo(r.URL.RequestURI())), http.StatusFound)
		return
	}
	a.notConnectedJSON(w, r, nc, a.returnTo(r.URL.RequestURI()))
}

// notConnectedJSON is the 401 of a call that found nc's API not
// connected, with where to connect it, coming back to returnTo.
func (a *Auth) notConnectedJSON(w http.ResponseWriter, r *http.Request, nc *notConnectedError, returnTo string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set(StepHeader, "not_connected")
	w.WriteHeader(http.StatusUnauthorized)
	json.NewEncoder(w).Encode(map[string]string{
		"error":             "not_connected",
		"error_description": nc.Error(),
		"api":               nc.api,
		"login_url":         a.connectPath(nc.api, returnTo),
	})
}
