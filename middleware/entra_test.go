package middleware_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/testkit/emulate"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
	"github.com/confidant-go/confidant/middleware"
	"github.com/confidant-go/confidant/providers"
	"github.com/confidant-go/confidant/session"
)

const (
	contoso  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	fabrikam = "b6a0c7c2-4a1e-4c8e-9f3d-0c9a1d2e3f40"
	personal = "9188040d-6c67-4c5b-b112-36a304b66dad"
)

var entraUsers = map[string][]devprovider.User{
	contoso:  {{ID: "contoso-ada", Username: "ada@contoso.example", Password: "pw", Name: "Ada (Contoso)", Email: "ada@contoso.example"}},
	fabrikam: {{ID: "fabrikam-ada", Username: "ada@fabrikam.example", Password: "pw", Name: "Ada (Fabrikam)", Email: "ada@contoso.example"}},
	personal: {{ID: "personal-bob", Username: "bob@outlook.example", Password: "pw", Name: "Bob", Email: "bob@outlook.example"}},
}

type entraSetup struct {
	hosts  *emulate.Hosts
	e      *emulate.Entra
	app    *testenv.App
	rec    *recordingErrors
	events *eventLog
	clock  *testenv.Clock // the tenants', the client's, the store's and the middleware's
}

// newEntra is an app of one multi-tenant registration, discovered at
// /common/v2.0 with popts (WithTenants or WithAnyTenant), as the README
// shows.
func newEntra(t *testing.T, popts ...client.ProviderOption) *entraSetup {
	s := &entraSetup{hosts: &emulate.Hosts{}, rec: &recordingErrors{}, events: &eventLog{}, clock: &testenv.Clock{}}
	s.app = testenv.NewApp(t, nil, func(appURL string) middleware.Config {
		s.e = emulate.NewEntra(t, s.hosts, s.clock.Now, []string{contoso, fabrikam, personal}, entraUsers, []devprovider.Client{{ID: "multi-app",
			Secret: "multi-secret", Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}})
		prov, err := client.Discover(t.Context(), "https://login.microsoftonline.com/common/v2.0",
			append([]client.ProviderOption{client.WithName("entra"), client.WithHTTPClient(s.hosts.Client())}, popts...)...)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Config{Provider: prov, ClientID: "multi-app", ClientSecret: "multi-secret",
			RedirectURL: appURL + "/auth/callback", Now: s.clock.Now,
			Scopes: []string{"openid", "profile", "email", "offline_access"}})
		if err != nil {
			t.Fatal(err)
		}
		store, err := session.NewCookieStore(session.CookieConfig{Keys: [][]byte{testenv.NewKey()}, Now: s.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		cfg := middleware.Config{Clients: []*client.Client{c}, Store: store, APITransport: s.hosts, OnEvent: s.events.hook, Now: s.clock.Now}
		s.rec.install(&cfg)
		return cfg
	})
	return s
}

// signIn signs the tenant's user in (their home tenant) and returns the
// callback's answer.
func (s *entraSetup) signIn(t *testing.T, hc *http.Client, tid string) *http.Response {
	t.Helper()
	s.e.SetHome(tid)
	resp, _ := get(t, hc, s.app.URL+"/profile")
	cb, err := s.e.Tenants[tid].Login(hc, resp.Header.Get("Location"), entraUsers[tid][0])
	if err != nil {
		t.Fatal(err)
	}
	resp, _ = get(t, hc, cb.String())
	return resp
}

// session is the session hc's cookies carry to the app.
func (s *entraSetup) session(t *testing.T, hc *http.Client) *session.Session {
	t.Helper()
	u, _ := url.Parse(s.app.URL)
	sess, err := testenv.LoadCookies(s.app.Store, hc.Jar.Cookies(u))
	if err != nil || sess == nil {
		t.Fatalf("no session: %v", err)
	}
	return sess
}

// TestEntraTenants: discovery at /common names the issuer template; a
// user of an accepted tenant signs in and, once the access token expired,
// is refreshed within the tenant (one refresh_token grant at that tenant,
// the refreshed ID token its own, the session still its user's); one of
// another tenant is refused, WithAnyTenant lets every tenant in, and an
// app that names no tenant does not start, told how to fix it.
func TestEntraTenants(t *testing.T) {
	t.Run("accepted tenants only", func(t *testing.T) {
		s := newEntra(t, providers.WithTenants(contoso, personal))
		for _, tid := range []string{contoso, personal} {
			hc := testenv.BrowserVia(s.hosts)
			if resp := s.signIn(t, hc, tid); resp.StatusCode != http.StatusFound {
				t.Fatalf("tenant %s: callback %d", tid, resp.StatusCode)
			}
			resp, body := get(t, hc, s.app.URL+"/profile")
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, entraUsers[tid][0].ID) || !strings.Contains(body, tid) {
				t.Errorf("tenant %s: /profile %d %s", tid, resp.StatusCode, body)
			}
			// The key the README tells apps to use.
			var u confidant.User
			json.Unmarshal([]byte(body), &u)
			if id, ok := providers.EntraIDOf(&u); !ok || id.Tenant != tid || id.Object != "oid-"+entraUsers[tid][0].ID {
				t.Errorf("tenant %s: EntraIDOf = %v, %v", tid, id, ok)
			}

			// Past the access token's expiry, the next request refreshes.
			before := s.session(t, hc)
			if n := s.e.Granted(tid, "refresh_token"); n != 0 {
				t.Fatalf("tenant %s: %d refresh grants before the access token expired", tid, n)
			}
			s.clock.Set(before.Expiry.Add(time.Second))
			resp, body = get(t, hc, s.app.URL+"/profile")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("tenant %s: /profile after expiry %d %s", tid, resp.StatusCode, body)
			}
			if n := s.e.Granted(tid, "refresh_token"); n != 1 {
				t.Errorf("tenant %s: %d refresh_token grants at the tenant, want 1", tid, n)
			}
			after := s.session(t, hc)
			if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken || !after.Expiry.After(s.clock.Now()) {
				t.Errorf("tenant %s: the session kept its old tokens (expiry %s, now %s)", tid, after.Expiry, s.clock.Now())
			}
			if after.IDToken == before.IDToken || after.Issuer != emulate.EntraIssuer(tid) || after.Subject != entraUsers[tid][0].ID {
				t.Errorf("tenant %s: after the refresh, issuer %q, subject %q, new ID token %v", tid, after.Issuer, after.Subject, after.IDToken != before.IDToken)
			}
			var ru confidant.User
			json.Unmarshal([]byte(body), &ru)
			if id, ok := providers.EntraIDOf(&ru); !ok || id.Tenant != tid {
				t.Errorf("tenant %s: after the refresh, EntraIDOf = %v, %v", tid, id, ok)
			}
		}
		hc := testenv.BrowserVia(s.hosts)
		if resp := s.signIn(t, hc, fabrikam); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("another tenant's user: callback %d, want 401", resp.StatusCode)
		}
		if err := s.rec.last(); !errors.Is(err, client.ErrInvalidIDToken) || !strings.Contains(err.Error(), "tenant") {
			t.Errorf("refused for %v, want ErrInvalidIDToken naming the tenant", err)
		}
		if resp, _ := get(t, hc, s.app.URL+"/profile"); resp.StatusCode != http.StatusFound {
			t.Errorf("after the refusal: %d, want no session", resp.StatusCode)
		}
	})
	t.Run("any tenant", func(t *testing.T) {
		s := newEntra(t, providers.WithAnyTenant())
		hc := testenv.BrowserVia(s.hosts)
		if resp := s.signIn(t, hc, fabrikam); resp.StatusCode != http.StatusFound {
			t.Fatalf("callback %d", resp.StatusCode)
		}
		if resp, body := get(t, hc, s.app.URL+"/profile"); resp.StatusCode != http.StatusOK || !strings.Contains(body, fabrikam) {
			t.Errorf("/profile %d %s", resp.StatusCode, body)
		}
	})
	t.Run("no tenant named", func(t *testing.T) {
		hosts := &emulate.Hosts{}
		emulate.NewEntra(t, hosts, nil, []string{contoso}, entraUsers, nil)
		_, err := client.Discover(t.Context(), "https://login.microsoftonline.com/common/v2.0", client.WithHTTPClient(hosts.Client()))
		if !errors.Is(err, fail.Discovery) || !strings.Contains(err.Error(), "WithTenants") {
			t.Errorf("Discover without tenants: %v, want ErrDiscovery naming WithTenants", err)
		}
	})
}

