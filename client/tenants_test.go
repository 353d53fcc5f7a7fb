package client_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/providers"
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
	prov, err := client.Discover(context.Background(), "https://login.microsoftonline.com/common/v2.0", providers.WithTenants(a, b),
		client.WithHTTPClient(hosts.Client()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "multi", ClientSecret: "s", RedirectURL: redirect,
		Scopes: []string{"openid", "profile", "offline_access"}})
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
		res, err := c.Callback(context.Background(), cb.Query(), l)
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
	r, err := client.RefreshWith(c, context.Background(), ra.Token.RefreshToken, prev)
	if err != nil {
		t.Fatalf("refresh within the tenant: %v", err)
	}
	if r.IDToken == "" || r.Issuer != ra.Issuer {
		t.Errorf("refreshed ID token %d bytes, issuer %q; want one from %q", len(r.IDToken), r.Issuer, ra.Issuer)
	}
	if _, err := client.RefreshWith(c, context.Background(), rb.Token.RefreshToken, prev); !errors.Is(err, fail.IdentityChanged) {
		t.Errorf("another tenant's refresh for this session: %v, want ErrIdentityChanged", err)
	}
}

// TestTenantRefreshKeepsIssuer pins the issuer check of a refresh within
// a multi-tenant provider (issue 34 §6: TestTenantRefresh's other tenant
// has another subject, so the subject check refused first and the issuer
// check could be removed unseen). The same subject in two accepted
// tenants: a refresh whose new ID token is the other tenant's, or whose
// session names another issuer, is another identity. Previous carries the
// issuer and subject only, so that no other check (aud, azp, auth_time)
// can refuse first.
func TestTenantRefreshKeepsIssuer(t *testing.T) {
	const a, b = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
	same := devprovider.User{ID: "same-sub", Username: "u", Password: "pw", Name: "U"}
	users := map[string][]devprovider.User{a: {same}, b: {same}}
	hosts := &emulate.Hosts{}
	e := emulate.NewEntra(t, hosts, nil, []string{a, b}, users, []devprovider.Client{{ID: "multi", Secret: "s", Redirects: []string{redirect}}})
	prov, err := client.Discover(t.Context(), "https://login.microsoftonline.com/common/v2.0", providers.WithTenants(a, b),
		client.WithHTTPClient(hosts.Client()))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Config{Provider: prov, ClientID: "multi", ClientSecret: "s", RedirectURL: redirect,
		Scopes: []string{"openid", "profile", "offline_access"}})
	if err != nil {
		t.Fatal(err)
	}
	signIn := func(tid string) *client.Result {
		e.SetHome(tid)
		l, err := c.NewLogin(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		cb, err := e.Tenants[tid].Login(&http.Client{Transport: hosts}, l.URL, same)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Callback(t.Context(), cb.Query(), l)
		if err != nil {
			t.Fatalf("sign-in in %s: %v", tid, err)
		}
		return res
	}
	ra, rb := signIn(a), signIn(b)
	if ra.User.Subject != rb.User.Subject || ra.Issuer == rb.Issuer {
		t.Fatalf("subjects %q, %q and issuers %q, %q: want one subject in two issuers", ra.User.Subject, rb.User.Subject, ra.Issuer, rb.Issuer)
	}
	// Each refresh token is used once: the provider rotates it even when
	// the client refuses what it answered.
	for _, tc := range []struct {
		name    string
		refresh func() string
		issuer  string
	}{
		{"the other tenant's token for this session", func() string { return rb.Token.RefreshToken }, ra.Issuer},
		{"a session of another issuer", func() string { return signIn(a).Token.RefreshToken }, emulate.EntraIssuer("33333333-3333-3333-3333-333333333333")},
		{"a session of the template", func() string { return signIn(a).Token.RefreshToken }, emulate.EntraIssuer("{tenantid}")},
	} {
		_, err := client.RefreshWith(c, t.Context(), tc.refresh(), client.Previous{Issuer: tc.issuer, Subject: same.ID})
		if !errors.Is(err, fail.IdentityChanged) {
			t.Errorf("%s: %v, want ErrIdentityChanged", tc.name, err)
		}
	}
	r, err := client.RefreshWith(c, t.Context(), ra.Token.RefreshToken, client.Previous{Issuer: ra.Issuer, Subject: same.ID})
	if err != nil || r.Issuer != ra.Issuer {
		t.Errorf("a refresh within the tenant: %v", err)
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
	if !errors.Is(err, fail.Discovery) || !strings.Contains(err.Error(), "v1.0") || !strings.Contains(err.Error(), want) {
		t.Errorf("discovery of the v1.0 endpoint: %v, want fail.Discovery naming %s", err, want)
	}
	_, err = client.Discover(context.Background(), emulate.EntraV1Issuer(tid), client.WithHTTPClient(hosts.Client()))
	if !errors.Is(err, fail.ClientConfig) || !strings.Contains(err.Error(), want) {
		t.Errorf("the v1.0 issuer: %v, want fail.ClientConfig naming %s", err, want)
	}
	// The v2.0 issuer works, as the message says.
	if _, err := client.Discover(context.Background(), want, client.WithHTTPClient(hosts.Client())); err != nil {
		t.Errorf("the v2.0 issuer: %v", err)
	}
}

// tenantCase is an issuer (and the tid claim beside it, for tokens) that a
// multi-tenant app accepting tenants a and b of Entra's template must
// accept or refuse at every place that matches an issuer.
type tenantCase struct {
	name     string
	iss, tid string
	token    bool // a token with this iss and tid is accepted
	bare     bool // this iss alone (RFC 9207's parameter, no tid) is accepted
}

// tenantCases are the accepted tenants' issuers, one of a tenant the app
// does not accept, and issuers that merely look like an accepted tenant's.
func tenantCases(a, b, c string) []tenantCase {
	return []tenantCase{
		{"accepted tenant", emulate.EntraIssuer(a), a, true, true},
		{"another accepted tenant", emulate.EntraIssuer(b), b, true, true},
		{"tenant not accepted", emulate.EntraIssuer(c), c, false, false},
		{"tid of another accepted tenant", emulate.EntraIssuer(b), a, false, true},
		{"no tid", emulate.EntraIssuer(a), "", false, true},
		{"trailing slash", emulate.EntraIssuer(a) + "/", a, false, false},
		{"suffix", emulate.EntraIssuer(a) + "x", a, false, false},
		{"another host", "https://login.microsoftonline.com.evil.example/" + a + "/v2.0", a, false, false},
		{"http", "http://login.microsoftonline.com/" + a + "/v2.0", a, false, false},
		{"host in capitals", "https://LOGIN.microsoftonline.com/" + a + "/v2.0", a, false, false},
		{"a path before the tenant", "https://login.microsoftonline.com/x/" + a + "/v2.0", a, false, false},
		{"a path after the tenant", emulate.EntraIssuer(a + "/x"), a + "/x", false, false},
		{"a query", emulate.EntraIssuer(a) + "?x=" + a, a, false, false},
		{"the v1.0 issuer", emulate.EntraV1Issuer(a), a, false, false},
		{"the template", emulate.EntraIssuer("{tenantid}"), "{tenantid}", false, false},
		{"the template, tid a", emulate.EntraIssuer("{tenantid}"), a, false, false},
		{"dot-dot tenant", emulate.EntraIssuer(".."), "..", false, false},
		{"empty tenant", emulate.EntraIssuer(""), "", false, false},
	}
}

// TestTenantIssuers pins issue 34's class: a tenant's issuer is accepted
// wherever sign-in accepts it, and nowhere else. For each place that
// matches an issuer (the ID token of a sign-in, RFC 9207's iss parameter,
// a JARM response JWT, a back-channel logout token) the same table: the
// accepted tenants' issuers pass (a logout token was refused before:
// "issued by another provider"), a tenant the app does not accept, a
// token whose iss is not the template filled with its own tid, and issuers
// that merely look like an accepted tenant's are refused, with the place's
// own error. WithAnyTenant lets every tenant in, and still none of the
// look-alikes.
func TestTenantIssuers(t *testing.T) {
	const a, b, c = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222", "33333333-3333-3333-3333-333333333333"
	users := map[string][]devprovider.User{a: {{ID: "ua", Username: "ua", Password: "pw", Name: "A"}}}
	for _, mode := range []string{"WithTenants", "WithAnyTenant"} {
		t.Run(mode, func(t *testing.T) {
			hosts := &emulate.Hosts{}
			e := emulate.NewEntra(t, hosts, nil, []string{a, b, c}, users, []devprovider.Client{{ID: "multi", Secret: "s", Redirects: []string{redirect}}})
			opt := providers.WithTenants(a, b)
			if mode == "WithAnyTenant" {
				opt = providers.WithAnyTenant()
			}
			prov, err := client.Discover(t.Context(), "https://login.microsoftonline.com/common/v2.0", opt, client.WithHTTPClient(hosts.Client()))
			if err != nil {
				t.Fatal(err)
			}
			newClient := func(mode string) *client.Client {
				c, err := client.New(client.Config{Provider: prov, ClientID: "multi", ClientSecret: "s", RedirectURL: redirect,
					ResponseMode: mode})
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			cq, cj := newClient(""), newClient("jwt")
			op := e.Tenants[a] // every tenant's keys are at /common/discovery/v2.0/keys
			claimsOf := func(tc tenantCase, extra map[string]any) map[string]any {
				m := map[string]any{"iss": tc.iss, "aud": []string{"multi"}, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix()}
				if tc.tid != "" {
					m["tid"] = tc.tid
				}
				for k, v := range extra {
					m[k] = v
				}
				return m
			}
			places := []struct {
				name  string
				bare  bool // the place sees an iss alone
				check func(tenantCase) error
				want  error
			}{
				{"ID token", false, func(tc tenantCase) error {
					op.SetTokenHook(func(resp map[string]any) {
						var m map[string]any
						raw, _ := resp["id_token"].(string)
						parts := strings.Split(raw, ".")
						if len(parts) != 3 {
							return
						}
						p, _ := base64.RawURLEncoding.DecodeString(parts[1])
						json.Unmarshal(p, &m)
						m["iss"] = tc.iss
						if delete(m, "tid"); tc.tid != "" {
							m["tid"] = tc.tid
						}
						resp["id_token"] = op.Sign(m)
					})
					defer op.SetTokenHook(nil)
					l, err := cq.NewLogin(t.Context(), nil)
					if err != nil {
						t.Fatal(err)
					}
					cb, err := op.Login(&http.Client{Transport: hosts}, l.URL, users[a][0])
					if err != nil {
						t.Fatal(err)
					}
					_, err = cq.Callback(t.Context(), cb.Query(), l)
					return err
				}, client.ErrInvalidIDToken},
				{"RFC 9207 iss", true, func(tc tenantCase) error {
					return client.CheckResponseIssuer(cq, t.Context(), url.Values{"iss": {tc.iss}, "code": {"x"}})
				}, fail.ResponseIssuer},
				{"JARM response", false, func(tc tenantCase) error {
					_, err := client.AuthorizationResponse(cj, t.Context(), url.Values{"response": {op.Sign(claimsOf(tc, map[string]any{"code": "x", "state": "s"}))}})
					return err
				}, fail.ResponseJWT},
				{"logout token", false, func(tc tenantCase) error {
					_, err := client.VerifyLogoutToken(cq, t.Context(), op.Sign(claimsOf(tc, map[string]any{"sub": "ua", "jti": rand.Text(),
						"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}})), time.Minute)
					return err
				}, fail.InvalidLogoutToken},
			}
			for _, place := range places {
				t.Run(place.name, func(t *testing.T) {
					for _, tc := range tenantCases(a, b, c) {
						ok := tc.token
						if place.bare {
							ok = tc.bare
						}
						if mode == "WithAnyTenant" && tc.name == "tenant not accepted" {
							ok = true
						}
						err := place.check(tc)
						switch {
						case ok && err != nil:
							t.Errorf("%s (iss %q, tid %q): refused: %v", tc.name, tc.iss, tc.tid, err)
						case !ok && !errors.Is(err, place.want):
							t.Errorf("%s (iss %q, tid %q): %v, want %v", tc.name, tc.iss, tc.tid, err, place.want)
						}
					}
				})
			}
		})
	}
}
