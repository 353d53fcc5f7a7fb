package routers

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/middleware"
)

// attackGinApp is GinApp with two more pages written the gin way:
//   - /status-first sets the status first (c.Status), then its headers,
//     which gin allows: gin's writer sends the header map only at the first
//     body write. The README's adapter forwards c.Status to the SDK's
//     WriteHeader, which places the cookie and marks no-store right there;
//     the handler's Cache-Control set afterwards overwrites it.
//   - /reader serves a body with gin's DataFromReader and extra headers
//     (a CDN's own caching field): gin's render calls c.Status first and
//     sets the extra headers after, so CDN-Cache-Control and
//     Surrogate-Control (which a CDN obeys over Cache-Control) ride the
//     response with the sealed session.
func attackGinApp(auth *middleware.Auth, apiURL string) http.Handler {
	r := gin.New()
	r.Any("/auth/*path", gin.WrapH(auth))
	r.GET("/status-first", Gin(auth.Require), func(c *gin.Context) {
		c.Status(http.StatusOK)
		c.Header("Cache-Control", "public, max-age=600")
		c.Writer.WriteString("page of " + name(c.Request))
	})
	r.GET("/reader", Gin(auth.Require), func(c *gin.Context) {
		body := "report of " + name(c.Request)
		c.DataFromReader(http.StatusOK, int64(len(body)), "text/plain", strings.NewReader(body),
			map[string]string{"CDN-Cache-Control": "public, max-age=600", "Surrogate-Control": "max-age=600"})
	})
	return r
}

// TestGinHeadersAfterStatus: a refresh before the handler; the
// response carrying the refreshed session must be no-store with no CDN
// caching field (docs/security.md, "A session never rides a cacheable
// response", "on gin (through the README's adapter)").
// Issue 34, attack review: it failed as described above on the code before
// the fix; it passes since.
func TestGinHeadersAfterStatus(t *testing.T) {
	api := newOrdersAPI(t)
	srv := start(t, attackGinApp, api)
	browser := confidanttest.Browser()
	if _, err := op.SignIn(browser, srv.URL+"/status-first", alice); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/status-first", "/reader"} {
		clock.Add(tokenLifetime) // a refresh before the handler
		resp, err := browser.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		t.Logf("%s: %d, Set-Cookie lines %d, Cache-Control %q, CDN-Cache-Control %q, Surrogate-Control %q", path, resp.StatusCode,
			len(resp.Header.Values("Set-Cookie")), resp.Header.Values("Cache-Control"), resp.Header.Get("CDN-Cache-Control"), resp.Header.Get("Surrogate-Control"))
		if len(resp.Header.Values("Set-Cookie")) == 0 {
			t.Errorf("%s: no Set-Cookie (the refresh was not sent)", path)
			continue
		}
		if cc := resp.Header.Values("Cache-Control"); len(cc) != 1 || cc[0] != "no-store" {
			t.Errorf("%s: a response with the sealed session has Cache-Control %q, want exactly no-store", path, cc)
		}
		for _, k := range []string{"CDN-Cache-Control", "Surrogate-Control"} {
			if v := resp.Header.Get(k); v != "" {
				t.Errorf("%s: a response with the sealed session keeps %s: %q", path, k, v)
			}
		}
	}
}
