package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
)

// TestPlainOAuth2Provider: a provider given by endpoints plus a user loader
// signs in (here against the GitHub emulator, with our own loader).
func TestPlainOAuth2Provider(t *testing.T) {
	hosts := &emulate.Hosts{}
	gh := emulate.NewGitHub(t, hosts, "id", "secret", "http://127.0.0.1:1/cb", "")
	load := func(ctx context.Context, hc *http.Client, tok *oauth2.Token) (confidant.User, error) {
		resp, err := hc.Get("https://api.github.com/user")
		if err != nil {
			return confidant.User{}, err
		}
		defer resp.Body.Close()
		var u struct {
			ID    int    `json:"id"`
			Login string `json:"login"`
		}
		json.NewDecoder(resp.Body).Decode(&u)
		return confidant.User{Subject: "gh-" + u.Login, Name: u.Login}, nil
	}
	if _, err := client.OAuth2("x", "https://github.com/login/oauth/authorize", "https://github.com/login/oauth/access_token", nil); !errors.Is(err, fail.ClientConfig) {
		t.Errorf("no loader: %v", err)
	}
	prov, err := client.OAuth2("example", "https://github.com/login/oauth/authorize", "https://github.com/login/oauth/access_token", load,
		client.WithHTTPClient(hosts.Client()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "id", ClientSecret: "secret", RedirectURL: "http://127.0.0.1:1/cb",
		AuthStyle: client.AuthStylePost})
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.NewLogin(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.Nonce != "" {
		t.Error("nonce drawn for a plain OAuth 2.0 provider")
	}
	cb, err := gh.Authorize(hosts.Client(), l.URL)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Callback(context.Background(), cb.Query(), l)
	if err != nil {
		t.Fatal(err)
	}
	if res.User.Subject != "gh-octocat" || res.IDToken != "" {
		t.Errorf("identity %+v", res.User)
	}
}
