package main

import (
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/devprovider/sampleapi"
	"github.com/confidant-go/confidant/internal/testkit/browser"
)

// setup is what a test runs the example with: a development provider in
// process, serving the sample API as cmd/devprovider does, and the
// example's trusted origins.
type setup struct {
	lifetime time.Duration         // access tokens; default 5 minutes
	observe  func(r *http.Request) // sees every request to the provider and the APIs
	trusted  []string              // options.trusted
	op       *devprovider.Provider // set by startBFF
}

// startBFF runs the example on free ports against a provider whose access
// tokens live lifetime, and returns the app's URL.
func startBFF(t *testing.T, lifetime time.Duration) string {
	t.Helper()
	return startBFFWith(t, &setup{lifetime: lifetime})
}

// startBFFWith runs the provider and the example (its addresses chosen
// here) and returns the app's URL.
func startBFFWith(t *testing.T, p *setup) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	op, err := devprovider.New("http://"+srv.Listener.Addr().String(), devprovider.Config{AccessTokenLifetime: p.lifetime,
		Clients: []devprovider.Client{{ID: "bff-app", Secret: "bff-secret"}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", sampleapi.Handler(op))
	mux.Handle("/", op)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.observe != nil {
			p.observe(r)
		}
		mux.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	p.op = op

	o := options{appAddr: "localhost:0", issuer: op.Issuer, clientID: "bff-app", clientSecret: "bff-secret",
		ordersAPI: op.Issuer + "/api/orders/", billingAPI: op.Issuer + "/api/billing/", trusted: p.trusted}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, o, io.Discard, ready) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("bff: %v", err)
		}
	})
	select {
	case u := <-ready:
		op.AddRedirect("bff-app", u+"/auth/callback") // and u + "/" after sign-out
		return u
	case err := <-done:
		t.Fatalf("bff: %v", err)
	}
	return ""
}

// TestBFFInChromium drives the single-page app in a real Chromium: sign-in,
// both APIs through the backend, a call after the access token expired
// (refreshed by the backend, a new token at the API), and sign-out. The
// page's script never reads a cookie or a token.
func TestBFFInChromium(t *testing.T) {
	ctx := browser.New(t, 90*time.Second)
	appURL := startBFF(t, 3*time.Second)
	run := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(s)
	}
	call := func(api string) (exp string) {
		t.Helper()
		run(chromedp.Evaluate[chromedp.Void](`document.getElementById('result').dataset.api = ''`),
			chromedp.Click("#"+api),
			chromedp.Poll[chromedp.Void](`document.getElementById('result').dataset.api === '`+api+`'`))
		if status := eval(`document.getElementById('result').dataset.status`); status != "200" {
			t.Fatalf("%s: status %s: %s", api, status, text("#result"))
		}
		return eval(`document.getElementById('result').dataset.exp`)
	}

	run(chromedp.Navigate(appURL), chromedp.WaitVisible("#login"))
	if s := text("#status"); s != "You are signed out." {
		t.Errorf("status %q", s)
	}
	run(chromedp.Click("#login"), chromedp.WaitVisible("#submit"), chromedp.Click("#submit"), chromedp.WaitVisible("#orders"))
	if s := text("#status"); !strings.Contains(s, "Dee Mo") {
		t.Errorf("status after sign-in %q", s)
	}
	if cookies := eval(`document.cookie`); cookies != "" {
		t.Errorf("the script can read cookies: %q", cookies)
	}
	first := call("orders")
	if fits := eval(`String(document.getElementById('result').scrollWidth <= document.getElementById('result').clientWidth)`); fits != "true" {
		t.Error("the result box overflows its width")
	}
	call("billing")
	time.Sleep(4 * time.Second) // the 3-second access token has expired
	if again := call("orders"); again == first {
		t.Error("the API saw the expired token's exp again: no refresh")
	}
	run(chromedp.Click("#logout"), chromedp.WaitVisible("#login"))
	if s := text("#status"); s != "You are signed out." {
		t.Errorf("status after sign-out %q", s)
	}
}

// spa drives the example's page in one Chromium.
type spa struct {
	t   *testing.T
	ctx context.Context
	url string
}

