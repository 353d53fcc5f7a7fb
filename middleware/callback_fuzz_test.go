package middleware_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// FuzzCallback sends arbitrary query strings to the callback of a browser
// that has a sign-in in progress: no panic, never a 5xx, never signed in,
// never a token request (the state cannot be guessed).
func FuzzCallback(f *testing.F) {
	env := testenv.New(f, testenv.Options{})
	hc := testenv.Browser()
	authURL := env.StartLogin(f, hc, "/profile")
	cookies := hc.Jar.Cookies(mustURL(env.App.URL))
	state := authURL.Query().Get("state")
	for _, q := range []string{"", "code=x", "state=" + state[:10] + "&code=abc", "error=access_denied&state=x",
		"state=&code=", "state=%ff%fe", "code=a&code=b&state=c&state=d", strings.Repeat("a=b&", 500),
		"error=server_error&error_description=%3Cscript%3E"} {
		f.Add(q)
	}
	before := env.OP.Count(devprovider.PathToken)
	f.Fuzz(func(t *testing.T, q string) {
		req := httptest.NewRequest("GET", "http://127.0.0.1/auth/callback", nil)
		req.URL.RawQuery = q
		testenv.AddCookies(req, cookies)
		rec := httptest.NewRecorder()
		env.Auth.ServeHTTP(rec, req)
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("callback?%s answered %d", q, rec.Code)
		}
		for _, c := range rec.Result().Cookies() {
			if c.Name == "confidant" && c.MaxAge >= 0 {
				t.Fatalf("callback?%s started a session", q)
			}
		}
		if env.OP.Count(devprovider.PathToken) != before {
			t.Fatalf("callback?%s made a token request", q)
		}
	})
}
