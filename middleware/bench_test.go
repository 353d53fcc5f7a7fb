package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
)

// benchEnv signs one user in with a shared settable clock and returns the
// session cookie.
func benchEnv(b *testing.B, clock *testenv.Clock) (*testenv.Env, []*http.Cookie) {
	b.Helper()
	clock.Set(time.Now())
	env := testenv.New(b, testenv.Options{
		// The clock jumps ahead a token lifetime per storm; keep the ID
		// tokens valid through all of them.
		OP:         func(c *devprovider.Config) { c.IDTokenLifetime = 10000 * time.Hour },
		Client:     func(c *client.Config) { c.Now = clock.Now },
		Middleware: func(c *middleware.Config) { c.Now = clock.Now },
	})
	hc := testenv.Browser()
	env.SignIn(b, hc, "/profile")
	return env, hc.Jar.Cookies(mustURL(env.App.URL))
}

func requestWith(cookies []*http.Cookie) *http.Request {
	req := httptest.NewRequest("GET", "http://127.0.0.1/whoami", nil)
	req.Header.Set("Accept", "application/json")
	testenv.AddCookies(req, cookies)
	return req
}

// BenchmarkRefreshStorm: N goroutines of one session arrive when its token
// is due. Reports token-endpoint calls per storm (want 1) and time per storm.
func BenchmarkRefreshStorm(b *testing.B) {
	for _, n := range []int{10, 100, 200} {
		b.Run("goroutines="+itoa(n), func(b *testing.B) {
			var clock testenv.Clock
			env, cookies := benchEnv(b, &clock)
			h := env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			before := env.OP.Count(devprovider.PathToken)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				clock.Set(clock.Now().Add(5 * time.Minute)) // the session's token is now due
				recs := make([]*httptest.ResponseRecorder, n)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range recs {
					recs[i] = httptest.NewRecorder()
					req := requestWith(cookies)
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						h.ServeHTTP(recs[i], req)
					}()
				}
				b.StartTimer()
				close(start)
				wg.Wait()
				b.StopTimer()
				for _, rec := range recs {
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d", rec.Code)
					}
				}
				cookies = recs[0].Result().Cookies()
				b.StartTimer()
			}
			b.ReportMetric(float64(env.OP.Count(devprovider.PathToken)-before)/float64(b.N), "refreshes/storm")
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