func newSPA(t *testing.T, p *setup) *spa {
	return &spa{t: t, ctx: browser.New(t, 90*time.Second), url: startBFFWith(t, p)}
}

func (p *spa) run(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatalf("%v (at %s: %s)", err, p.eval(`location.href`), p.eval(`document.body ? document.body.innerText.slice(0, 300) : ""`))
	}
}

func (p *spa) eval(js string) string {
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return v
}

// navigateBy clicks sel, which leaves the page (a navigation, possibly
// through the provider), and waits until a new page of the app has shown
// whether it is signed in.
func (p *spa) navigateBy(sel string) {
	p.t.Helper()
	p.run(chromedp.Evaluate[chromedp.Void](`window.__old = true`), chromedp.Click(sel))
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		done, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](
			`!window.__old && location.href.startsWith('`+p.url+`') && !!document.getElementById('status') && document.getElementById('status').dataset.signedIn !== undefined`))
		if err == nil && done {
			return
		}
	}
	p.t.Fatalf("after clicking %s: at %s: %s", sel, p.eval(`location.href`), p.eval(`document.body ? document.body.innerText.slice(0, 300) : ""`))
}

// signedIn waits for the page to show whether it is signed in.
func (p *spa) signedIn() bool {
	p.t.Helper()
	p.run(chromedp.Poll[chromedp.Void](`document.getElementById('status') && document.getElementById('status').dataset.signedIn !== undefined`))
	return p.eval(`document.getElementById('status').dataset.signedIn`) == "true"
}

// signIn signs the demo user in with the provider's form.
func (p *spa) signIn() {
	p.t.Helper()
	p.run(chromedp.Navigate(p.url), chromedp.WaitVisible("#login"), chromedp.Click("#login"), chromedp.WaitVisible("#submit"), chromedp.Click("#submit"),
		chromedp.WaitVisible("#orders"))
}

// call clicks an API button and returns the status the page shows.
func (p *spa) call(button string) string {
	p.t.Helper()
	p.run(chromedp.Evaluate[chromedp.Void](`document.getElementById('result').dataset.status = ''`), chromedp.Click("#"+button),
		chromedp.Poll[chromedp.Void](`document.getElementById('result').dataset.status !== ''`))
	return p.eval(`document.getElementById('result').dataset.status`)
}

// TestBFFSignOutEndsProviderSession: the page signs out with the helper
// (a navigation to the session's logout_url), which ends the provider's
// session too: the next sign-in asks for the password again.
func TestBFFSignOutEndsProviderSession(t *testing.T) {
	p := newSPA(t, &setup{})
	p.signIn()
	p.navigateBy("#logout")
	if p.signedIn() {
		t.Fatalf("after sign-out: at %s, signed in", p.eval(`location.href`))
	}
	p.run(chromedp.Click("#login"), chromedp.WaitReady("body"))
	p.run(chromedp.Poll[chromedp.Void](`!!document.getElementById('submit') || !!document.getElementById('orders')`))
	if p.eval(`document.getElementById('submit') ? 'form' : 'signed in'`) != "form" {
		t.Error("signed in again without the password: the provider's session survived the sign-out")
	}
}

// TestBFFAPIRefusalRetried: when an API refuses a token the backend still
// held (revoked at the provider), the proxy refreshes it and tries once
// more, as HTTPClient does: the page gets the API's answer, not a 401 that
// it would take for the end of the session.
func TestBFFAPIRefusalRetried(t *testing.T) {
	prov := &setup{}
	p := newSPA(t, prov)
	op := prov.op
	p.signIn()
	if s := p.call("orders"); s != "200" {
		t.Fatalf("first call: %s", s)
	}
	op.RevokeAccessTokens()
	before := op.Count(devprovider.PathToken)
	for _, button := range []string{"orders", "post"} {
		if s := p.call(button); s != "200" {
			t.Errorf("%s after the token was revoked: %s (%s)", button, s, p.eval(`document.getElementById('result').textContent`))
		}
		op.RevokeAccessTokens()
	}
	if n := op.Count(devprovider.PathToken) - before; n != 2 {
		t.Errorf("%d token requests, want one refresh per refused call", n)
	}
	if !p.signedIn() {
		t.Error("the page shows signed out")
	}
}

