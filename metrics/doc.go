// Package metrics records confidant's events (package event) as
// OpenTelemetry metrics and spans: sign-ins, sign-outs, refreshes, provider
// call latency, API calls, back-channel logouts and refused requests. It
// uses only the OpenTelemetry API; the app's meter and tracer providers
// (the SDK and an exporter, such as Prometheus's) do the rest. It is a
// package of its own so that an app that does not import it links no
// OpenTelemetry.
//
// A [Recorder] is made once, at start, and its Hook is the app's
// middleware.Config.OnEvent:
//
//	rec, err := metrics.New(metrics.Options{}) // otel's global providers
//	auth, err := middleware.Setup(ctx, middleware.Config{..., OnEvent: rec.Hook})
//
// Every instrument is named under "confidant." (confidant.signin.completed,
// confidant.refresh, confidant.provider.duration, confidant.request.refused,
// …: [Recorder] lists them with their attributes). Attribute values are
// names and codes from the app's configuration and this package's lists,
// never a token, code, state, cookie, URL path or subject. A failure's
// confidant.reason is [Reason] of its error: a short code such as
// state_mismatch, refresh_revoked or provider_unavailable, for dashboards
// and alerts to key on.
//
// Each call to the provider's token or userinfo endpoint becomes a client
// span, a child of the span in the request's context; a request whose
// trace is not sampled makes none and costs nothing.
package metrics
