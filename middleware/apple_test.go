package middleware_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/providers"
)

var appleUser = emulate.AppleUser{User: devprovider.User{ID: "001234.abcdef.0987", Username: "ada@privaterelay.appleid.com",
	Password: "pw", Email: "ada@privaterelay.appleid.com"}, First: "Ada", Last: "Lovelace"}

// TestApplePreset: providers.Apple with a SecretJWT, configured as the README
// says, signs in through Apple's form_post (re-submitted from the app's
// origin), takes the user's name from the first sign-in's user field and
// keeps it across a refresh; a second sign-in, which carries no name, still
// signs in.
func TestApplePreset(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	hosts := &emulate.Hosts{}
	var apple *emulate.Apple
	app := testenv.NewApp(t, nil, func(appURL string) middleware.Config {
		apple = emulate.NewApple(t, hosts, clock.Now, "com.example.web", appURL+"/auth/callback", key.Public(), "ABC123DEFG", "DEF123GHIJ",
			[]emulate.AppleUser{appleUser})
		prov, err := providers.Apple(client.WithHTTPClient(hosts.Client()))
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Config{Provider: prov, ClientID: "com.example.web", RedirectURL: appURL + "/auth/callback", Now: clock.Now,
			SecretJWT: &client.SecretJWT{Key: key, KeyID: "ABC123DEFG", Issuer: "DEF123GHIJ"}})
		if err != nil {
			t.Fatal(err)
		}
		return middleware.Config{Clients: []*client.Client{c}, Now: clock.Now}
	})
	signIn := func() *http.Client {
		hc := testenv.BrowserVia(hosts)
		resp, _ := get(t, hc, app.URL+"/profile")
		authURL, _ := url.Parse(resp.Header.Get("Location"))
		if q := authURL.Query(); q.Get("response_mode") != "form_post" || q.Get("scope") != "openid name email" {
			t.Fatalf("authorization request %v", q)
		}
		cb, err := apple.OP.Login(hc, authURL.String(), appleUser.User)
		if err != nil {
			t.Fatal(err)
		}
		fields := cb.Query()
		cb.RawQuery = ""
		for _, site := range []string{"cross-site", "same-origin"} { // Apple's page, then the app's
			req, _ := http.NewRequest("POST", cb.String(), strings.NewReader(fields.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", site)
			if resp, err = hc.Do(req); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("callback: %d", resp.StatusCode)
		}
		return hc
	}
	first := signIn()
	if resp, body := get(t, first, app.URL+"/profile"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"Name":"Ada Lovelace"`) {
		t.Errorf("first sign-in: %d %s", resp.StatusCode, body)
	}
	clock.Add(time.Hour) // past the access token: a refresh, with Apple's ID token (no name)
	tokens := apple.OP.Count(devprovider.PathToken)
	if resp, body := get(t, first, app.URL+"/profile"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"Name":"Ada Lovelace"`) {
		t.Errorf("after a refresh: %d %s", resp.StatusCode, body)
	}
	if n := apple.OP.Count(devprovider.PathToken) - tokens; n != 1 {
		t.Errorf("%d token requests, want 1 refresh", n)
	}
	second := signIn()
	if resp, body := get(t, second, app.URL+"/profile"); resp.StatusCode != http.StatusOK || strings.Contains(body, "Lovelace") {
		t.Errorf("second sign-in (no user field): %d %s", resp.StatusCode, body)
	}
	if accepted, refused := apple.Secrets.Secrets(); accepted == 0 || refused != 0 {
		t.Errorf("client secrets: %d accepted, %d refused", accepted, refused)
	}
}
