package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/confidant-go/confidant/internal/testkit/browser"
)

// TestFlowDiagram: after a sign-in and an API call, the flow page draws
// the steps in order (checked in the DOM), and a screenshot is taken.
func TestFlowDiagram(t *testing.T) {
	p := page{t, browser.New(t, 90*time.Second)}
	appURL := startDemo(t, 0)
	p.do(chromedp.Navigate(appURL+"/flow"), chromedp.WaitVisible("#do-login"), chromedp.Click("#do-login"),
		chromedp.WaitVisible("#submit"), chromedp.Click("#submit"), chromedp.WaitVisible("#do-api"))
	if loc := p.location(); loc != appURL+"/flow" {
		t.Fatalf("after sign-in at %s, want back on /flow", loc)
	}
	p.do(chromedp.Click("#do-api"))
	var kinds []string
	for range 50 { // the page polls every second; wait for the API call to be drawn
		var err error
		kinds, err = chromedp.Run(p.ctx, chromedp.Evaluate[[]string](
			`[...document.querySelectorAll("#arrows g.step")].map(g => g.dataset.kind + ":" + g.dataset.from + ">" + g.dataset.to)`))
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(kinds, "api.request:API>App") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	want := []string{
		"login.started:App>Browser", "login.started:Browser>Provider",
		"callback.received:Provider>Browser", "callback.received:Browser>App",
		"state.checked:App>App",
		"code.exchanged:App>Provider", "code.exchanged:Provider>App",
		"id_token.verified:App>App",
		"session.saved:App>Browser",
		"api.request:App>API", "api.request:API>App",
	}
	if !slices.Equal(kinds, want) {
		t.Errorf("arrows\n got %v\nwant %v", kinds, want)
	}
	if status := p.text("#api-result"); status != "API call: 200" {
		t.Errorf("API result %q", status)
	}
	shot, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("CONFIDANT_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "flow.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil || len(shot) < 1000 {
		t.Errorf("screenshot: %d bytes, %v", len(shot), err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))
}
