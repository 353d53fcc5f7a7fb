package metrics_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
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
	store  *session.CookieStore
	// seen are the secret-derived values the events carried (the hashes
	// of states, codes and session IDs), which may reach no metric or span.
	seen secrets
}

// secrets are values that no attribute, span name, span event or span
// status may contain, each with what it is (a failure names that, never
// the value, which would put it in the test's output).
type secrets struct {
	mu sync.Mutex
	v  map[string]string
}

// add records each value of 8 or more characters as what and, for a raw
// value, what event.Redact makes of it (whole, and its hash alone).
func (s *secrets) add(what string, vals ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.v == nil {
		s.v = map[string]string{}
	}
	for _, v := range vals {
		if len(v) < 8 || s.v[v] != "" {
			continue
		}
		s.v[v] = what
		if !strings.HasPrefix(v, "sha256:") {
			r := event.Redact(v)
			s.v[r] = "redacted " + what
			hash, _, _ := strings.Cut(strings.TrimPrefix(r, "sha256:"), "/")
			s.v[hash] = "hash of " + what
		}
	}
}

// all returns the values and what each is.
func (s *secrets) all() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.v)
}

// watching is a browser's transport that records the secrets a sign-in
// shows the browser: the authorization request's state, nonce and code
// challenge, the code, and every cookie value set.
type watching struct {
	base http.RoundTripper
	seen *secrets
}

func (w watching) RoundTrip(r *http.Request) (*http.Response, error) {
	params := func(u *url.URL) {
		q := u.Query()
		for _, k := range []string{"state", "nonce", "code_challenge", "code"} {
			w.seen.add(k, q.Get(k))
		}
	}
	params(r.URL)
	resp, err := w.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if loc, err := resp.Location(); err == nil {
		params(loc)
	}
	for _, c := range resp.Cookies() {
		w.seen.add("cookie "+c.Name, c.Value)
	}
	return resp, nil
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
	a.store = store
	hook := func(ctx context.Context, e event.Event) {
		a.seen.add("event Flow", e.Flow)
		a.seen.add("event Session", e.Session)
		for _, at := range e.Attrs {
			if v := at.Value.String(); strings.HasPrefix(v, "sha256:") {
				a.seen.add("event attribute "+at.Key, v)
			}
		}
		rec.Hook(ctx, e)
	}
	auth, err := middleware.New(middleware.Config{Clients: []*client.Client{c}, Store: store, Now: clock.Now, OnEvent: hook,
		APIs: []middleware.API{{Name: "orders", BaseURL: api.URL + "/"}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", auth)
	mux.Handle("/account", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "account") })))
	mux.Handle("/admin", auth.RequireWith(middleware.Claim("groups", "admins"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "admin") })))
	mux.Handle("/orders/{which}", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := auth.HTTPClient(r).Get(api.URL + "/" + r.PathValue("which"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	})))
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