// TestEntraV1Token: an ID token of an accepted tenant but with the v1.0
// issuer (https://sts.windows.net/TID/) is refused, by choice: confidant
// takes v2.0 tokens only, and says so at start (client's TestEntraV1Refused).
func TestEntraV1Token(t *testing.T) {
	s := newEntra(t, providers.WithTenants(contoso))
	s.e.AddV1Tenant(t, s.hosts, contoso, entraUsers[contoso], []devprovider.Client{{ID: "multi-app", Secret: "multi-secret",
		Redirects: []string{s.app.URL + "/auth/callback"}}})
	s.e.SetHome("v1:" + contoso)
	hc := testenv.BrowserVia(s.hosts)
	resp, _ := get(t, hc, s.app.URL+"/profile")
	cb, err := s.e.Tenants["v1:"+contoso].Login(hc, resp.Header.Get("Location"), entraUsers[contoso][0])
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, hc, cb.String()); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("callback %d, want 401", resp.StatusCode)
	}
	if err := s.rec.last(); !errors.Is(err, client.ErrInvalidIDToken) || !strings.Contains(err.Error(), "sts.windows.net") {
		t.Errorf("refused for %v, want ErrInvalidIDToken naming the v1.0 issuer", err)
	}
	if resp, _ := get(t, hc, s.app.URL+"/profile"); resp.StatusCode != http.StatusFound {
		t.Errorf("after the refusal: %d, want no session", resp.StatusCode)
	}
}

