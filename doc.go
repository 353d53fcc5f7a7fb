// Package confidant signs users in to a confidential web app (a backend
// that keeps a client secret) with OAuth 2.0 and OpenID Connect, keeps
// their tokens in an encrypted session, and calls APIs on their behalf, on
// plain net/http. This package holds what the others share: the signed-in
// [User] and [ErrConfig].
//
// Most apps import package middleware and start with middleware.Setup:
// the provider's issuer URL (or a preset of package providers), the app's
// client ID and secret, its URL and a session key. The returned Auth serves
// login, callback and logout under /auth/, and its Require and Optional
// wrap the app's handlers, which read the user with
//
//	u := middleware.UserFrom(r.Context()) // *confidant.User, nil when not signed in
//
// # Packages
//
//   - middleware: start here. The /auth/ routes (login, callback, logout,
//     back-channel logout), Require, Optional and RequireWith, the user and
//     session in the request's context, an *http.Client that calls the
//     app's APIs with the user's token, a proxy for single-page apps.
//   - providers: presets for Apple, Auth0, Cognito, Entra ID, GitHub,
//     GitLab, Google, Keycloak and Okta, each with its departures from
//     plain OpenID Connect; any other OpenID Provider is discovered from
//     its issuer URL.
//   - client: the protocol with one provider, on golang.org/x/oauth2 and
//     go-oidc (login URL, callback, ID token verification, refresh,
//     revocation, logout URL), for apps that run it themselves and for
//     work outside a request (TokenSource, client credentials).
//   - session: the Session a signed-in user has and the Store that keeps
//     it; the default is encrypted cookies.
//   - redisstore: a Store on Redis, for an app on several instances.
//   - event: every step reported to a *slog.Logger or a hook, with no
//     token, code or secret in it.
//   - metrics: those events as OpenTelemetry metrics and spans.
//   - confidanttest: an OpenID Provider in the process, a browser and
//     signed-in requests, for the app's tests.
//
// redisstore and metrics are packages of their own so that an app that
// does not import them links neither go-redis nor OpenTelemetry. Command
// cmd/devprovider runs an OpenID Provider on your machine, to try an app
// without an account anywhere.
//
// # What to know
//
// A configuration mistake stops the app at start: Setup, the presets and
// the New of client, session, redisstore and middleware return an error
// that wraps [ErrConfig] and names the field. The tokens
// stay with the SDK: sealed (AES-256-GCM) in the browser's session cookie,
// or in Redis behind a random ID; what a handler gets of the session
// (UserFrom, SessionFrom) holds none, and middleware's HTTPClient sends
// the access token only to the APIs the app named. Key the app's records
// on the user's Provider and Subject, never on Email alone.
//
// The README has the complete program, and docs/security.md each
// guarantee with the test that holds it.
package confidant
