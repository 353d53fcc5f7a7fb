package client_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
)

// TestTenantRefresh: a session of a multi-tenant provider refreshes within
// its tenant (the refreshed ID token carries the same tid and iss), and a
// refresh token of another tenant presented as this session's is refused
// as another identity.
func TestTenantRefresh(t *testing.T) {
	const a, b = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
	users := map[string][]devprovider.User{a: {{ID: "ua", Username: "ua", Password: "pw", Name: "A"}},
		b: {{ID: "ub", Username: "ub", Password: "pw", Name: "B"}}}
	hosts := &emulate.Hosts{}
	e := emulate.NewEntra(t, hosts, []string{a, b}, users, []devprovider.Client{{ID: "multi", Secret: "s", Redirects: []string{redirect}}})
	prov, err := client.Discover(context.Background(), "https://login.microsoftonline.com/common/v2.0", client.WithTenants(a, b),
		client.WithHTTPClient(hosts.Client()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "multi", ClientSecret: "s", RedirectURL: redirect,
		HTTPClient: hosts.Client(), Scopes: []string{"openid", "profile", "offline_access"}})
	if err != nil {
		t.Fatal(err)
	}
	signIn := func(tid string) *client.Result {
		e.SetHome(tid)
		l, err := c.NewLogin(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		cb, err := e.Tenants[tid].Login(&http.Client{Transport: hosts}, l.URL, users[tid][0])
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Exchange(context.Background(), cb.Query().Get("code"), l)
		if err != nil {
			t.Fatalf("sign-in in %s: %v", tid, err)
		}
		return res
	}
	ra, rb := signIn(a), signIn(b)
	if ra.Issuer != emulate.EntraIssuer(a) || rb.Issuer != emulate.EntraIssuer(b) {
		t.Fatalf("issuers %q, %q", ra.Issuer, rb.Issuer)
	}
	prev := client.Previous{Issuer: ra.Issuer, Subject: ra.User.Subject}
	r, err := c.Refresh(context.Background(), ra.Token.RefreshToken, prev)
	if err != nil {
		t.Fatalf("refresh within the tenant: %v", err)
	}
	if r.IDToken == "" || r.Issuer != ra.Issuer {
		t.Errorf("refreshed ID token %d bytes, issuer %q; want one from %q", len(r.IDToken), r.Issuer, ra.Issuer)
	}
	if _, err := c.Refresh(context.Background(), rb.Token.RefreshToken, prev); !errors.Is(err, client.ErrIdentityChanged) {
		t.Errorf("another tenant's refresh for this session: %v, want ErrIdentityChanged", err)
	}
}