// TestEntraIssuerOfAnotherTenant: an ID token whose tid names an accepted
// tenant but whose iss is another tenant's (a token minted by a tenant the
// app does not accept, claiming to be from one it does) is refused.
func TestEntraIssuerOfAnotherTenant(t *testing.T) {
	users := map[string][]devprovider.User{contoso: entraUsers[contoso], fabrikam: {{ID: "mallory", Username: "m", Password: "pw",
		Name: "Mallory", Claims: map[string]any{"tid": contoso}}}}
	hosts := &emulate.Hosts{}
	rec := &recordingErrors{}
	var e *emulate.Entra
	app := testenv.NewApp(t, nil, func(appURL string) middleware.Config {
		e = emulate.NewEntra(t, hosts, nil, []string{contoso, fabrikam}, users, []devprovider.Client{{ID: "multi-app",
			Secret: "multi-secret", Redirects: []string{appURL + "/auth/callback"}}})
		prov, err := client.Discover(t.Context(), "https://login.microsoftonline.com/common/v2.0", providers.WithTenants(contoso),
			client.WithHTTPClient(hosts.Client()))
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Config{Provider: prov, ClientID: "multi-app", ClientSecret: "multi-secret",
			RedirectURL: appURL + "/auth/callback"})
		if err != nil {
			t.Fatal(err)
		}
		cfg := middleware.Config{Clients: []*client.Client{c}}
		rec.install(&cfg)
		return cfg
	})
	e.SetHome(fabrikam)
	hc := testenv.BrowserVia(hosts)
	resp, _ := get(t, hc, app.URL+"/profile")
	cb, err := e.Tenants[fabrikam].Login(hc, resp.Header.Get("Location"), users[fabrikam][0])
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, hc, cb.String()); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("callback %d, want 401", resp.StatusCode)
	}
	if err := rec.last(); !errors.Is(err, client.ErrInvalidIDToken) || !strings.Contains(err.Error(), "issuer") {
		t.Errorf("refused for %v, want ErrInvalidIDToken naming the issuer", err)
	}

}

