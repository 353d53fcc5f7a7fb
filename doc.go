// Package confidant holds what every package of this module shares: the
// description of a signed-in [User].
//
// The module signs users in to a confidential web app (a backend that keeps a
// client secret) with OAuth 2.0 / OpenID Connect, keeps their tokens in an
// encrypted session, and calls APIs on their behalf. A request goes through
// its packages in one direction:
//
//   - middleware: the /auth/ routes (login, callback, logout), Require and
//     Optional around the app's handlers, UserFrom, the bearer client;
//   - session: the Session a signed-in user has and the encrypted cookie
//     store (redisstore: the same on Redis, for several instances);
//   - client: the protocol with one provider (discovered, or given by
//     hand), built on golang.org/x/oauth2 and go-oidc; providers: the
//     presets (Auth0, Google, GitHub, Entra ID, Okta, Keycloak, Cognito,
//     Apple, GitLab) and their options;
//   - event: what each step reports, with secrets redacted.
//
// The README has a complete program; a handler reads the user with
//
//	u := middleware.UserFrom(r.Context()) // *confidant.User, nil when not signed in
package confidant
