package confidanttest_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/confidant-go/confidant/confidanttest"
	"github.com/confidant-go/confidant/session"
)

// get fetches url with browser and returns the status and body.
func get(t *testing.T, browser *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := browser.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// refreshToken is the refresh token of browser's session at app.
func refreshToken(t *testing.T, store session.Store, browser *http.Client, appURL string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", appURL+"/account", nil)
	for _, c := range browser.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	s, err := store.Load(req)
	if err != nil {
		t.Fatal(err)
	}
	return s.RefreshToken
}

// A test moves the app and the provider past the access token's expiry
// with the clock, without waiting; the app refreshes, including after the
// provider rotated its signing keys.
func TestClockAndKeyRotation(t *testing.T) {
	ada := confidanttest.User{Subject: "ada", Name: "Ada Lovelace"}
	clock := confidanttest.NewClock()
	op := confidanttest.NewProvider(t, confidanttest.Options{Users: []confidanttest.User{ada}, Clock: clock})
	app, _, _, store := newApp(t, op.Issuer, op.Register, clock.Now)
	browser := confidanttest.Browser()
	op.SignIn(t, browser, app.URL+"/account", ada)
	first := refreshToken(t, store, browser, app.URL)

	if code, body := get(t, browser, app.URL+"/account"); code != http.StatusOK || op.TokenRequests() != 1 {
		t.Fatalf("before the expiry: %d %q after %d token requests", code, body, op.TokenRequests())
	}
	clock.Add(6 * time.Minute) // past the default 5 minutes
	if code, body := get(t, browser, app.URL+"/account"); code != http.StatusOK || op.TokenRequests() != 2 {
		t.Fatalf("after the expiry: %d %q after %d token requests, want a refresh", code, body, op.TokenRequests())
	}
	second := refreshToken(t, store, browser, app.URL)
	if second == first {
		t.Error("the refresh token was not rotated")
	}

	keys := op.Requests(confidanttest.Keys)
	op.RotateKeys(t)
	clock.Add(2 * time.Hour) // past the first ID token's expiry too
	if code, body := get(t, browser, app.URL+"/account"); code != http.StatusOK || op.TokenRequests() != 3 {
		t.Fatalf("after the key rotation: %d %q after %d token requests", code, body, op.TokenRequests())
	}
	if op.Requests(confidanttest.Keys) <= keys {
		t.Error("the app checked an ID token signed with the new key without fetching the JWKS")
	}
	if n := op.RefreshTokenReuses(); n != 0 {
		t.Errorf("%d refresh token reuses", n)
	}

	// Past the refresh token's lifetime, the session ends with a sign-in.
	clock.Add(25 * time.Hour)
	if code, _ := get(t, browser, app.URL+"/account"); code != http.StatusFound {
		t.Errorf("a day later: %d, want a redirect to sign in", code)
	}
}

// Without rotation, the app keeps using the one refresh token.
func TestNoRefreshTokenRotation(t *testing.T) {
	ada := confidanttest.User{Subject: "ada"}
	clock := confidanttest.NewClock()
	op := confidanttest.NewProvider(t, confidanttest.Options{Users: []confidanttest.User{ada}, Clock: clock,
		NoRefreshTokenRotation: true, AccessTokenLifetime: time.Minute})
	app, _, _, store := newApp(t, op.Issuer, op.Register, clock.Now)
	browser := confidanttest.Browser()
	op.SignIn(t, browser, app.URL+"/account", ada)
	first := refreshToken(t, store, browser, app.URL)
	for i := range 3 {
		clock.Add(2 * time.Minute)
		if code, _ := get(t, browser, app.URL+"/account"); code != http.StatusOK {
			t.Fatalf("refresh %d: %d", i+1, code)
		}
	}
	if n := op.TokenRequests(); n != 4 {
		t.Errorf("%d token requests, want 1 sign-in and 3 refreshes", n)
	}
	if got := refreshToken(t, store, browser, app.URL); got != first {
		t.Error("the refresh token changed without rotation")
	}
}
