package confidanttest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/confidanttest"
)

// TestRegisteredAppsIDTokenLifetime: an app registered with Register gets
// ID tokens that live an hour, as the provider's first apps do; they were
// issued already expired (exp == iat), accepted only within the client's
// clock skew.
func TestRegisteredAppsIDTokenLifetime(t *testing.T) {
	ada := confidanttest.User{Subject: "ada", Name: "Ada Lovelace"}
	op := confidanttest.NewProvider(t, confidanttest.Options{Users: []confidanttest.User{ada}})
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	id, secret := op.Register(app.URL + "/auth/callback")
	prov, err := client.Discover(context.Background(), op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: id, ClientSecret: secret, RedirectURL: app.URL + "/auth/callback"})
	if err != nil {
		t.Fatal(err)
	}
	var pending sync.Map
	var idToken string
	mux.HandleFunc("/auth/login", func(w http.ResponseWriter, r *http.Request) {
		l, err := c.NewLogin(r.Context(), nil)
		if err != nil {
			t.Error(err)
			return
		}
		pending.Store(l.State, l)
		http.Redirect(w, r, l.URL, http.StatusFound)
	})
	mux.HandleFunc("/auth/callback", func(w http.ResponseWriter, r *http.Request) {
		v, _ := pending.LoadAndDelete(r.URL.Query().Get("state"))
		l, _ := v.(*client.Login)
		res, err := c.Callback(r.Context(), r.URL.Query(), l)
		if err != nil {
			t.Error(err)
			return
		}
		idToken = res.IDToken
	})
	if _, err := op.SignIn(confidanttest.Browser(), app.URL+"/auth/login", ada); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		t.Fatalf("ID token %q", idToken)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct{ Exp, Iat int64 }
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(claims.Exp-claims.Iat) * time.Second; got != time.Hour {
		t.Errorf("the ID token lives %v (exp %d, iat %d), want 1h", got, claims.Exp, claims.Iat)
	}
}
