// Package middleware signs users in to a plain net/http app and keeps them
// signed in. It is the package most apps import first.
//
// [Setup] makes an [Auth] from a [Config] (the provider's issuer, or a
// preset of package providers as Provider; the app's client ID, secret and
// URL; session keys) and stops the app at start, with the reason, when a
// value is missing or wrong. The Auth is an http.Handler for the routes
// under /auth/ (login, callback, logout, back-channel logout). Its
// [Auth.Require] and [Auth.Optional] wrap the app's handlers, in the shape
// of router middleware, func(http.Handler) http.Handler:
//
//	auth, err := middleware.Setup(ctx, middleware.Config{Issuer: issuer, ClientID: id,
//		ClientSecret: secret, AppURL: "https://app.example.com", Keys: keys})
//	mux.Handle("/auth/", auth) // chi: r.Handle("/auth/*", auth)
//	mux.Handle("/account", auth.Require(accountPage))
//
// The same Config grows with the app (a Store on Redis, several Clients,
// APIs); [New] takes one with Clients and Store and does no I/O.
//
// Behind Require a handler reads the user with [UserFrom], and the
// session's values and times with [SessionFrom]: neither holds a token. A
// browser navigation that is not signed in is sent to the provider and back
// to the page it asked for; any other request gets 401 with a JSON body.
// [Auth.RequireWith] asks for more ([Claim], [Value], [Scope], [ACR],
// [MaxAge]). Tokens are refreshed before the handler runs when they are
// due, once per session however many requests ask (and instances, through
// a Store or Config.DenyList they share).
// [Auth.HTTPClient] calls the APIs of Config.APIs with the user's access
// token and sends it nowhere else; [Auth.Proxy] does so for a single-page
// app, which never holds the token. An API on an authorization server of
// its own (API.Client) is connected by each user once; the grant is kept
// for the user, and [Auth.ClientFor] calls it from background jobs.
//
// Each sign-in attempt keeps its state, nonce and PKCE verifier in an
// encrypted cookie of its own, and the callback checks the state before
// any token request. Sign-out is POST only (Config.AllowGETLogout opts
// out), and state-changing requests from other sites are refused.
// Failures go to Config.ErrorHandler: [FailureReason] says why, as an error
// to test with errors.Is ([ErrBadRequest], [ErrForbidden], [ErrNotSignedIn],
// [ErrProviderError], [ErrUnavailable], [ErrNotConnected]), and [StatusCode] which status to
// answer. Config.Logger and Config.OnEvent see every step (package event),
// never a token, code or secret.
package middleware