// TestBFFSessionDuringOutage: with the provider down and the access token
// expired, the session endpoint still says who is signed in (and that the
// provider is unreachable), instead of a 503 the page would take for
// "signed out".
func TestBFFSessionDuringOutage(t *testing.T) {
	prov := &setup{lifetime: 2 * time.Second}
	p := newSPA(t, prov)
	op := prov.op
	p.signIn()
	op.SetFault(devprovider.PathToken, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	})
	time.Sleep(3 * time.Second) // the access token expires
	p.run(chromedp.Reload())
	if !p.signedIn() || !strings.Contains(p.eval(`document.getElementById('status').textContent`), "unreachable") {
		t.Errorf("during the outage the page says %q", p.eval(`document.getElementById('status').textContent`))
	}
	if ends := p.eval(`document.getElementById('session-ends').textContent`); !strings.Contains(ends, "Session ends") {
		t.Errorf("session end not shown: %q", ends)
	}
}

// TestBFFSilentSignIn: a silent sign-in without a session at the provider
// lands back on the page signed out, never on an error page; with one, it
// lands back signed in without the form.
func TestBFFSilentSignIn(t *testing.T) {
	p := newSPA(t, &setup{})
	p.run(chromedp.Navigate(p.url), chromedp.WaitVisible("#silent"))
	p.navigateBy("#silent")
	if p.signedIn() || p.eval(`location.pathname`) != "/" {
		t.Errorf("without a provider session: at %s, signed in %v", p.eval(`location.href`), p.signedIn())
	}
	// Signed in at the provider, but not here (the app's cookies gone).
	p.signIn()
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`fetch('/bff/session', {headers: {'X-CSRF': '1'}}).then(r => r.ok)`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	cs, err := chromedp.Call(p.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.url}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs.Cookies {
		if _, err := chromedp.Call(p.ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: c.Name, URL: p.url}); err != nil {
			t.Fatal(err)
		}
	}
	p.run(chromedp.Navigate(p.url), chromedp.WaitVisible("#silent"))
	if p.signedIn() {
		t.Fatal("the app's cookies were not cleared")
	}
	p.navigateBy("#silent")
	if !p.signedIn() {
		t.Error("the silent sign-in did not sign in with the provider's session")
	}
}

// TestBFFThroughDevServer: the page served by a development server on
// another port that proxies /bff and /auth to the app (as Vite's
// server.proxy does) can GET and POST through the proxy, whether the dev
// server keeps the Host header or rewrites it (changeOrigin): the browser
// says the call is same-origin (Sec-Fetch-Site), the one check every
// endpoint makes. (A browser that sends no Sec-Fetch-Site needs the dev
// server's origin in TrustedOrigins when Host is rewritten: middleware's
// TestTrustedOrigins.)
func TestBFFThroughDevServer(t *testing.T) {
	for _, tc := range []struct {
		name        string
		rewriteHost bool
		trust       bool
		wantPOST    string
	}{{"keeps Host", false, false, "200"}, {"rewrites Host", true, false, "200"}, {"rewrites Host, origin trusted", true, true, "200"}} {
		t.Run(tc.name, func(t *testing.T) {
			dev := httptest.NewUnstartedServer(nil)
			devURL := "http://localhost:" + strings.Split(dev.Listener.Addr().String(), ":")[1]
			prov := &setup{}
			if tc.trust {
				prov.trusted = []string{devURL}
			}
			p := newSPA(t, prov)
			app, _ := url.Parse(p.url)
			proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(app)
				if !tc.rewriteHost {
					pr.Out.Host = pr.In.Host
				}
			}}
			files, _ := fs.Sub(static, "static")
			mux := http.NewServeMux()
			mux.Handle("/bff/", proxy)
			mux.Handle("/auth/", proxy)
			mux.Handle("/", http.FileServerFS(files)) // the dev server serves the page itself
			dev.Config.Handler = mux
			dev.Start()
			defer dev.Close()

			p.signIn() // at the app (cookies are per host, not port: the dev server's page has them too)
			p.run(chromedp.Navigate(devURL), chromedp.WaitVisible("#orders"))
			if s := p.call("orders"); s != "200" {
				t.Errorf("GET through the dev server: %s", s)
			}
			if s := p.call("post"); s != tc.wantPOST {
				t.Errorf("POST through the dev server: %s, want %s (%s)", s, tc.wantPOST, p.eval(`document.getElementById('result').textContent`))
			}
		})
	}
}

