package middleware

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/dpop"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/session"
)

// callback finishes a sign-in: state first (before any token request), the
// response's iss (RFC 9207), then the provider's error if any, then the code
// exchange and a new session.
func (a *Auth) callback(w http.ResponseWriter, r *http.Request, c *client.Client) {
	q, ok := a.callbackParams(w, r, c)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	// A JWT response (JARM) is verified before anything in it is used,
	// the state first among them.
	p := plumbingOf(c)
	q, err := p.AuthorizationResponse(r.Context(), q)
	if err != nil {
		if errors.Is(err, fail.ResponseJWT) {
			err = fmt.Errorf("%w: %w", fail.BadCallback, err)
		}
		a.fail(w, r, err)
		return
	}
	for _, k := range []string{"state", "code", "iss", "error"} {
		if n := len(q[k]); n > 1 {
			// Which of several values a component reads is what parameter
			// pollution plays on: one each, as client.Callback asks.
			a.fail(w, r, fmt.Errorf("%w: %d %s parameters", fail.BadCallback, n, k))
			return
		}
	}
	a.emit(r.Context(), event.Event{Kind: event.CallbackReceived, Provider: c.Provider().Name(), Flow: event.Redact(q.Get("state")),
		Attrs: []slog.Attr{slog.String("code", event.Redact(q.Get("code"))), slog.String("state", event.Redact(q.Get("state"))),
			slog.String("error", netx.ProviderText(q.Get("error")))}})
	f, err := a.takeFlow(w, r, q.Get("state"), c, "")
	if err == nil {
		// RFC 9207, on error responses too: a response that another
		// provider produced is neither shown as this one's nor redeemed.
		err = p.CheckResponseIssuer(r.Context(), q)
	}
	if e := q.Get("error"); e != "" && err == nil && f.Silent && silentRefusal[e] {
		// The user is not signed in at the provider, or must interact:
		// back to the page, not signed in.
		http.Redirect(w, r, f.ReturnTo, http.StatusFound)
		return
	}
	if err != nil {
		// An unknown state or another issuer's response: what it says is
		// nobody's to show (anyone can make such a link, with any error
		// text); the callback.received event logged its error code.
		a.fail(w, r, err)
		return
	}
	if e := q.Get("error"); e != "" {
		// Shown, never exchanged.
		a.fail(w, r, &ProviderError{Code: netx.ProviderText(e), Description: netx.ProviderText(q.Get("error_description"))})
		return
	}
	code := q.Get("code")
	if code == "" {
		a.fail(w, r, fail.CodeMissing)
		return
	}
	var formUser string
	if r.Method == http.MethodPost {
		formUser = q.Get("user") // Apple's name of a first sign-in, which only the Apple preset reads
	}
	res, err := p.Exchange(r.Context(), code, f.login(), formUser)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	s := newSession(res, a.cfg.Now())
	if a.cfg.OnSignIn != nil {
		in := &SignedIn{User: res.User, Token: res.Token, IDToken: res.IDToken, Values: map[string]string{}}
		if err := a.cfg.OnSignIn(r.Context(), in); err != nil {
			a.discard(r.Context(), c, res.Token)
			a.fail(w, r, fmt.Errorf("%w: %w", fail.SignInRefused, err))
			return
		}
		if len(in.Values) > 0 {
			s.Values = maps.Clone(in.Values)
		}
	}
	if err := a.save(w, r, s, "sign-in"); err != nil {
		a.discard(r.Context(), c, res.Token)
		a.fail(w, r, fmt.Errorf("%w: %w", fail.SessionStore, err))
		return
	}
	a.keepSignIn(r.Context(), s)
	if err := a.record(r.Context(), s, device(r.UserAgent()), true); err != nil {
		// Signed in all the same: the list of sessions misses this one.
		a.emit(r.Context(), event.Event{Kind: event.Rejected, Provider: s.Provider, Session: sessionRef(s),
			Err: fmt.Errorf("%w: the session list: %w", fail.SessionStore, err)})
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
		Scope:        grantedScope(res.Token),
		User:         res.User,
		ClaimsAt:     now,
		DPoPKey:      dpopKeyOf(res),
	}
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// silentRefusal are the errors with which a provider answers prompt=none
// when the user would have to do something (OpenID Connect Core 3.1.2.6).
var silentRefusal = map[string]bool{"login_required": true, "consent_required": true,
	"interaction_required": true, "account_selection_required": true}

// dpopKeyOf is the sign-in's DPoP key as the session keeps it (sealed).
func dpopKeyOf(res *client.Result) []byte {
	if res.DPoPKey == nil {
		return nil
	}
	return dpop.Marshal(res.DPoPKey)
}

// discard revokes the tokens of a sign-in refused after the provider
// issued them (OnSignIn said no, the session could not be saved), best
// effort: no session holds them, so they must not stay live.
func (a *Auth) discard(ctx context.Context, c *client.Client, tok *oauth2.Token) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := c.Revoke(ctx, tok)
	a.emit(ctx, event.Event{Kind: event.Logout, Provider: c.Provider().Name(), Err: err,
		Attrs: []slog.Attr{slog.String("why", "sign-in refused"), slog.Bool("revoked", err == nil)}})
}
