// Package session holds what a signed-in user's session contains and where
// it lives. Most apps need only [ParseKeys] from it, to read their keys:
// middleware.Setup keeps sessions in a [CookieStore] sealed with them, and
// an app on several instances gives it package redisstore's Store instead.
//
// A [Session] carries the user's tokens (access, refresh, ID token, expiry,
// type, scope), identity (sub, name, email, picture and every claim as JSON),
// the provider that signed them in, and when the session was created and
// last seen.
//
// A [Store] loads and saves sessions for HTTP requests. [CookieStore] keeps
// the whole session in the browser, encrypted with AES-256-GCM under a list
// of keys (the first encrypts, all decrypt, so keys can be rotated), in a
// compact binary encoding, split into numbered cookies when it must be. A
// cookie that was tampered with, truncated, or sealed with a key that is no
// longer configured loads as "no session" ([ErrNoSession]), never as an
// error page.
//
// Cookie attributes follow the secure defaults: HttpOnly, SameSite=Lax,
// Secure with the __Host- name prefix. Secure comes from configuration, never
// from a request: middleware.New binds the store to the app's origin (the
// scheme of the client's RedirectURL), and only a plain-http loopback origin (localhost
// development, where browsers would drop Secure cookies) gets cookies without
// it. Every response that sets or clears a cookie is Cache-Control: no-store
// (no other directive, and no CDN-Cache-Control or Surrogate-Control) with
// Vary: Cookie; the middleware keeps it so over the handler's own caching
// headers, and sends no cookie through a writer it does not see.
// Attributes are given with gorilla/sessions' [sessions.Options]. A session
// unused for a day, or older than a week, is gone ([Timeouts]). A
// [DenyList] ends sessions whose cookies live on (back-channel logout,
// sign-out everywhere): [MemoryDenyList] in one process, redisstore's
// across instances.
//
// The package never imports the client or middleware packages.
package session