// TestBFFRealTime: a WebSocket and an event stream through the backend,
// with the user's token added (the API answers for the user); a page of
// another origin can open neither with the user's cookies, even one on the
// same site (localhost on another port: a sibling subdomain in
// production), to which the browser sends SameSite=Lax cookies: the
// WebSocket handshake is refused for its Origin, the EventSource for
// Sec-Fetch-Site. The API never sees the browser's Cookie or Origin on the
// handshake (Chromium sends both to the app).
func TestBFFRealTime(t *testing.T) {
	var mu sync.Mutex
	reached := map[string]int{}
	var handshake http.Header
	p := newSPA(t, &setup{observe: func(r *http.Request) {
		mu.Lock()
		reached[r.URL.Path]++
		if r.URL.Path == "/api/orders/live" {
			handshake = r.Header.Clone()
		}
		mu.Unlock()
	}})
	p.signIn()
	wait := func(id string) string {
		t.Helper()
		p.run(chromedp.Poll[chromedp.Void](`document.getElementById('` + id + `').dataset.done`))
		return p.eval(`document.getElementById('` + id + `').dataset.done + ' ' + document.getElementById('` + id + `').textContent`)
	}
	p.run(chromedp.Click("#live"))
	if got := wait("live-out"); got != "ok orders: ping (for "+devprovider.DemoUser.ID+")" {
		t.Errorf("WebSocket: %q", got)
	}
	mu.Lock()
	for _, k := range []string{"Cookie", "Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode"} {
		if v := handshake.Values(k); len(v) > 0 {
			t.Errorf("the WebSocket handshake brought the browser's %s to the API (%d bytes)", k, len(strings.Join(v, "")))
		}
	}
	if handshake.Get("Sec-Websocket-Key") == "" || !strings.HasPrefix(handshake.Get("Authorization"), "Bearer ") {
		t.Errorf("the API's handshake lacks its key or the token: %d headers", len(handshake))
	}
	mu.Unlock()
	p.run(chromedp.Click("#events"))
	if got := wait("events-out"); got != "ok order 1 for "+devprovider.DemoUser.ID+"\norder 2 for "+devprovider.DemoUser.ID+"\norder 3 for "+devprovider.DemoUser.ID {
		t.Errorf("event stream: %q", got)
	}

	// The attacker's page, on localhost on another port: same site,
	// another origin.
	app, _ := url.Parse(p.url)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><p id="ws"></p><p id="es"></p><script>
const ws = new WebSocket("ws://`+app.Host+`/bff/orders/live");
ws.onopen = () => ws.send("steal");
ws.onmessage = (e) => { document.getElementById("ws").textContent = "stolen: " + e.data; };
ws.onerror = () => { document.getElementById("ws").textContent = "refused"; };
const es = new EventSource("`+p.url+`/bff/orders/events", {withCredentials: true});
es.onmessage = (e) => { document.getElementById("es").textContent = "stolen: " + e.data; };
es.onerror = () => { es.close(); if (!document.getElementById("es").textContent) document.getElementById("es").textContent = "refused"; };
</script>`)
	}))
	defer evil.Close()
	evilURL := "http://localhost:" + strings.Split(evil.Listener.Addr().String(), ":")[1]
	p.run(chromedp.Navigate(evilURL+"/"), chromedp.Poll[chromedp.Void](`document.getElementById('ws').textContent && document.getElementById('es').textContent`))
	if ws, es := p.eval(`document.getElementById('ws').textContent`), p.eval(`document.getElementById('es').textContent`); ws != "refused" || es != "refused" {
		t.Errorf("another origin's page: WebSocket %q, EventSource %q; want both refused", ws, es)
	}
	mu.Lock()
	defer mu.Unlock()
	if n, m := reached["/api/orders/live"], reached["/api/orders/events"]; n != 1 || m != 1 {
		t.Errorf("the APIs got %d WebSocket handshakes and %d event-stream requests, want the page's own 1 each", n, m)
	}
}
