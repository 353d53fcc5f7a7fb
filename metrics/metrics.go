package metrics

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/fail"
)

// Scope is the instrumentation scope of the meter and tracer.
const Scope = "github.com/confidant-go/confidant/metrics"

// Options are the providers the Recorder records to.
type Options struct {
	// MeterProvider makes the instruments. Default otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// TracerProvider makes the provider calls' spans. Default
	// otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
}

// Recorder records events as metrics and spans. Its Hook is an event.Hook;
// it is safe for concurrent use.
//
// Its instruments are these, every name under "confidant.". Attribute
// values are names and codes from the app's configuration and this
// package's lists: never a token, code, state, cookie, URL path or subject
// (events carry none).
//
//	confidant.signin.started      counter    {sign-in}   confidant.provider
//	confidant.signin.completed    counter    {sign-in}   confidant.provider, confidant.outcome (success, failure), confidant.reason (failures)
//	confidant.signout             counter    {sign-out}  confidant.provider, confidant.scope (session, everywhere)
//	confidant.refresh             counter    {refresh}   confidant.provider, confidant.outcome (success, failure, shared), confidant.token (session, api)
//	confidant.provider.duration   histogram  s           confidant.provider, confidant.endpoint (token, userinfo), confidant.grant (authorization_code, refresh_token), confidant.outcome, http.response.status_code
//	confidant.api.duration        histogram  s           confidant.api (the middleware.API's Name), confidant.outcome, http.response.status_code
//	confidant.backchannel.logout  counter    {logout}    confidant.provider (successes), confidant.outcome, confidant.reason (failures)
//	confidant.request.refused     counter    {request}   confidant.reason, confidant.route (callback, login, logout, backchannel-logout, app), http.response.status_code
//
// A refused request is one the SDK answered with an error (a bad callback,
// a requirement not met, a store or provider away); a visitor who is
// merely not signed in is sent to sign in (confidant.signin.started), or
// gets a 401 that is not counted.
//
// Each provider call (the token endpoint for a code or a refresh, the
// userinfo endpoint) becomes a client span, "confidant token" or
// "confidant userinfo", with the call's start and end times and the
// attributes of confidant.provider.duration, as a child of the span in
// the request's context: of the incoming request the call was made for
// (an instrumented server puts it there). A call made for a request whose
// trace is not sampled, or that has no trace, makes no span and costs
// nothing.
type Recorder struct {
	tracer trace.Tracer

	signinStarted, signinDone, signout, refresh, backchannel, refused metric.Int64Counter
	providerDuration, apiDuration                                     metric.Float64Histogram

	mu   sync.RWMutex
	sets map[setKey]metric.MeasurementOption
}

