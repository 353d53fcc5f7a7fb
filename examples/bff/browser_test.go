package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/confidant-go/confidant/internal/testkit/browser"
)

// startBFF runs the example on free ports with access tokens of lifetime
// and returns the app's URL.
func startBFF(t *testing.T, lifetime time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, "localhost:0", "127.0.0.1:0", lifetime, io.Discard, ready) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("bff: %v", err)
		}
	})
	select {
	case u := <-ready:
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
