package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

	// Another browser's sign-in is not drawn here; its own page shows it.
	other := signInHTTP(t, appURL)
	if n := loginsStarted(t, p); n != 1 {
		t.Errorf("this browser's page counts %d sign-ins, want its own 1", n)
	}
	resp, err := other.Get(appURL + "/flow/events")
	if err != nil {
		t.Fatal(err)
	}
	var theirs []struct{ Kind string }
	json.NewDecoder(resp.Body).Decode(&theirs)
	resp.Body.Close()
	if len(theirs) == 0 || theirs[0].Kind != "login.started" || slices.ContainsFunc(theirs, func(e struct{ Kind string }) bool { return e.Kind == "api.request" }) {
		t.Errorf("the other browser's events: %v, want its sign-in only", theirs)
	}

	// A forged callback: the page says the link is not valid here (not
	// "open the app at its host"), and the diagram draws no provider
	// redirect that never happened, with its error text inside the diagram.
	p.do(chromedp.Click("#do-fail"), chromedp.WaitVisible("#reason"))
	if reason := p.text("#reason"); !strings.Contains(reason, "not valid for this browser") {
		t.Errorf("forged callback page: %q", reason)
	}
	p.do(chromedp.Navigate(appURL+"/flow"), chromedp.WaitVisible("#do-login"))
	var forged []string
	for range 50 {
		if forged, err = chromedp.Run(p.ctx, chromedp.Evaluate[[]string](
			`[...document.querySelectorAll("#arrows g.step")].map(g => g.dataset.kind + ":" + g.dataset.from + ">" + g.dataset.to)`)); err != nil {
			t.Fatal(err)
		}
		if len(forged) > len(want) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := forged[min(len(want), len(forged)):]; !slices.Equal(got, []string{"callback.received:Browser>App", "rejected:App>Browser"}) {
		t.Errorf("forged callback drawn as %v, want the browser's GET and the refusal only", got)
	}
	overflow, err := chromedp.Run(p.ctx, chromedp.Evaluate[float64](
		`Math.max(...[...document.querySelectorAll("#arrows text")].map(t => t.getBBox().x + t.getBBox().width)) - document.getElementById("diagram").width.baseVal.value`))
	if err != nil || overflow > 0 {
		t.Errorf("text runs %.0f px past the diagram's right edge (%v)", overflow, err)
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
