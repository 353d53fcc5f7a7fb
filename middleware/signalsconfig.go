package middleware

// SharedSignals configures the receiver of the sign-in provider's
// security events (Config.SharedSignals): the OpenID Shared Signals
// Framework 1.0 with CAEP 1.0 and RISC 1.0, Security Event Tokens (RFC
// 8417) pushed to the app (RFC 8935) or polled (RFC 8936).
//
// Auth.Ready finds the transmitter at the issuer's
// /.well-known/ssf-configuration (its issuer must be the provider's),
// and sets up the app's stream through its management API, called with
// the app's own access token (the client_credentials grant): a stream
// of this app with the same delivery is reused (updated when its events
// or authorization differ), else one is created; a stream is never
// deleted, since another instance may use it. Pushes arrive at
// Prefix+"ssf".
//
// Each event is verified (signed by the keys of the transmitter's
// jwks_uri, its issuer, the stream's aud or the ClientID, typ
// secevent+jwt, iat at most a day old) and acted on once across the
// instances that share the Store or the DenyList (a replay is
// acknowledged and ignored). Subjects that name a user: iss_sub (of the
// provider's issuer), opaque (the subject), email (matched
// case-insensitively, only where the user's email is verified), and
// complex subjects, whose session member ({"format":"opaque","id":SID},
// the ID token's sid) names one session, its user member matching too.
// A push is answered 202 once the event has taken effect.
type SharedSignals struct {
	// Poll receives the events by polling the transmitter (RFC 8936), in
	// the background from Ready until Close: for an app the transmitter
	// cannot reach.
	// Default: off (the transmitter pushes to Prefix+"ssf").
	Poll bool

	// PushToken is the secret the transmitter sends with each push, as
	// "Authorization: Bearer PushToken"; a push without it is answered
	// 401. Every instance must accept it.
	// Default: derived from the session keys (Config.Keys), the same on
	// every instance that shares them.
	PushToken string

	// Scopes are asked for with the app's token for the transmitter's
	// management API and poll endpoint.
	// Default: none.
	Scopes []string

	// Events says what each event type does; the stream asks for the
	// event types with an action. An entry here replaces the default
	// for its type; SignalIgnore leaves a type out. Unknown types are
	// acknowledged and ignored.
	// Default: CAEP session-revoked SignalEndSessions; CAEP
	// credential-change and RISC account-disabled, account-purged and
	// credential-compromise SignalEndUser; CAEP token-claims-change
	// SignalRefreshClaims; CAEP assurance-level-change SignalStepUp.
	Events map[string]SignalAction
}

// SignalAction is what a security event does (SharedSignals.Events).
type SignalAction int

const (
	signalDefault SignalAction = iota

	// SignalIgnore leaves the event type out of the stream.
	SignalIgnore

	// SignalEndSessions ends the sessions the event's subject names: the
	// one session of a complex subject with a session, else every
	// session of the user. (CAEP session-revoked.)
	SignalEndSessions

	// SignalEndUser ends every session of the subject's user, on every
	// instance, and their grants, as Auth.EndUserSessions does: their
	// refresh tokens are revoked. (A compromised or changed credential,
	// an account disabled or purged.)
	SignalEndUser

	// SignalRefreshClaims makes each session of the user renew its
	// claims from the provider at its next request (a refresh), and the
	// route's requirements decide on the new claims. A session that
	// cannot be refreshed ends.
	SignalRefreshClaims

	// SignalStepUp: when the event's current_level is not one of the
	// acr_values the client asks for, each session of the user that
	// was made before it signs in again at its next request to a
	// Require route, with those acr_values and prompt=login (an API
	// call gets 401). Without acr_values, nothing is done.
	SignalStepUp
)
