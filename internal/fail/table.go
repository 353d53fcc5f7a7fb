package fail

// The families: each public package exports its own (confidant.ErrConfig
// and ErrClaims, client's, session's, middleware's), as the same values.
var (
	// Config: a configuration mistake of any package; retrying never helps.
	Config = family("confidant: invalid configuration")
	// Claims: the user's claims do not decode into the caller's value.
	Claims = family("confidant: claims do not decode")

	ProviderUnavailable        = family("client: provider unavailable")
	ProviderRefused            = family("client: the provider refused the request")
	InvalidIDToken             = family("client: invalid id_token")
	InvalidResponse            = family("client: invalid provider response")
	InsufficientAuthentication = family("client: the sign-in does not meet the requested authentication")
	NoUsableToken              = family("client: no usable token")

	NoSession          = family("session: no session")
	TooLarge           = family("session: session too large")
	Conflict           = family("session: concurrent update")
	SessionUnavailable = family("session: store unavailable")

	NotSignedIn   = family("middleware: not signed in")
	BadRequest    = family("middleware: bad request")
	ProviderError = family("middleware: provider returned an error")
	Refused       = family("middleware: request refused")
	Unavailable   = family("middleware: temporarily unavailable")
	NotConnected  = family("middleware: API not connected")
)

// The children, under their families.
var (
	ClientConfig     = child(Config, "client: invalid configuration")
	NotSupported     = child(Config, "client: not supported by provider")
	SessionConfig    = child(Config, "session: invalid configuration")
	SealedUnbound    = sub(SessionConfig, "the session cookie was sealed before middleware.New bound the store to the app (confidanttest.SignedIn called before middleware.New?): no app accepts it; create the Auth first")
	MiddlewareConfig = child(Config, "middleware: invalid configuration")

	TokenRequest   = child(ProviderRefused, "client: token request refused")
	RefreshRevoked = child(ProviderRefused, "client: refresh token revoked or expired")
	PushedRequest  = child(ProviderRefused, "client: pushed authorization request refused")

	NonceMismatch   = sub(InvalidIDToken, "nonce mismatch")
	AccessTokenHash = sub(InvalidIDToken, "at_hash mismatch")
	IdentityChanged = sub(InvalidIDToken, "a refreshed one names another identity")
	HostedDomain    = sub(InvalidIDToken, "hosted domain mismatch")

	NoIDToken          = child(InvalidResponse, "client: no id_token in token response")
	UserInfo           = child(InvalidResponse, "client: invalid userinfo response")
	ResponseIssuer     = child(InvalidResponse, "client: authorization response from another issuer")
	ResponseJWT        = child(InvalidResponse, "client: the authorization response JWT is not valid")
	Discovery          = child(InvalidResponse, "client: discovery failed")
	ResponseTooLarge   = child(InvalidResponse, "client: provider response too large")
	InvalidLogoutToken = child(InvalidResponse, "client: invalid logout token")
	CallbackRefused    = child(InvalidResponse, "client: the callback does not finish this sign-in")

	// An API's own metadata (RFC 9728), refused.
	ResourceMismatch   = child(InvalidResponse, "client: the API's metadata names another resource")
	MetadataURLRefused = child(InvalidResponse, "client: the API's metadata URL is refused")
	MetadataTooLarge   = child(InvalidResponse, "client: the API's metadata is too large")
	MetadataTimeout    = child(InvalidResponse, "client: the API's metadata did not arrive in time")
	UntrustedServer    = child(InvalidResponse, "client: the API names no authorization server the app trusts")
	APIRefusedToken    = child(InvalidResponse, "middleware: the API refused the token obtained for it")

	// A Security Event Token (RFC 8417) refused, with RFC 8935's err.
	SETInvalidRequest  = child(BadRequest, "ssf: invalid security event token")
	SETInvalidKey      = child(BadRequest, "ssf: security event token not signed by the transmitter's keys")
	SETInvalidIssuer   = child(BadRequest, "ssf: security event token from another issuer")
	SETInvalidAudience = child(BadRequest, "ssf: security event token for another audience")

	NoToken        = child(NoUsableToken, "client: no access token")
	TokenExpired   = child(NoUsableToken, "client: access token expired")
	NoRefreshToken = child(NoUsableToken, "client: no refresh token")

	InvalidSession = child(NoSession, "session: invalid session cookie")
	LockLost       = child(SessionUnavailable, "session: refresh lock lost") // another instance may hold the lock now

	SessionExpired = sub(NotSignedIn, "access token expired and cannot be refreshed")
	SessionEnded   = sub(NotSignedIn, "session ended")

	BadCallback       = child(BadRequest, "middleware: bad callback")
	StateMissing      = sub(BadCallback, "no state")
	StateMismatch     = sub(BadCallback, "unknown or reused state")
	FlowCookieMissing = sub(StateMismatch, "the browser sent no sign-in cookie with the callback; was the sign-in started on another host than the RedirectURL's (127.0.0.1 and localhost are different hosts to a browser)?")
	StateExpired      = sub(BadCallback, "sign-in attempt expired")
	CodeMissing       = sub(BadCallback, "no code")
	MethodNotAllowed  = child(BadRequest, "middleware: method not allowed")
	UnknownProvider   = child(BadRequest, "middleware: unknown provider")
	UnknownAPI        = child(BadRequest, "middleware: unknown API")

	Forbidden           = child(Refused, "middleware: not allowed")
	DistributedClaim    = sub(Forbidden, "the claim is held elsewhere (a distributed claim)")
	SignInRefused       = child(Refused, "middleware: sign-in refused")
	CrossOrigin         = child(Refused, "middleware: cross-origin request refused")
	AntiForgery         = child(Refused, "middleware: cross-site or without the anti-forgery header")
	APINotAllowed       = child(Refused, "middleware: URL is not a configured API; the token was not sent")
	CrossOriginRedirect = child(Refused, "middleware: API redirected to another origin; not followed")

	SessionStore       = child(Unavailable, "middleware: session store failure")
	RefreshUnavailable = child(Unavailable, "middleware: token refresh unavailable")
)

