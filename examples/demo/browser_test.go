package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/testkit/browser"
)

// TestBrowserTwoTabs: two tabs of one browser start a sign-in at the same
// time from different pages; both finish, each back on its own page.
func TestBrowserTwoTabs(t *testing.T) {
	ctx := browser.New(t, 90*time.Second)
	appURL := startDemo(t, 0)
	tabA, cancelA := chromedp.NewContext(ctx)
	defer cancelA()
	tabB, cancelB := chromedp.NewContext(ctx)
	defer cancelB()
	a, b := page{t, tabA}, page{t, tabB}
	// Both reach the provider's form before either submits it.
	a.do(chromedp.Navigate(appURL+"/profile"), chromedp.WaitVisible("#submit"))
	b.do(chromedp.Navigate(appURL+"/api"), chromedp.WaitVisible("#submit"))
	b.do(chromedp.Click("#submit"), chromedp.WaitVisible("#api-status"))
	a.do(chromedp.Click("#submit"), chromedp.WaitVisible("#profile-name"))
	if loc := a.location(); loc != appURL+"/profile" {
		t.Errorf("tab A landed on %s", loc)
	}
	if loc, status := b.location(), b.text("#api-status"); loc != appURL+"/api" || status != "200" {
		t.Errorf("tab B landed on %s with API status %s", loc, status)
	}
}

// TestBrowserSessionOutlivesAccessToken: with 3-second access tokens, a
// signed-in page keeps working (and calling the API) long after the first
// token expired.
func TestBrowserSessionOutlivesAccessToken(t *testing.T) {
	p := page{t, browser.New(t, 90*time.Second)}
	appURL := startDemo(t, 3*time.Second)
	p.do(chromedp.Navigate(appURL+"/api"), chromedp.WaitVisible("#submit"), chromedp.Click("#submit"), chromedp.WaitVisible("#api-status"))
	first := p.text("#api-body")
	time.Sleep(4 * time.Second) // the first access token has expired
	p.do(chromedp.Navigate(appURL+"/api"), chromedp.WaitVisible("#api-status"))
	if loc, status := p.location(), p.text("#api-status"); loc != appURL+"/api" || status != "200" {
		t.Fatalf("after expiry: at %s, API status %s", loc, status)
	}
	if p.text("#api-body") == first {
		t.Error("the API saw the same token after expiry")
	}
}

// TestBrowserDeniedConsent: pressing Deny at the provider lands on the
// app's error page, which says why and offers to sign in again.
func TestBrowserDeniedConsent(t *testing.T) {
	p := page{t, browser.New(t, 90*time.Second)}
	appURL := startDemo(t, 0)
	p.do(chromedp.Navigate(appURL+"/profile"), chromedp.WaitVisible("#deny"), chromedp.Click("#deny"), chromedp.WaitVisible("#reason"))
	title, err := chromedp.Run(p.ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if reason := p.text("#reason"); !strings.Contains(reason, "not granted") || !strings.HasPrefix(p.location(), appURL+"/auth/callback") {
		t.Errorf("error page %q at %s (title %q)", reason, p.location(), title)
	}
	if h1 := p.text("h1"); h1 != "Access denied" {
		t.Errorf("heading %q", h1)
	}
	// "Sign in again" starts a new sign-in.
	p.do(chromedp.Click("#login"), chromedp.WaitVisible("#submit"))
}

// TestBrowserCrossSiteLogout pins a review finding: a page on another site
// that auto-submits a form to /auth/logout signed the user out. Now the
// request is refused and the user stays signed in.
func TestBrowserCrossSiteLogout(t *testing.T) {
	p := page{t, browser.New(t, 90*time.Second)}
	appURL := startDemo(t, 0) // on localhost
	// The attacker's page, on 127.0.0.1: another site to the browser.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/auth/logout"></form>
<script>document.getElementById("f").submit();</script>`, appURL)
	}))
	defer evil.Close()

	p.do(chromedp.Navigate(appURL+"/profile"), chromedp.WaitVisible("#submit"), chromedp.Click("#submit"), chromedp.WaitVisible("#profile-name"))
	// The form leaves the attacker's page for the app's logout.
	p.do(chromedp.Navigate(evil.URL + "/"))
	for deadline := time.Now().Add(10 * time.Second); strings.HasPrefix(p.location(), evil.URL) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	p.do(chromedp.WaitReady("body"))
	if loc := p.location(); !strings.HasPrefix(loc, appURL+"/auth/logout") {
		t.Fatalf("the attacker's form did not reach the app's logout: the browser is at %s", loc)
	}
	if body := p.text("body"); !strings.Contains(body, "Another site asked") {
		t.Errorf("the refusal says %q", body)
	}
	p.do(chromedp.Navigate(appURL+"/profile"), chromedp.WaitReady("body"))
	if loc := p.location(); loc != appURL+"/profile" {
		t.Fatalf("after the cross-site form the user is at %s: signed out", loc)
	}
	if name := p.text("#profile-name"); name != demoUser.Name {
		t.Errorf("profile name %q", name)
	}
}

// TestBrowserSameSiteStrict pins a review finding: with SameSite=Strict
// session cookies Chromium went round a loop of sign-ins (13 authorize
// requests), because the cookie set at the callback does not come with the
// redirects of a chain that the provider started. Now one sign-in lands on
// the page, and a link from another site finds the user signed in.
func TestBrowserSameSiteStrict(t *testing.T) {
	p := page{t, browser.New(t, 90*time.Second)}
	appURL := startDemoWith(t, options{sameSite: http.SameSiteStrictMode}) // on localhost, the provider on 127.0.0.1
	signedIn := func(step string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.WaitVisible("#profile-name")); err != nil {
			t.Fatalf("%s: no profile page (at %s, %d sign-ins started): %v", step, p.location(), loginsStarted(t, p), err)
		}
		if loc, n := p.location(), loginsStarted(t, p); loc != appURL+"/profile" || n != 1 {
			t.Fatalf("%s: at %s after %d sign-ins started, want /profile after 1", step, loc, n)
		}
	}
	p.do(chromedp.Navigate(appURL+"/profile"), chromedp.WaitVisible("#submit"), chromedp.Click("#submit"))
	signedIn("sign-in")

	// A link to the app on another site (127.0.0.1 is another site than
	// localhost): the browser withholds the Strict cookie on that click.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><a id="go" href="%s/profile">the app</a>`, appURL)
	}))
	defer other.Close()
	p.do(chromedp.Navigate(other.URL+"/"), chromedp.WaitVisible("#go"), chromedp.Click("#go"))
	signedIn("link from another site")
}

// loginsStarted counts the sign-ins the demo started in p's browser, from
// its flow events (the page must be on the app).
func loginsStarted(t *testing.T, p page) int {
	t.Helper()
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](
		`fetch("/flow/events").then(r => r.json()).then(l => l.filter(e => e.kind === "`+string(event.LoginStarted)+`").length)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
