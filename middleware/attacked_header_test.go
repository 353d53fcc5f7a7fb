package middleware_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestNoStoreOverNonCanonicalCacheControl: a handler (or a library ported from
// a framework that keeps header names as written, or one that sets HTTP/2
// style lower-case names) writes the caching field straight into the map
// under a non-canonical key. netx.NoStore deletes any casing of the CDN
// fields but only Set()s the canonical "Cache-Control": the handler's
// "cache-control: public, max-age=600" goes out beside it, with the sealed
// session. (Compliant caches still obey the no-store among the combined
// values; a cache that takes the last field value does not.)
// Issue 34, attack review: it failed as described above on the code before
// the fix; it passes since.
func TestNoStoreOverNonCanonicalCacheControl(t *testing.T) {
	clock := testenv.NewClock(time.Now().Truncate(time.Second))
	env := testenv.New(t, testenv.Options{Clock: clock})
	env.Mux.Handle("/page", env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["cache-control"] = []string{"public, max-age=600"}
		w.Write([]byte("page"))
	})))
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	clock.Add(4*time.Minute + time.Second)
	resp, _ := env.Get(t, hc, "/page")
	t.Logf("/page: %d, Set-Cookie lines %d, Cache-Control %q", resp.StatusCode, len(resp.Header.Values("Set-Cookie")), resp.Header.Values("Cache-Control"))
	if len(resp.Header.Values("Set-Cookie")) == 0 {
		t.Fatal("no refresh cookie")
	}
	if cc := resp.Header.Values("Cache-Control"); len(cc) != 1 || cc[0] != "no-store" {
		t.Errorf("a response with the sealed session has Cache-Control %q, want exactly no-store", cc)
	}
}
