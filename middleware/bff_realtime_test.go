package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// rejections records the errors of the Rejected events of an environment
// (and passes every event on to the test process's secret scan).
type rejections struct {
	mu   sync.Mutex
	errs []error
}

func (re *rejections) install(c *middleware.Config) {
	c.OnEvent = func(ctx context.Context, e event.Event) {
		testenv.CollectEvent(ctx, e)
		if e.Kind == event.Rejected {
			re.mu.Lock()
			re.errs = append(re.errs, e.Err)
			re.mu.Unlock()
		}
	}
}

// take returns the errors recorded since the last take.
func (re *rejections) take() []error {
	re.mu.Lock()
	defer re.mu.Unlock()
	errs := re.errs
	re.errs = nil
	return errs
}

// TestEventStreamNeedsFetchMetadata (mutation audit, issue 34): an
// EventSource cannot send X-CSRF, so Proxy takes a GET that asks only for
// text/event-stream on Sec-Fetch-Site: same-origin instead. Chromium
// always sends Fetch Metadata, and a cross-site stream of Chromium's is
// refused by the origin check too; the rule is what refuses a request
// without Fetch Metadata, which the origin check lets through: with no
// Sec-Fetch-Site, with the app's own Origin or none, a stream without
// X-CSRF gets 403 (ErrAntiForgery) and reaches nothing. With the header,
// or from the app's own page (same-origin), it goes through.
func TestEventStreamNeedsFetchMetadata(t *testing.T) {
	api := &echoAPI{}
	var rej rejections
	env := newBFFOpts(t, api, testenv.Options{Middleware: rej.install})
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	for _, tc := range []struct {
		name   string
		header http.Header
		status int
	}{
		{"no Fetch Metadata, no Origin", http.Header{}, http.StatusForbidden},
		{"no Fetch Metadata, the app's own Origin", http.Header{"Origin": {env.App.URL}}, http.StatusForbidden},
		{"Sec-Fetch-Site: none", http.Header{"Sec-Fetch-Site": {"none"}}, http.StatusForbidden},
		{"Sec-Fetch-Site: same-site", http.Header{"Sec-Fetch-Site": {"same-site"}, "Origin": {"http://localhost:1"}}, http.StatusForbidden},
		{"Sec-Fetch-Site: same-origin", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {env.App.URL}}, http.StatusOK},
		{"no Fetch Metadata, with the anti-forgery header", http.Header{middleware.AntiForgeryHeader: {"1"}}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(api.received())
			rej.take()
			req, _ := http.NewRequest("GET", env.App.URL+"/bff/echo/events", nil)
			for k, v := range tc.header {
				req.Header[k] = v
			}
			req.Header.Set("Accept", "text/event-stream")
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			reached := len(api.received()) - before
			if resp.StatusCode != tc.status {
				t.Fatalf("%d, want %d (%d calls reached the API)", resp.StatusCode, tc.status, reached)
			}
			if tc.status == http.StatusOK {
				if reached != 1 {
					t.Errorf("%d calls reached the API, want 1", reached)
				}
				return
			}
			if reached != 0 {
				t.Errorf("%d calls reached the API", reached)
			}
			if errs := rej.take(); len(errs) != 1 || !errors.Is(errs[0], middleware.ErrAntiForgery) {
				t.Errorf("rejected with %v, want one ErrAntiForgery", errs)
			}
		})
	}
}
