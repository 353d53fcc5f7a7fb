package event

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strconv"
	"time"
)

// Kind names a step.
type Kind string

// The steps, in the order a sign-in, an API call, a refresh and a sign-out
// take them.
const (
	LoginStarted        Kind = "login.started"         // App → Browser: redirect to the provider
	CallbackReceived    Kind = "callback.received"     // Browser → App: the provider's redirect back
	StateChecked        Kind = "state.checked"         // App: state matched a sign-in attempt
	CodeExchanged       Kind = "code.exchanged"        // App ⇄ Provider: back-channel token request
	IDTokenVerified     Kind = "id_token.verified"     // App: signature and claims checked
	UserinfoFetched     Kind = "userinfo.fetched"      // App ⇄ Provider: userinfo request
	SessionSaved        Kind = "session.saved"         // App → Browser: session cookie (or store write)
	NoRefreshToken      Kind = "refresh_token.missing" // Provider → App: offline_access asked, no refresh token (once per provider)
	RefreshStarted      Kind = "refresh.started"       // App → Provider: refresh_token grant
	RefreshDeduplicated Kind = "refresh.deduplicated"  // App: another request's refresh was used
	RefreshDone         Kind = "refresh.done"          // Provider → App: new tokens
	RefreshFailed       Kind = "refresh.failed"        // Provider → App: refresh refused or failed
	APIRequest          Kind = "api.request"           // App ⇄ API: a call with the bearer token
	BearerRetried       Kind = "bearer.retried"        // App: the API said 401; refreshed and retried
	Logout              Kind = "logout"                // App: local session ended, revocation, end_session
	BackchannelLogout   Kind = "backchannel.received"  // Provider → App: logout token
	SignalReceived      Kind = "signal.received"       // Provider → App: a security event (Shared Signals), acted on
	Rejected            Kind = "rejected"              // App → Browser: a request refused, with its reason
)

// Event is one step.
type Event struct {
	Kind     Kind
	Time     time.Time
	Provider string        // provider name, when known
	Session  string        // Redact of the session ID (correlates a user's steps)
	Flow     string        // Redact of the sign-in attempt's state (correlates a sign-in)
	Status   int           // HTTP status, for requests
	Duration time.Duration // for requests
	Err      error         // for failures: test it with errors.Is; never holds secrets
	Attrs    []slog.Attr   // details: names, counts, lengths, hash prefixes
}

// Hook receives every event. It runs on the request's goroutine: keep it
// fast and do not block.
type Hook func(context.Context, Event)

// Level is how loud e is: Warn for rejections, failed refreshes and a
// refresh token that did not come, Info
// for sign-in, sign-out, back-channel logout and security events, Debug
// for per-request detail.
func (e Event) Level() slog.Level {
	switch e.Kind {
	case Rejected, RefreshFailed, NoRefreshToken:
		return slog.LevelWarn
	case LoginStarted, SessionSaved, Logout, BackchannelLogout, SignalReceived:
		if e.Kind == SessionSaved {
			return slog.LevelDebug
		}
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// Redact returns what may be shown of a secret value: its length and the
// first 8 hex digits of its SHA-256, enough to tell two values apart and
// nothing about either. Empty stays empty.
func Redact(v string) string {
	if v == "" {
		return ""
	}
	h := sha256.Sum256([]byte(v))
	return "sha256:" + hex.EncodeToString(h[:4]) + "/" + strconv.Itoa(len(v))
}