// New makes the instruments.
func New(o Options) (*Recorder, error) {
	if o.MeterProvider == nil {
		o.MeterProvider = otel.GetMeterProvider()
	}
	if o.TracerProvider == nil {
		o.TracerProvider = otel.GetTracerProvider()
	}
	m := o.MeterProvider.Meter(Scope)
	r := &Recorder{tracer: o.TracerProvider.Tracer(Scope), sets: map[setKey]metric.MeasurementOption{}}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	histogram := func(name, desc string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
		errs = append(errs, err)
		return h
	}
	r.signinStarted = counter("confidant.signin.started", "{sign-in}", "Sign-ins sent to the provider.")
	r.signinDone = counter("confidant.signin.completed", "{sign-in}", "Sign-ins that came back to the callback, by outcome.")
	r.signout = counter("confidant.signout", "{sign-out}", "Sign-outs.")
	r.refresh = counter("confidant.refresh", "{refresh}", "Token refreshes, by outcome.")
	r.backchannel = counter("confidant.backchannel.logout", "{logout}", "Back-channel logout tokens received, by outcome.")
	r.refused = counter("confidant.request.refused", "{request}", "Requests refused, by reason.")
	r.providerDuration = histogram("confidant.provider.duration", "Duration of calls to the provider, by endpoint.")
	r.apiDuration = histogram("confidant.api.duration", "Duration of API calls with the user's token, by API.")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// setKey names one attribute set; the sets are made once and reused, so
// that recording allocates nothing.
type setKey struct {
	kind                      uint8
	provider, a, b, c, reason string
	status                    int
}

const maxSets = 4096 // beyond, sets are made per measurement

const (
	kSignin uint8 = iota
	kSigninDone
	kSignout
	kRefresh
	kProvider
	kAPI
	kBackchannel
	kRefused
)

const (
	attrProvider = attribute.Key("confidant.provider")
	attrOutcome  = attribute.Key("confidant.outcome")
	attrReason   = attribute.Key("confidant.reason")
	attrScope    = attribute.Key("confidant.scope")
	attrToken    = attribute.Key("confidant.token")
	attrEndpoint = attribute.Key("confidant.endpoint")
	attrGrant    = attribute.Key("confidant.grant")
	attrAPI      = attribute.Key("confidant.api")
	attrRoute    = attribute.Key("confidant.route")
	attrStatus   = attribute.Key("http.response.status_code")
)

// set returns the measurement option of k's attributes.
func (r *Recorder) set(k setKey) metric.MeasurementOption {
	r.mu.RLock()
	o, ok := r.sets[k]
	r.mu.RUnlock()
	if ok {
		return o
	}
	o = metric.WithAttributeSet(attribute.NewSet(k.attrs()...))
	r.mu.Lock()
	if len(r.sets) < maxSets {
		r.sets[k] = o
	}
	r.mu.Unlock()
	return o
}

func (k setKey) attrs() []attribute.KeyValue {
	var kv []attribute.KeyValue
	add := func(key attribute.Key, v string) {
		if v != "" {
			kv = append(kv, key.String(v))
		}
	}
	switch k.kind {
	case kSignin:
		add(attrProvider, k.provider)
	case kSigninDone, kBackchannel:
		add(attrProvider, k.provider)
		add(attrOutcome, k.a)
		add(attrReason, k.reason)
	case kSignout:
		add(attrProvider, k.provider)
		add(attrScope, k.a)
	case kRefresh:
		add(attrProvider, k.provider)
		add(attrOutcome, k.a)
		add(attrToken, k.b)
	case kProvider:
		add(attrProvider, k.provider)
		add(attrEndpoint, k.a)
		add(attrGrant, k.b)
		add(attrOutcome, k.c)
	case kAPI:
		add(attrAPI, k.a)
		add(attrOutcome, k.c)
	case kRefused:
		add(attrReason, k.reason)
		add(attrRoute, k.a)
	}
	if k.status != 0 {
		kv = append(kv, attrStatus.Int(k.status))
	}
	return kv
}

// Hook records e. Use it as middleware.Config.OnEvent (the middleware hands
// it to its clients), or call it from a hook of your own.
func (r *Recorder) Hook(ctx context.Context, e event.Event) {
	switch e.Kind {
	case event.LoginStarted:
		r.signinStarted.Add(ctx, 1, r.set(setKey{kind: kSignin, provider: e.Provider}))
	case event.SessionSaved:
		if e.Err == nil && attr(e, "why") == "sign-in" {
			r.signinDone.Add(ctx, 1, r.set(setKey{kind: kSigninDone, provider: e.Provider, a: "success"}))
		}
	case event.Logout:
		scope := "session"
		if attr(e, "everywhere") == "true" {
			scope = "everywhere"
		}
		r.signout.Add(ctx, 1, r.set(setKey{kind: kSignout, provider: e.Provider, a: scope}))
	case event.RefreshDone, event.RefreshFailed, event.RefreshDeduplicated:
		outcome, token := "success", "session"
		switch e.Kind {
		case event.RefreshFailed:
			outcome = "failure"
		case event.RefreshDeduplicated:
			outcome = "shared"
		}
		if attr(e, "resource") != "" {
			token = "api"
		}
		r.refresh.Add(ctx, 1, r.set(setKey{kind: kRefresh, provider: e.Provider, a: outcome, b: token}))
		if e.Kind != event.RefreshDeduplicated {
			r.providerCall(ctx, e, "token", "refresh_token")
		}
	case event.CodeExchanged:
		if attr(e, "discarded") != "true" {
			r.providerCall(ctx, e, "token", "authorization_code")
		}
	case event.UserinfoFetched:
		r.providerCall(ctx, e, "userinfo", "")
	case event.APIRequest:
		outcome := "success"
		if e.Err != nil || e.Status >= 400 {
			outcome = "failure"
		}
		r.apiDuration.Record(ctx, e.Duration.Seconds(), r.set(setKey{kind: kAPI, a: attr(e, "api_name"), c: outcome, status: e.Status}))
	case event.BackchannelLogout:
		r.backchannel.Add(ctx, 1, r.set(setKey{kind: kBackchannel, provider: e.Provider, a: "success"}))
	case event.Rejected:
		route, reason := attr(e, "route"), Reason(e.Err)
		switch route {
		case "":
			route = "app"
		case "callback":
			r.signinDone.Add(ctx, 1, r.set(setKey{kind: kSigninDone, provider: e.Provider, a: "failure", reason: reason}))
		case "backchannel-logout":
			r.backchannel.Add(ctx, 1, r.set(setKey{kind: kBackchannel, a: "failure", reason: reason}))
		}
		r.refused.Add(ctx, 1, r.set(setKey{kind: kRefused, a: route, reason: reason, status: e.Status}))
	}
}

// providerCall records a call to the provider's endpoint, and its span
// under the request's sampled span.
func (r *Recorder) providerCall(ctx context.Context, e event.Event, endpoint, grant string) {
	outcome := "success"
	if e.Err != nil {
		outcome = "failure"
	}
	set := setKey{kind: kProvider, provider: e.Provider, a: endpoint, b: grant, c: outcome, status: e.Status}
	r.providerDuration.Record(ctx, e.Duration.Seconds(), r.set(set))
	if sc := trace.SpanContextFromContext(ctx); !sc.IsValid() || !sc.IsSampled() {
		return
	}
	end := e.Time
	if end.IsZero() {
		end = time.Now()
	}
	_, span := r.tracer.Start(ctx, "confidant "+endpoint, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(end.Add(-e.Duration)), trace.WithAttributes(set.attrs()...))
	if e.Err != nil {
		reason := Reason(e.Err)
		span.SetAttributes(attribute.String("error.type", reason))
		span.SetStatus(codes.Error, reason)
	}
	span.End(trace.WithTimestamp(end))
}

// attr returns the string form of e's attribute key, or "".
func attr(e event.Event, key string) string {
	for _, a := range e.Attrs {
		if a.Key == key {
			return a.Value.String()
		}
	}
	return ""
}

// Reason is the confidant.reason of err: a code from the list below,
// "other" for an error not on it, "" for nil.
//
// confidant.reason is one of: state_missing, state_mismatch,
// flow_cookie_missing, state_expired, code_missing, response_jwt,
// bad_callback, provider_error, signin_refused, forbidden,
// distributed_claim, cross_origin, anti_forgery, method_not_allowed,
// resource_mismatch, metadata_url_refused, metadata_too_large,
// metadata_timeout, untrusted_authorization_server, api_refused_token,
// set_invalid_request, set_invalid_key, set_invalid_issuer,
// set_invalid_audience,
// unknown_provider, unknown_api, not_signed_in, not_connected,
// session_expired, session_ended,
// session_missing, session_invalid, session_conflict, refresh_unavailable,
// refresh_revoked, refresh_token_missing, refresh_lock_lost, session_store,
// session_too_large, config, step_up, invalid_id_token, id_token_missing,
// token_request, pushed_request, userinfo, provider_unavailable,
// discovery, response_issuer, response_too_large, invalid_logout_token,
// api_not_allowed, cross_origin_redirect, token_expired, token_missing,
// not_supported, invalid_response, bad_request, unavailable, claims,
// other. Every error of the client, middleware and session packages has
// one (the table in internal/fail, which middleware.StatusCode and the
// error page read too); a family's own code (invalid_response,
// bad_request, unavailable, claims) is for an error that wraps the family
// alone, which the SDK never returns; other is for an error that wraps
// none.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	if row := fail.Find(err); row != nil {
		return row.Code
	}
	return "other"
}
