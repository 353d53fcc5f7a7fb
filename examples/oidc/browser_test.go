package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/browser"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestFormPostInChromium: with OIDC_RESPONSE_MODE=form_post, the provider
// (on 127.0.0.1, another site than the app on localhost) POSTs the
// authorization response to the callback. Chromium sends no SameSite=Lax
// cookie with that cross-site POST, so the app answers it with a page that
// POSTs it again from the app's own origin, with the cookies: the user
// lands signed in on the page they asked for. The first POST is answered
// without a token request; the sign-in happens on the second.
func TestFormPostInChromium(t *testing.T) {
	ctx := browser.New(t, 90*time.Second)
	ln, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	appURL := "http://localhost:" + port
	op, err := devprovider.Start(devprovider.Config{Clients: []devprovider.Client{{ID: "ex", Secret: "ex-secret",
		Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	if !strings.HasPrefix(op.Issuer, "http://127.0.0.1:") {
		t.Fatalf("the provider is at %s, not on another site than %s", op.Issuer, appURL)
	}
	env := map[string]string{"OIDC_ISSUER": op.Issuer, "OIDC_CLIENT_ID": "ex", "OIDC_CLIENT_SECRET": "ex-secret",
		"APP_URL": appURL, "OIDC_RESPONSE_MODE": "form_post"}
	h, err := newApp(context.Background(), func(k string) string { return env[k] }, nil, testenv.CollectLogger())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var callbacks []string // method and Sec-Fetch-Site of each callback request
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/auth/callback" {
			mu.Lock()
			callbacks = append(callbacks, r.Method+" "+r.Header.Get("Sec-Fetch-Site"))
			mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	tokens := op.Count(devprovider.PathToken)
	err = chromedp.Do(ctx, chromedp.Navigate(appURL+"/profile"), chromedp.WaitVisible("#submit"), chromedp.Click("#submit"),
		chromedp.WaitVisible("#profile-name"))
	if err != nil {
		mu.Lock()
		t.Fatalf("sign-in with form_post: %v (callbacks: %q)", err, callbacks)
	}
	name, err := chromedp.Run(ctx, chromedp.Text("#profile-name"))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if loc != appURL+"/profile" || name != devprovider.DemoUser.Name {
		t.Errorf("landed on %s as %q", loc, name)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"POST cross-site", "POST same-origin"}; strings.Join(callbacks, ",") != strings.Join(want, ",") {
		t.Errorf("callback requests %q, want %q", callbacks, want)
	}
	if n := op.Count(devprovider.PathToken) - tokens; n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}
