// Package event describes every step confidant takes, for logs, metrics,
// tracing and teaching: an [Event] per step, of a [Kind] (login.started,
// code.exchanged, refresh.done, rejected, …), with the provider, the
// session and the sign-in attempt it belongs to, its status and duration.
//
// The middleware and client packages emit them to their Config's Logger,
// a *slog.Logger, at the level [Event.Level] gives (the middleware's
// default logs failures to slog's default logger), and to their Config's
// OnEvent, a [Hook] that runs on the request's goroutine. Package metrics
// is such a hook: it turns them into OpenTelemetry metrics and spans.
//
// No event carries a token, authorization code, state, nonce, secret or
// cookie value: only names, lengths, hash prefixes ([Redact]) and timings.
// An event's Session and Flow are such hash prefixes, enough to follow one
// user's steps or one sign-in across log lines.
package event