// The plumbing's own: errors that are always wrapped in a classified one
// before they leave the SDK, or never leave it.
var (
	Corrupt           = family("session: corrupt encoding")
	UnknownKey        = family("client: token signed with a key not in the provider's JWKS")
	UserInfoSubject   = family("userinfo sub differs from the id_token's")
	ProxySessionEnded = family("middleware: the session ended")
	CookiesBound      = family("the store is already bound to an origin with other cookie security; use one store per origin")
	OtherApp          = family("the store is already bound to another app; use one store per app")
	SealInvalid       = family("seal: invalid or tampered value")
)

const (
	unavailableTitle = "Service unavailable"
	configTitle      = "Sign-in is not set up"
	configMessage    = "This app's sign-in is not set up correctly; its log says how to fix it."
	storeMessage     = "Sessions cannot be stored right now. Please try again shortly."
	providerDown     = "The identity provider could not be reached. Please try again shortly."
	stateMessage     = "This sign-in link is not valid for this browser or was already used."
	refusedTitle     = "Request refused"
	refusedMessage   = "Another site asked your browser to do this; nothing was changed."
	notAllowed       = "Not allowed"
)

// Table classifies every error above, most specific first: an error that
// matches several rows (one error wrapping another) gets the first. The
// order is the metrics package's since 2026-12, so that every error keeps
// the reason code dashboards know it by; the rows added after it (the
// families, the plumbing's) come last.
var Table = []Row{
	{FlowCookieMissing, "flow_cookie_missing", 400, "", "Your browser did not send back the sign-in cookie. Open the app at the address it is configured for (not another name for the same machine, such as 127.0.0.1 for localhost) and sign in again."},
	{StateExpired, "state_expired", 400, "", "The sign-in took too long and expired."},
	{StateMissing, "state_missing", 400, "", stateMessage},
	{StateMismatch, "state_mismatch", 400, "", stateMessage},
	{CodeMissing, "code_missing", 400, "", "The identity provider sent no authorization code."},
	{ResponseIssuer, "response_issuer", 400, "", ""}, // before ProviderError: not this provider's answer
	{ProviderError, "provider_error", 0, "", ""},     // middleware.ProviderError's code decides
	{SignInRefused, "signin_refused", 403, "Sign-in refused", "This app does not accept this account."},
	{DistributedClaim, "distributed_claim", 403, notAllowed, "Your account belongs to more groups than the sign-in can list, so this app cannot tell whether you may open this page."},
	{Forbidden, "forbidden", 403, notAllowed, "You are signed in, but your account may not open this page."},
	{CrossOrigin, "cross_origin", 403, refusedTitle, refusedMessage},
	{MethodNotAllowed, "method_not_allowed", 405, "Method not allowed", "This endpoint does not accept that request method."},
	{SessionExpired, "session_expired", 401, "", ""},
	{SessionEnded, "session_ended", 401, "", ""},
	{RefreshUnavailable, "refresh_unavailable", 503, unavailableTitle, "Your session could not be renewed because the identity provider is unreachable. Please try again shortly."},
	{TooLarge, "session_too_large", 500, "", "Your session is too large to be kept by this app. This is a problem with the app's configuration; retrying will not help."},
	{SessionStore, "session_store", 503, unavailableTitle, storeMessage},
	{MiddlewareConfig, "config", 500, configTitle, configMessage},
	{InsufficientAuthentication, "step_up", 401, "", ""},
	{NotConnected, "not_connected", 401, "Not connected", "This page needs an account you have not connected to this app, or whose connection ended. Connect it and try again."},
	{NotSignedIn, "not_signed_in", 401, "", ""},
	{NonceMismatch, "invalid_id_token", 401, "", ""},
	{AccessTokenHash, "invalid_id_token", 401, "", ""},
	{IdentityChanged, "invalid_id_token", 401, "", ""},
	{HostedDomain, "invalid_id_token", 401, "", ""},
	{InvalidIDToken, "invalid_id_token", 401, "", ""},
	// Before TokenRequest: a refused pushed request has a *TokenError in
	// its chain, and is the provider failing a sign-in that has not
	// started (502, as StatusCode gave it), not a refused code.
	{PushedRequest, "pushed_request", 502, "", ""},
	// Before TokenRequest too: a revoked refresh token comes with its
	// *TokenError (invalid_grant), which matches TokenRequest.
	{RefreshRevoked, "refresh_revoked", 400, "", ""},
	{TokenRequest, "token_request", 400, "", "The identity provider refused to complete the sign-in."},
	{UserInfo, "userinfo", 401, "", ""},
	{ProviderUnavailable, "provider_unavailable", 502, "", providerDown},
	{Discovery, "discovery", 502, "", providerDown},
	// Below, the sentinels that were "other" until 2026-12: after every
	// code above, so that an error that wraps one of those keeps its code.
	{ResponseJWT, "response_jwt", 400, "", ""},
	{BadCallback, "bad_callback", 400, "", ""},
	{CallbackRefused, "bad_callback", 400, "", ""}, // client.Callback's: no state, another state, or no code
	{ResourceMismatch, "resource_mismatch", 502, "", ""},
	{MetadataURLRefused, "metadata_url_refused", 502, "", ""},
	{MetadataTooLarge, "metadata_too_large", 502, "", ""},
	{MetadataTimeout, "metadata_timeout", 504, "", ""},
	{UntrustedServer, "untrusted_authorization_server", 502, "", ""},
	{APIRefusedToken, "api_refused_token", 502, "", ""},
	{SETInvalidRequest, "set_invalid_request", 400, "", ""},
	{SETInvalidKey, "set_invalid_key", 400, "", ""},
	{SETInvalidIssuer, "set_invalid_issuer", 400, "", ""},
	{SETInvalidAudience, "set_invalid_audience", 400, "", ""},
	{AntiForgery, "anti_forgery", 403, refusedTitle, refusedMessage},
	{APINotAllowed, "api_not_allowed", 403, "", ""},
	{CrossOriginRedirect, "cross_origin_redirect", 403, "", ""},
	{UnknownProvider, "unknown_provider", 400, "", ""},
	{UnknownAPI, "unknown_api", 400, "Unknown API", "This link names no API that this app connects."},
	{NoRefreshToken, "refresh_token_missing", 400, "", ""},
	{NoIDToken, "id_token_missing", 401, "", ""},
	{TokenExpired, "token_expired", 400, "", ""},
	{NoToken, "token_missing", 400, "", ""},
	{InvalidLogoutToken, "invalid_logout_token", 400, "", ""},
	{NotSupported, "not_supported", 500, "", ""},
	{ResponseTooLarge, "response_too_large", 502, "", ""},
	{ClientConfig, "config", 500, configTitle, configMessage},
	{SealedUnbound, "config", 500, configTitle, configMessage},
	{SessionConfig, "config", 500, configTitle, configMessage},
	{LockLost, "refresh_lock_lost", 503, unavailableTitle, storeMessage},
	{Conflict, "session_conflict", 503, unavailableTitle, storeMessage},
	{SessionUnavailable, "session_store", 503, unavailableTitle, storeMessage},
	{InvalidSession, "session_invalid", 401, "", ""},
	{NoSession, "session_missing", 401, "", ""},
	// The families, for an error that wraps one alone (the SDK returns
	// their children).
	{Config, "config", 500, configTitle, configMessage},
	{ProviderRefused, "token_request", 400, "", ""},
	{InvalidResponse, "invalid_response", 502, "", ""},
	{NoUsableToken, "token_missing", 400, "", ""},
	{BadRequest, "bad_request", 400, "", ""},
	{Refused, "forbidden", 403, "", ""},
	{Unavailable, "unavailable", 503, unavailableTitle, ""},
	{Claims, "claims", 500, "", ""},
	// The plumbing's: no code of their own.
	{Corrupt, "", 0, "", ""},
	{UnknownKey, "", 0, "", ""},
	{UserInfoSubject, "", 0, "", ""},
	{ProxySessionEnded, "", 0, "", ""},
	{CookiesBound, "", 0, "", ""},
	{OtherApp, "", 0, "", ""},
	{SealInvalid, "", 0, "", ""},
}
