package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/examples/internal/envconfig"
	"github.com/confidant-go/confidant/examples/internal/exampletest"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// TestAppleExample runs the example as its README says (the .p8 key file,
// its Key ID, the Team ID, the Services ID) against the Apple emulator:
// the form_post sign-in, re-submitted from the app's origin, with the name
// of the first sign-in; sign-out.
func TestAppleExample(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(t.TempDir(), "AuthKey_ABC123DEFG.p8")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	hosts := &emulate.Hosts{}
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	user := emulate.AppleUser{User: devprovider.User{ID: "001234.abcdef.0987", Username: "ada@privaterelay.appleid.com", Password: "pw",
		Email: "ada@privaterelay.appleid.com"}, First: "Ada", Last: "Lovelace"}
	apple := emulate.NewApple(t, hosts, time.Now, "com.example.web", appURL+"/auth/callback", key.Public(), "ABC123DEFG", "DEF123GHIJ",
		[]emulate.AppleUser{user})
	env := map[string]string{"APPLE_SERVICES_ID": "com.example.web", "APPLE_TEAM_ID": "DEF123GHIJ", "APPLE_KEY_ID": "ABC123DEFG",
		"APPLE_KEY_FILE": keyFile, "APP_URL": appURL}
	h, err := newApp(context.Background(), envconfig.Env{Getenv: func(k string) string { return env[k] }, HTTPClient: hosts.Client(), Logger: testenv.CollectLogger()})
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	defer app.Close()

	hc := testenv.BrowserVia(hosts)
	resp := exampletest.Do(t, hc, "GET", appURL+"/profile", "")
	cb, err := apple.OP.Login(hc, resp.Header.Get("Location"), user.User)
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
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/profile" {
		t.Fatalf("callback: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var claims map[string]any
	json.Unmarshal([]byte(exampletest.Read(t, exampletest.Do(t, hc, "GET", appURL+"/profile", "application/json"))), &claims)
	if claims["sub"] != user.ID || claims["name"] != nil {
		t.Errorf("profile claims %v, want sub %s and no name (the first sign-in's is unsigned: a display name only)", claims, user.ID)
	}
	if page := exampletest.Read(t, exampletest.Do(t, hc, "GET", appURL+"/profile", "text/html")); !strings.Contains(page, `<h1 id="profile-name">Ada Lovelace</h1>`) {
		t.Errorf("the profile page does not show the first sign-in's name: %s", page)
	}
	if resp = exampletest.Do(t, hc, "POST", appURL+"/auth/logout", ""); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	if resp = exampletest.Do(t, hc, "GET", appURL+"/profile", ""); resp.StatusCode != http.StatusFound {
		t.Errorf("/profile after logout: %d, want the sign-in again", resp.StatusCode)
	}
	if accepted, refused := apple.Secrets.Secrets(); accepted == 0 || refused != 0 {
		t.Errorf("client secrets: %d accepted, %d refused", accepted, refused)
	}
}
