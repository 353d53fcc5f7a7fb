package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/metrics"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/session"
)

// tracedApp is an app with the Recorder as its OnEvent, behind a handler
// that opens a server span for each request, as an instrumented server
// (otelhttp) does: sampled unless the request says X-Sampled: no.
type tracedApp struct {
	URL    string
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	op     *confidanttest.Provider
	clock  *confidanttest.Clock
}

func newTracedApp(t *testing.T, users ...confidanttest.User) *tracedApp {
	clock := confidanttest.NewClock()
	a := &tracedApp{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder(), clock: clock,
		op: confidanttest.NewProvider(t, confidanttest.Options{Clock: clock, Users: users})}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(a.spans), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	rec, err := metrics.New(metrics.Options{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(a.reader)), TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(api.Close)
	srv := httptest.NewUnstartedServer(nil)
	a.URL = "http://" + srv.Listener.Addr().String()
	id, secret := a.op.Register(a.URL + "/auth/callback")
	prov, err := client.Discover(t.Context(), a.op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: id, ClientSecret: secret, RedirectURL: a.URL + "/auth/callback",
		Scopes: []string{"openid", "profile", "email", "offline_access"}, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{session.NewKey()}, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, Now: clock.Now, OnEvent: rec.Hook,
		APIs: []middleware.API{{Name: "orders", BaseURL: api.URL + "/"}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/account", auth.RequireFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "account") }))
	mux.Handle("/admin", auth.RequireFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "admin") }, middleware.Claim("groups", "admins")))
	mux.Handle("/orders/{which}", auth.RequireFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := auth.HTTPClient(r).Get(api.URL + "/" + r.PathValue("which"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	}))
	tracer := tp.Tracer("server")
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if r.Header.Get("X-Sampled") == "no" {
			// A request whose incoming trace context is not sampled.
			sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}, Remote: true})
			ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
		}
		ctx, span := tracer.Start(ctx, r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		mux.ServeHTTP(w, r.WithContext(ctx))
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return a
}

// sampledNo is a browser whose requests carry an unsampled trace.
type sampledNo struct{ base http.RoundTripper }

func (s sampledNo) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Sampled", "no")
	return s.base.RoundTrip(r)
}

func (a *tracedApp) collect(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := a.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != metrics.Scope {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// points renders a metric's data points as "attr=value,… → value",
// sorted, for comparison.
func points(m metricdata.Metrics) []string {
	var out []string
	render := func(set attribute.Set, v string) {
		var kv []string
		for _, a := range set.ToSlice() {
			kv = append(kv, string(a.Key)+"="+a.Value.String())
		}
		out = append(out, strings.Join(kv, ",")+" → "+v)
	}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			render(p.Attributes, fmt.Sprint(p.Value))
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			render(p.Attributes, fmt.Sprintf("count %d", p.Count))
		}
	}
	slices.Sort(out)
	return out
}