// TestEntraPreset: providers.Entra for the app's own tenant signs its users
// in under the stable name "entra"; a user in more than 200 groups (no
// groups claim, a pointer to Microsoft Graph instead) is refused by a
// groups requirement with fail.DistributedClaim, never as "not a member";
// sign-out goes through Entra's end_session; a multi-tenant preset without
// tenants, or a domain for a tenant, is refused at once.
func TestEntraPreset(t *testing.T) {
	users := map[string][]devprovider.User{contoso: {
		{ID: "member", Username: "member", Password: "pw", Name: "Member", Claims: map[string]any{"groups": []string{"admins"}}},
		{ID: "many-groups", Username: "many", Password: "pw", Name: "Many", Claims: map[string]any{
			"_claim_names":   map[string]any{"groups": "src1"},
			"_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.microsoft.com/v1.0/users/oid-many-groups/getMemberObjects"}}}},
		{ID: "outsider", Username: "outsider", Password: "pw", Name: "Outsider", Claims: map[string]any{"groups": []string{"staff"}}},
	}}
	hosts := &emulate.Hosts{}
	rec := &recordingErrors{}
	var e *emulate.Entra
	app := testenv.NewApp(t, nil, func(appURL string) middleware.Config {
		e = emulate.NewEntra(t, hosts, nil, []string{contoso}, users, []devprovider.Client{{ID: "app", Secret: "secret",
			Redirects: []string{appURL + "/auth/callback"}, PostLogoutRedirects: []string{appURL + "/"}}})
		prov, err := providers.Entra(contoso, client.WithHTTPClient(hosts.Client()))
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Config{Provider: prov, ClientID: "app", ClientSecret: "secret",
			RedirectURL: appURL + "/auth/callback"})
		if err != nil {
			t.Fatal(err)
		}
		cfg := middleware.Config{Clients: []*client.Client{c}}
		rec.install(&cfg)
		return cfg
	})
	app.Mux.Handle("/admin", app.Auth.RequireWith(middleware.Claim("groups", "admins"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "admin")
	})))
	signIn := func(u devprovider.User) *http.Client {
		hc := testenv.BrowserVia(hosts)
		resp, _ := get(t, hc, app.URL+"/profile")
		cb, err := e.Tenants[contoso].Login(hc, resp.Header.Get("Location"), u)
		if err != nil {
			t.Fatal(err)
		}
		if resp, body := get(t, hc, cb.String()); resp.StatusCode != http.StatusFound {
			t.Fatalf("%s: callback %d %s", u.ID, resp.StatusCode, body)
		}
		return hc
	}
	for _, tc := range []struct {
		user        devprovider.User
		status      int
		distributed bool
	}{{users[contoso][0], http.StatusOK, false}, {users[contoso][1], http.StatusForbidden, true}, {users[contoso][2], http.StatusForbidden, false}} {
		hc := signIn(tc.user)
		if resp, body := get(t, hc, app.URL+"/profile"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"Provider":"entra"`) {
			t.Errorf("%s: /profile %d %s", tc.user.ID, resp.StatusCode, body)
		}
		resp, _ := get(t, hc, app.URL+"/admin")
		if resp.StatusCode != tc.status {
			t.Errorf("%s: /admin %d, want %d", tc.user.ID, resp.StatusCode, tc.status)
		}
		if tc.status == http.StatusForbidden {
			if err := rec.last(); !errors.Is(err, fail.Forbidden) || errors.Is(err, fail.DistributedClaim) != tc.distributed {
				t.Errorf("%s: refused for %v; distributed claim: want %v", tc.user.ID, err, tc.distributed)
			}
		}
		if tc.user.ID == "member" {
			resp, err := hc.Post(app.URL+"/auth/logout", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, emulate.EntraIssuer(contoso)+"/") || !strings.Contains(loc, "id_token_hint=") {
				t.Errorf("sign-out to %q, want Entra's end_session with id_token_hint", loc)
			}
		}
	}
	for _, tenant := range []string{"organizations", "common", "contoso.onmicrosoft.com", ""} {
		if _, err := providers.Entra(tenant); !errors.Is(err, fail.ClientConfig) {
			t.Errorf("Entra(%q) without tenants: %v, want fail.MiddlewareConfig", tenant, err)
		}
	}
	if _, err := providers.Entra("organizations", providers.WithTenants(contoso)); err != nil {
		t.Errorf("Entra(organizations) with a tenant: %v", err)
	}
}

// TestEntraCertificate: an app that authenticates with a certificate
// (PrivateKey with its Cert) signs in at Entra, whose token endpoint
// checks the assertion as "Certificate credentials" says (x5t#S256, aud
// the token endpoint); the same key without its certificate named, or a
// certificate of another key, is refused at New or by Entra.
func TestEntraCertificate(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	cert, _ := x509.ParseCertificate(der)
	users := map[string][]devprovider.User{contoso: entraUsers[contoso]}
	for _, tc := range []struct {
		name string
		cert *x509.Certificate
		want int
	}{{"with its certificate", cert, http.StatusFound}, {"without naming the certificate", nil, http.StatusBadRequest}} {
		t.Run(tc.name, func(t *testing.T) {
			hosts := &emulate.Hosts{}
			rec := &recordingErrors{}
			var e *emulate.Entra
			app := testenv.NewApp(t, nil, func(appURL string) middleware.Config {
				e = emulate.NewEntra(t, hosts, nil, []string{contoso}, users, []devprovider.Client{{ID: "app", Secret: "registered",
					Redirects: []string{appURL + "/auth/callback"}}})
				e.Certs["app"] = cert
				prov, err := providers.Entra(contoso, client.WithHTTPClient(hosts.Client()))
				if err != nil {
					t.Fatal(err)
				}
				c, err := client.New(client.Config{Provider: prov, ClientID: "app", PrivateKey: &client.PrivateKey{Key: key, Cert: tc.cert, Alg: "PS256"},
					RedirectURL: appURL + "/auth/callback"})
				if err != nil {
					t.Fatal(err)
				}
				cfg := middleware.Config{Clients: []*client.Client{c}}
				rec.install(&cfg)
				return cfg
			})
			hc := testenv.BrowserVia(hosts)
			resp, _ := get(t, hc, app.URL+"/profile")
			cb, err := e.Tenants[contoso].Login(hc, resp.Header.Get("Location"), entraUsers[contoso][0])
			if err != nil {
				t.Fatal(err)
			}
			if resp, _ := get(t, hc, cb.String()); resp.StatusCode != tc.want {
				t.Errorf("callback %d, want %d; refused for %v", resp.StatusCode, tc.want, rec.last())
			}
			var te *client.TokenError
			if tc.want != http.StatusFound && (!errors.As(rec.last(), &te) || te.Code != "invalid_client") {
				t.Errorf("refused for %v, want Entra's invalid_client", rec.last())
			}
		})
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	prov, _ := providers.Entra(contoso)
	if _, err := client.New(client.Config{Provider: prov, ClientID: "app", PrivateKey: &client.PrivateKey{Key: other, Cert: cert},
		RedirectURL: "https://app.example.com/auth/callback"}); !errors.Is(err, fail.ClientConfig) {
		t.Errorf("a certificate of another key: %v, want ErrConfig", err)
	}
}

// lastRejected is the error of the last Rejected event.
func (l *eventLog) lastRejected() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.ev) - 1; i >= 0; i-- {
		if l.ev[i].Kind == event.Rejected {
			return l.ev[i].Err
		}
	}
	return nil
}

// TestEntraBackchannelLogout pins issue 34 section 4: a logout token from
// an accepted tenant's issuer (the template filled with the token's tid)
// ends that user's session, by sub or by sid, and no other; before, every
// one was refused ("no configured provider has issuer …/TENANT/v2.0") and
// the session stayed. A token of a tenant the app does not accept, and
// tokens whose iss merely looks like an accepted tenant's, are refused
// (400, ErrInvalidLogoutToken) and end nothing.
func TestEntraBackchannelLogout(t *testing.T) {
	s := newEntra(t, providers.WithTenants(contoso, personal))
	s.e.Tenants[personal].SetTokenHook(func(resp map[string]any) {
		// Bob's provider session has a sid, which his ID token carries.
		if raw, ok := resp["id_token"].(string); ok {
			var cl map[string]any
			b, _ := base64URL(strings.Split(raw, ".")[1])
			jsonUnmarshal(b, &cl)
			cl["sid"] = "bob-sid"
			resp["id_token"] = s.e.Tenants[personal].Sign(cl)
		}
	})
	ada, bob := testenv.BrowserVia(s.hosts), testenv.BrowserVia(s.hosts)
	for tid, hc := range map[string]*http.Client{contoso: ada, personal: bob} {
		if resp := s.signIn(t, hc, tid); resp.StatusCode != http.StatusFound {
			t.Fatalf("tenant %s: callback %d", tid, resp.StatusCode)
		}
	}
	adaWho, bobWho := "entra:"+entraUsers[contoso][0].ID, "entra:"+entraUsers[personal][0].ID
	token := func(signer, iss, tid string, extra map[string]any) string {
		now := time.Now().Unix()
		cl := map[string]any{"iss": iss, "aud": []string{"multi-app"}, "iat": now, "exp": now + 120, "jti": rand.Text(),
			"events": map[string]any{logoutEvent: map[string]any{}}}
		if tid != "" {
			cl["tid"] = tid
		}
		for k, v := range extra {
			cl[k] = v
		}
		return s.e.Tenants[signer].Sign(cl)
	}
	adaSub := map[string]any{"sub": entraUsers[contoso][0].ID}
	for _, n := range []struct{ name, token string }{
		{"tenant not accepted", token(fabrikam, emulate.EntraIssuer(fabrikam), fabrikam, adaSub)},
		{"iss of another tenant than tid", token(fabrikam, emulate.EntraIssuer(fabrikam), contoso, adaSub)},
		{"tid of another tenant than iss", token(contoso, emulate.EntraIssuer(contoso), fabrikam, adaSub)},
		{"no tid", token(contoso, emulate.EntraIssuer(contoso), "", adaSub)},
		{"trailing slash", token(contoso, emulate.EntraIssuer(contoso)+"/", contoso, adaSub)},
		{"another host", token(contoso, "https://login.microsoftonline.com.evil.example/"+contoso+"/v2.0", contoso, adaSub)},
		{"the v1.0 issuer", token(contoso, emulate.EntraV1Issuer(contoso), contoso, adaSub)},
		{"the template", token(contoso, emulate.EntraIssuer("{tenantid}"), contoso, adaSub)},
		{"the template, sid", token(personal, emulate.EntraIssuer("{tenantid}"), "{tenantid}", map[string]any{"sid": "bob-sid"})},
	} {
		if status := postLogout(t, s.app.URL, n.token); status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", n.name, status)
		}
		if err := s.events.lastRejected(); !errors.Is(err, fail.InvalidLogoutToken) {
			t.Errorf("%s: refused for %v, want ErrInvalidLogoutToken", n.name, err)
		}
	}
	if who := whoami(t, ada, s.app.URL); who != adaWho {
		t.Errorf("a refused token ended Ada's session: %q", who)
	}
	if who := whoami(t, bob, s.app.URL); who != bobWho {
		t.Errorf("a refused token ended Bob's session: %q", who)
	}

	if status := postLogout(t, s.app.URL, token(contoso, emulate.EntraIssuer(contoso), contoso, adaSub)); status != http.StatusOK {
		t.Errorf("Contoso's logout token for Ada: %d, refused for %v", status, s.events.lastRejected())
	}
	if who := whoami(t, ada, s.app.URL); who != "anonymous" {
		t.Errorf("Ada after her tenant's logout token: %q, want anonymous", who)
	}
	if who := whoami(t, bob, s.app.URL); who != bobWho {
		t.Errorf("Bob after Ada's logout token: %q", who)
	}
	if status := postLogout(t, s.app.URL, token(personal, emulate.EntraIssuer(personal), personal, map[string]any{"sid": "bob-sid"})); status != http.StatusOK {
		t.Errorf("the personal tenant's logout token for Bob's sid: %d, refused for %v", status, s.events.lastRejected())
	}
	if who := whoami(t, bob, s.app.URL); who != "anonymous" {
		t.Errorf("Bob after his sid's logout token: %q, want anonymous", who)
	}
}
