package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/confidant-go/confidant"
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
	e := emulate.NewEntra(t, hosts, nil, []string{a, b}, users, []devprovider.Client{{ID: "multi", Secret: "s", Redirects: []string{redirect}}})
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

// TestEntraIDOf: the Entra key is read from verified claims whose iss is
// the tid's v2.0 issuer; the same claims from another provider's issuer, a
// v1.0 issuer or another tenant's are not an Entra key.
func TestEntraIDOf(t *testing.T) {
	const tid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	user := func(claims string) *confidant.User {
		return &confidant.User{Provider: "entra", Subject: "s", Claims: json.RawMessage(claims)}
	}
	id, ok := client.EntraIDOf(user(`{"iss":"https://login.microsoftonline.com/` + tid + `/v2.0","tid":"` + tid + `","oid":"o-1"}`))
	if !ok || id != (client.EntraID{Tenant: tid, Object: "o-1"}) || id.String() != tid+"/o-1" {
		t.Errorf("EntraIDOf = %v, %v", id, ok)
	}
	for name, claims := range map[string]string{
		"another provider":   `{"iss":"https://sso.example.com/realms/x","tid":"` + tid + `","oid":"o-1"}`,
		"http":               `{"iss":"http://login.microsoftonline.com/` + tid + `/v2.0","tid":"` + tid + `","oid":"o-1"}`,
		"v1.0 issuer":        `{"iss":"https://sts.windows.net/` + tid + `/","tid":"` + tid + `","oid":"o-1"}`,
		"another tenant":     `{"iss":"https://login.microsoftonline.com/11111111-1111-1111-1111-111111111111/v2.0","tid":"` + tid + `","oid":"o-1"}`,
		"no oid":             `{"iss":"https://login.microsoftonline.com/` + tid + `/v2.0","tid":"` + tid + `"}`,
		"no claims":          ``,
		"claims not decoded": `{"iss":1}`,
	} {
		if id, ok := client.EntraIDOf(user(claims)); ok {
			t.Errorf("%s: EntraIDOf = %v, want none", name, id)
		}
	}
	if _, ok := client.EntraIDOf(nil); ok {
		t.Error("EntraIDOf(nil) reported a key")
	}
}

// TestEntraV1Refused: Entra ID's v1.0 endpoints are refused at start with
// the fix, whether the app names the v1.0 issuer or discovers it at
// https://login.microsoftonline.com/TID/ (without /v2.0).
func TestEntraV1Refused(t *testing.T) {
	const tid = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	hosts := &emulate.Hosts{}
	emulate.NewEntra(t, hosts, nil, []string{tid}, nil, nil)
	want := "https://login.microsoftonline.com/" + tid + "/v2.0"
	_, err := client.Discover(context.Background(), "https://login.microsoftonline.com/"+tid+"/", client.WithHTTPClient(hosts.Client()))
	if !errors.Is(err, client.ErrDiscovery) || !strings.Contains(err.Error(), "v1.0") || !strings.Contains(err.Error(), want) {
		t.Errorf("discovery of the v1.0 endpoint: %v, want ErrDiscovery naming %s", err, want)
	}
	_, err = client.Discover(context.Background(), emulate.EntraV1Issuer(tid), client.WithHTTPClient(hosts.Client()))
	if !errors.Is(err, client.ErrConfig) || !strings.Contains(err.Error(), want) {
		t.Errorf("the v1.0 issuer: %v, want ErrConfig naming %s", err, want)
	}
	// The v2.0 issuer works, as the message says.
	if _, err := client.Discover(context.Background(), want, client.WithHTTPClient(hosts.Client())); err != nil {
		t.Errorf("the v2.0 issuer: %v", err)
	}
}