// TestRecorder: a sign-in, a refresh, API calls, refused requests, a forged
// callback and a sign-out are recorded with the documented names, units and
// attributes; the provider calls of a sampled request are spans under its
// server span, those of an unsampled one are none; no attribute holds a
// token, code, state or subject.
func TestRecorder(t *testing.T) {
	user := confidanttest.User{Subject: "subject-ada-4711", Name: "Ada"}
	a := newTracedApp(t, user)
	browser := confidanttest.Browser()
	if resp, err := a.op.SignIn(browser, a.URL+"/account", user); err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-in: %v %v", resp, err)
	}
	get := func(hc *http.Client, path string, accept string) int {
		req, _ := http.NewRequest("GET", a.URL+path, nil)
		req.Header.Set("Accept", accept)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(browser, "/orders/list", "text/html"); s != 200 {
		t.Fatalf("API call: %d", s)
	}
	if s := get(browser, "/orders/missing", "text/html"); s != 404 {
		t.Fatalf("API call: %d", s)
	}
	// A refresh, for a request whose trace is not sampled.
	a.clock.Add(10 * time.Minute)
	unsampled := &http.Client{Jar: browser.Jar, Transport: sampledNo{browser.Transport}, CheckRedirect: browser.CheckRedirect}
	if s := get(unsampled, "/account", "text/html"); s != 200 {
		t.Fatalf("after the token expired: %d", s)
	}
	// Another, for a sampled request.
	a.clock.Add(10 * time.Minute)
	if s := get(browser, "/account", "text/html"); s != 200 {
		t.Fatalf("after the token expired again: %d", s)
	}
	if s := get(http.DefaultClient, "/account", "application/json"); s != 401 {
		t.Fatalf("anonymous: %d", s) // not a failure: no event
	}
	if s := get(browser, "/admin", "text/html"); s != 403 {
		t.Fatalf("a requirement not met: %d", s)
	}
	if s := get(http.DefaultClient, "/auth/callback?state=forged&code=forged", "text/html"); s != 400 {
		t.Fatalf("forged callback: %d", s)
	}
	resp, err := browser.Post(a.URL+"/auth/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	got := a.collect(t)
	const p = "confidant.provider=127.0.0.1"
	want := map[string]struct {
		unit   string
		points []string
	}{
		"confidant.signin.started":   {"{sign-in}", []string{p + " → 1"}},
		"confidant.signin.completed": {"{sign-in}", []string{"confidant.outcome=failure,confidant.reason=flow_cookie_missing → 1", "confidant.outcome=success," + p + " → 1"}},
		"confidant.signout":          {"{sign-out}", []string{p + ",confidant.scope=session → 1"}},
		"confidant.refresh":          {"{refresh}", []string{"confidant.outcome=success," + p + ",confidant.token=session → 2"}},
		"confidant.provider.duration": {"s", []string{
			"confidant.endpoint=token,confidant.grant=authorization_code,confidant.outcome=success," + p + ",http.response.status_code=200 → count 1",
			"confidant.endpoint=token,confidant.grant=refresh_token,confidant.outcome=success," + p + ",http.response.status_code=200 → count 2"}},
		"confidant.api.duration": {"s", []string{
			"confidant.api=orders,confidant.outcome=failure,http.response.status_code=404 → count 1",
			"confidant.api=orders,confidant.outcome=success,http.response.status_code=200 → count 1"}},
		"confidant.request.refused": {"{request}", []string{
			"confidant.reason=flow_cookie_missing,confidant.route=callback,http.response.status_code=400 → 1",
			"confidant.reason=forbidden,confidant.route=app,http.response.status_code=403 → 1"}},
	}
	for name, w := range want {
		m, ok := got[name]
		if !ok {
			t.Errorf("%s: not recorded", name)
			continue
		}
		if m.Unit != w.unit || m.Description == "" {
			t.Errorf("%s: unit %q, description %q; want unit %q", name, m.Unit, m.Description, w.unit)
		}
		if pts := points(m); !slices.Equal(pts, w.points) {
			t.Errorf("%s:\n got %q\nwant %q", name, pts, w.points)
		}
	}
	for name, m := range got {
		for _, pt := range points(m) {
			for _, secret := range []string{user.Subject, "forged", "eyJ", "sha256:"} {
				if strings.Contains(pt, secret) {
					t.Errorf("%s: an attribute holds %q: %s", name, secret, pt)
				}
			}
		}
	}

	// Spans: the code exchange under the callback's sampled server span,
	// the second refresh under its request's; the first refresh, made for
	// an unsampled request, none.
	var provider []string
	servers := map[trace.SpanID]string{}
	for _, s := range a.spans.Ended() {
		if s.InstrumentationScope().Name != metrics.Scope {
			servers[s.SpanContext().SpanID()] = s.Name()
		}
	}
	for _, s := range a.spans.Ended() {
		if s.InstrumentationScope().Name != metrics.Scope {
			continue
		}
		attrs := attribute.NewSet(s.Attributes()...)
		grant, _ := attrs.Value("confidant.grant")
		if s.SpanKind() != trace.SpanKindClient || !s.EndTime().After(s.StartTime()) {
			t.Errorf("span %q: kind %v, %v–%v", s.Name(), s.SpanKind(), s.StartTime(), s.EndTime())
		}
		provider = append(provider, s.Name()+" "+grant.AsString()+" under "+servers[s.Parent().SpanID()])
	}
	if want := []string{"confidant token authorization_code under GET /auth/callback", "confidant token refresh_token under GET /account"}; !slices.Equal(provider, want) {
		t.Errorf("provider spans\n got %q\nwant %q", provider, want)
	}
}

// TestReason: every error the SDK gives has a code; others are "other".
func TestReason(t *testing.T) {
	for err, want := range map[error]string{
		middleware.ErrFlowCookieMissing:                               "flow_cookie_missing",
		middleware.ErrStateMismatch:                                   "state_mismatch",
		fmt.Errorf("x: %w", middleware.ErrSessionExpired):             "session_expired",
		middleware.ErrDistributedClaim:                                "distributed_claim",
		fmt.Errorf("%w: %w", middleware.ErrConfig, session.ErrConfig): "config",
		client.ErrInvalidIDToken:                                      "invalid_id_token",
		fmt.Errorf("plain"):                                           "other",
		nil:                                                           "",
	} {
		if got := metrics.Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
}
