package testenv

import (
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
)

// Burst sends per API requests (GET /api, Accept: application/json) for
// each session (the cookies of one browser), all at once, each to a random
// app of apps. It counts the responses by status, and the sign-outs (a
// session cookie deleted) under -1.
func Burst(t testing.TB, apps []string, sessions [][]*http.Cookie, per int) map[int]int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	out := map[int]int{}
	start := make(chan struct{})
	for _, cookies := range sessions {
		for range per {
			wg.Go(func() {
				<-start
				req, _ := http.NewRequest("GET", apps[rand.IntN(len(apps))]+"/api", nil)
				req.Header.Set("Accept", "application/json")
				AddCookies(req, cookies)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				defer mu.Unlock()
				out[resp.StatusCode]++
				for _, sc := range resp.Cookies() {
					if sc.MaxAge < 0 {
						out[-1]++
					}
				}
			})
		}
	}
	close(start)
	wg.Wait()
	return out
}
