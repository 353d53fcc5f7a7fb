// Package middleware signs users in to a plain net/http app.
//
// An [Auth] is an http.Handler that serves the sign-in endpoints under a
// prefix (default "/auth/"): login, callback and logout. Its [Auth.Require]
// and [Auth.Optional] methods wrap the app's handlers:
//
//	auth, err := middleware.New(middleware.Config{Client: c, Store: store})
//	mux.Handle("/auth/", auth)
//	mux.Handle("/account", auth.Require(accountPage))
//
// Require lets signed-in requests through with the user in the context
// ([UserFrom]); a browser navigation that is not signed in is redirected to
// the provider and brought back to the page it asked for; any other request
// (fetch/XHR, JSON clients, non-GET) gets 401 with a JSON body.
//
// Every sign-in attempt has its own short-lived encrypted flow cookie
// holding its state, nonce and PKCE verifier, so parallel tabs can sign in
// at the same time. The callback checks the state in constant time before any
// token request, deletes the flow cookie, exchanges the code, verifies the ID
// token (see package client) and starts a new session.
//
// Failures go to Config.ErrorHandler; [FailureReason] tells it why, as an
// error to test with errors.Is, and [StatusCode] gives the status to use.
package middleware
