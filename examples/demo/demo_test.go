package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/confidant-go/confidant/internal/testkit/browser"
)

// startDemo runs the demo on free loopback ports until the test ends.
func startDemo(t testing.TB, lifetime time.Duration) string {
	t.Helper()
	return startDemoWith(t, options{tokenLifetime: lifetime})
}

// startDemoWith runs the demo with o (its addresses are chosen here) and
// returns the app's URL.
func startDemoWith(t testing.TB, o options) string {
	t.Helper()
	o.appAddr, o.opAddr = "localhost:0", "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, o, io.Discard, ready)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	})
	select {
	case u := <-ready:
		return u
	case err := <-done:
		t.Fatalf("demo did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not start in 30s")
	}
	return ""
}

// page wraps the chromedp calls of one test.
type page struct {
	t   *testing.T
	ctx context.Context
}

func (p page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatal(err)
	}
}

func (p page) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(sel))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (p page) location() string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		p.t.Fatal(err)
	}
	return s
}

// TestDemoInChromium drives the demo in a real headless Chromium: sign in
// through the provider's form, see the profile with its claims, call the
// API with the bearer client, sign out.
func TestDemoInChromium(t *testing.T) {
	p := page{t, browser.New(t, 90*time.Second)}
	appURL := startDemo(t, 0)

	p.do(chromedp.Navigate(appURL + "/"))
	if s := p.text("#status"); !strings.Contains(s, "signed out") {
		t.Fatalf("home page status %q", s)
	}

	// Sign in: the provider's form is pre-filled with the demo user.
	p.do(chromedp.Click("#login"), chromedp.WaitVisible("#submit"))
	if loc := p.location(); strings.HasPrefix(loc, appURL) {
		t.Fatalf("expected the provider's login page, at %s", loc)
	}
	p.do(chromedp.Click("#submit"), chromedp.WaitVisible("#profile-name"))
	if loc := p.location(); loc != appURL+"/profile" {
		t.Fatalf("after sign-in at %s, want the return-to page /profile", loc)
	}
	if name, email, claims := p.text("#profile-name"), p.text("#email"), p.text("#claims"); name != demoUser.Name ||
		email != demoUser.Email || !strings.Contains(claims, `"sub": "`+demoUser.Subject+`"`) {
		t.Fatalf("profile: name %q email %q claims %s", name, email, claims)
	}

	// The API call with the bearer client.
	p.do(chromedp.Click("#call-api"), chromedp.WaitVisible("#api-status"))
	if status, body := p.text("#api-status"), p.text("#api-body"); status != "200" || !strings.Contains(body, demoUser.Subject) {
		t.Fatalf("API call: status %q body %q", status, body)
	}

	// Sign out: local session, then the provider's end_session, then home.
	p.do(chromedp.Click("#logout"), chromedp.WaitVisible("#login"))
	if loc, s := p.location(), p.text("#status"); loc != appURL+"/" || !strings.Contains(s, "signed out") {
		t.Fatalf("after sign-out at %s: %q", loc, s)
	}
	if dir := os.Getenv("CONFIDANT_SCREENSHOTS"); dir != "" {
		shot, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
		if err == nil {
			os.WriteFile(filepath.Join(dir, "demo-signed-out.png"), shot, 0o644)
		}
	}
	// Signed out at the provider too: the profile asks for credentials again.
	p.do(chromedp.Navigate(appURL+"/profile"), chromedp.WaitVisible("#submit"))
}
