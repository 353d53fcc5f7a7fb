// Package middleware signs users in to a plain net/http app.
//
// An [Auth] is an http.Handler that serves the sign-in endpoints under a
// prefix (default "/auth/"): login, callback and logout. Its [Auth.Require]
// and [Auth.Optional] methods wrap the app's handlers:
//
//	auth, err := middleware.Setup(ctx, middleware.Config{Issuer: issuer, ClientID: id,
//		ClientSecret: secret, AppURL: "https://app.example.com", Keys: keys})
//	mux.Handle("/auth/", auth) // or chi's r.Handle("/auth/*", auth), gin.WrapH(auth), echo.WrapHandler(auth)
//	mux.Handle("/account", auth.Require(accountPage))
//
// [Setup] is where an app starts, and the same [Config] grows with it (a
// Store on Redis, several Clients, APIs); [New] takes a Config with Clients
// and Store and does no I/O, for tests and apps that build each part.
//
// Require lets signed-in requests through with the user in the context
// ([UserFrom], and [SessionFrom] for the app's values and the session's
// times: no token, no key); a browser navigation that is not signed in is redirected to
// the provider and brought back to the page it asked for; any other request
// (fetch/XHR, JSON clients, non-GET) gets 401 with a JSON body. Require,
// Optional and [Auth.RequireWith] have the shape of router middleware,
// func(http.Handler) http.Handler: chi's Use takes them as they are.
//
// # Signing in
//
// Every sign-in attempt has its own short-lived encrypted flow cookie
// holding its state, nonce and PKCE verifier, so parallel tabs can sign in
// at the same time. The callback checks the state in constant time before any
// token request, deletes the flow cookie, exchanges the code, verifies the ID
// token (see package client), runs Config.OnSignIn and starts a new
// session. [Auth.SignIn] starts a sign-in from a handler (a login hint, a
// forced login).
//
// # A request's session
//
// Before the handler runs, Require and Optional load the session, drop it
// when a deny list ended it, and refresh its tokens when they are due (one
// refresh per session, however many requests or instances ask: see
// Config.DenyList). A change to the session (a refresh, a sign-out) is put
// in the response's headers when it happens, so it reaches the browser
// whichever writer sends the response.
//
// # Calling APIs
//
// [Auth.HTTPClient] returns a client that sends the signed-in user's access
// token to the APIs of Config.APIs and to nothing else, refreshing it when
// it expires and once when an API refuses it; an API with a Resource gets
// a token of its own. When an API asks for a stronger sign-in, the call
// fails with a [*StepUpError] and [Auth.StepUp] sends the browser through
// sign-in again; [Auth.RequireWith] with [ACR] or [MaxAge] asks for it
// before the handler runs. [Auth.AppClient] calls an API with the app's own
// token (client credentials), for work done on no user's behalf.
//
// # Single-page apps
//
// [Auth.Proxy] forwards a single-page app's calls to an API with the
// user's token, which never reaches the browser; [Auth.SessionInfo] tells
// the page who is signed in. Both refuse requests from other sites and
// those without [AntiForgeryHeader].
//
// # Signing out
//
// POST /auth/logout ends the session here and at the provider. With the
// provider's back-channel logout registered at /auth/backchannel-logout,
// a sign-out there ends the user's sessions here too; [Auth.EndUserSessions]
// signs a user out of every session, on every instance.
//
// # Failures
//
// Failures go to Config.ErrorHandler; [FailureReason] tells it why, as an
// error to test with errors.Is (one parent per family, such as
// [ErrBadRequest]), and [StatusCode] gives the status to use. Config.Logger
// and Config.OnEvent see every step (package event); no token, code or
// secret is ever in them.
package middleware