// TestRecorder: a sign-in, a refresh, one that fails, API calls, refused
// requests, a forged callback and a sign-out are recorded with the
// documented names, units and attributes; the provider calls of a sampled
// request are spans under its server span (a failed one with an error
// status), those of an unsampled one are none. No metric attribute, and
// no span's name, attribute, event or status, anywhere in the trace (the
// server spans too), holds a secret or anything derived from one: a
// token, code, state, nonce, code challenge, cookie, session ID or the
// subject, raw or as the hash the events carry (issue 34: a span carried
// the hash of a sign-in's state, and only metric points were scanned).
func TestRecorder(t *testing.T) {
	user := confidanttest.User{Subject: "subject-ada-4711", Name: "Ada"}
	a := newTracedApp(t, user)
	browser := confidanttest.Browser()
	browser.Transport = watching{base: browser.Transport, seen: &a.seen}
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
	// With the token endpoint down: a sign-in in another browser, whose
	// code exchange fails, and a refresh, both for sampled requests.
	a.op.Fail(confidanttest.Token, http.StatusServiceUnavailable)
	other := confidanttest.Browser()
	other.Transport = watching{base: other.Transport, seen: &a.seen}
	if resp, err := a.op.SignIn(other, a.URL+"/account", user); err != nil || resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("sign-in with the token endpoint down: %v %v", resp, err)
	}
	a.clock.Add(10 * time.Minute)
	if s := get(browser, "/account", "text/html"); s != 503 {
		t.Fatalf("with the token endpoint down: %d", s)
	}
	a.op.Recover()
	// The session's own secrets, before the sign-out ends it.
	app, _ := url.Parse(a.URL)
	req, _ := http.NewRequest("GET", a.URL, nil)
	for _, c := range browser.Jar.Cookies(app) {
		req.AddCookie(c)
	}
	sess, err := a.store.Load(req)
	if err != nil {
		t.Fatal(err)
	}
	a.seen.add("session ID", sess.ID)
	a.seen.add("session token", sess.AccessToken, sess.RefreshToken, sess.IDToken)
	a.seen.add("subject", user.Subject)
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
		"confidant.signin.started": {"{sign-in}", []string{p + " → 2"}},
		"confidant.signin.completed": {"{sign-in}", []string{"confidant.outcome=failure,confidant.reason=flow_cookie_missing → 1",
			"confidant.outcome=failure,confidant.reason=provider_unavailable → 1", "confidant.outcome=success," + p + " → 1"}},
		"confidant.signout": {"{sign-out}", []string{p + ",confidant.scope=session → 1"}},
		"confidant.refresh": {"{refresh}", []string{
			"confidant.outcome=failure," + p + ",confidant.token=session → 1",
			"confidant.outcome=success," + p + ",confidant.token=session → 2"}},
		"confidant.provider.duration": {"s", []string{
			"confidant.endpoint=token,confidant.grant=authorization_code,confidant.outcome=failure," + p + ",http.response.status_code=503 → count 1",
			"confidant.endpoint=token,confidant.grant=authorization_code,confidant.outcome=success," + p + ",http.response.status_code=200 → count 1",
			"confidant.endpoint=token,confidant.grant=refresh_token,confidant.outcome=failure," + p + ",http.response.status_code=503 → count 1",
			"confidant.endpoint=token,confidant.grant=refresh_token,confidant.outcome=success," + p + ",http.response.status_code=200 → count 2"}},
		"confidant.api.duration": {"s", []string{
			"confidant.api=orders,confidant.outcome=failure,http.response.status_code=404 → count 1",
			"confidant.api=orders,confidant.outcome=success,http.response.status_code=200 → count 1"}},
		"confidant.request.refused": {"{request}", []string{
			"confidant.reason=flow_cookie_missing,confidant.route=callback,http.response.status_code=400 → 1",
			"confidant.reason=forbidden,confidant.route=app,http.response.status_code=403 → 1",
			"confidant.reason=provider_unavailable,confidant.route=callback,http.response.status_code=502 → 1",
			"confidant.reason=refresh_unavailable,confidant.route=app,http.response.status_code=503 → 1"}},
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
	// What no attribute may hold: every secret this process's providers
	// issued (codes, tokens), what the browser saw (state, nonce, code
	// challenge, code, cookies), the session's ID and tokens, the
	// subject, each raw and redacted, and what the events carried.
	issued := devprovider.AllIssued()
	a.seen.add("issued code or token", issued...)
	secret := a.seen.all()
	secret["forged"], secret["eyJ"], secret["sha256:"] = "forged callback's code or state", "JWT", "redacted value"
	kinds := map[string]bool{}
	for _, what := range secret {
		kinds[what] = true
	}
	for _, what := range []string{"state", "nonce", "code_challenge", "code", "cookie confidant", "session ID", "issued code or token"} {
		if !kinds[what] || !kinds["redacted "+what] || !kinds["hash of "+what] {
			t.Fatalf("the scan would miss every %s: none was recorded", what)
		}
	}
	leaks := func(where, text string) {
		t.Helper()
		for v, what := range secret {
			if strings.Contains(text, v) {
				t.Errorf("%s holds a secret-derived value: %s", where, what)
			}
		}
	}
	for name, m := range got {
		for _, pt := range points(m) {
			leaks(name+" "+pt, pt)
		}
	}
	spans := a.spans.Ended()
	if len(spans) == 0 {
		t.Fatal("no spans")
	}
	for _, s := range spans {
		where := "span " + s.Name()
		leaks(where+" (name)", s.Name())
		leaks(where+" attributes", renderAttrs(s.Attributes()))
		leaks(where+" status", s.Status().Description)
		for _, ev := range s.Events() {
			leaks(where+" event "+ev.Name, ev.Name+" "+renderAttrs(ev.Attributes))
		}
		for _, l := range s.Links() {
			leaks(where+" link", renderAttrs(l.Attributes))
		}
	}

	// Spans: the code exchange under the callback's sampled server span,
	// the second refresh under its request's; the first refresh, made for
	// an unsampled request, none; the failed exchange and refresh with an
	// error status naming the reason.
	var provider []string
	servers := map[trace.SpanID]string{}
	for _, s := range spans {
		if s.InstrumentationScope().Name != metrics.Scope {
			servers[s.SpanContext().SpanID()] = s.Name()
		}
	}
	for _, s := range spans {
		if s.InstrumentationScope().Name != metrics.Scope {
			continue
		}
		attrs := attribute.NewSet(s.Attributes()...)
		grant, _ := attrs.Value("confidant.grant")
		if s.SpanKind() != trace.SpanKindClient || !s.EndTime().After(s.StartTime()) {
			t.Errorf("span %q: kind %v, %v–%v", s.Name(), s.SpanKind(), s.StartTime(), s.EndTime())
		}
		line := s.Name() + " " + grant.AsString() + " under " + servers[s.Parent().SpanID()]
		if st := s.Status(); st.Code == codes.Error {
			errType, _ := attrs.Value("error.type")
			line += ": " + st.Description + ", error.type " + errType.AsString()
		}
		provider = append(provider, line)
	}
	if want := []string{"confidant token authorization_code under GET /auth/callback", "confidant token refresh_token under GET /account",
		"confidant token authorization_code under GET /auth/callback: provider_unavailable, error.type provider_unavailable",
		"confidant token refresh_token under GET /account: provider_unavailable, error.type provider_unavailable"}; !slices.Equal(provider, want) {
		t.Errorf("provider spans\n got %q\nwant %q", provider, want)
	}
}

// renderAttrs writes attributes out as key=value, for the secret scan.
func renderAttrs(kv []attribute.KeyValue) string {
	var b strings.Builder
	for _, a := range kv {
		b.WriteString(string(a.Key) + "=" + a.Value.String() + " ")
	}
	return b.String()
}

// TestReason: every error the SDK gives has a code; others are "other".
func TestReason(t *testing.T) {
	for err, want := range map[error]string{
		fail.FlowCookieMissing:                   "flow_cookie_missing",
		fail.StateMismatch:                       "state_mismatch",
		fmt.Errorf("x: %w", fail.SessionExpired): "session_expired",
		fail.DistributedClaim:                    "distributed_claim",
		fmt.Errorf("%w: %w", fail.MiddlewareConfig, fail.SessionConfig): "config",
		client.ErrInvalidIDToken:                                 "invalid_id_token",
		fmt.Errorf("%w: %w", fail.BadCallback, fail.ResponseJWT): "response_jwt", // as the callback wraps it
		fmt.Errorf("%w: x", fail.AntiForgery):                    "anti_forgery",
		fmt.Errorf("plain"):                                      "other",
		nil:                                                      "",
	} {
		if got := metrics.Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
}
