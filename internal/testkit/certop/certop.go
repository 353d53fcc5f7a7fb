// Package certop starts panva's oidc-provider, an OpenID Certified provider
// that nobody here wrote, on a free loopback port for one test, configured
// per test. It runs under Node.js from node/ (dependencies pinned in
// node/package-lock.json, installed with `npm ci --prefix
// internal/testkit/certop/node`; scripts/test.sh and .ci/run do it).
//
// Its login and consent pages are small forms of node/server.mjs on the
// provider's interaction API: Login drives them as a browser would (any
// login is an account, any password is accepted, the acr is Provider.ACR,
// the authentication as old as Provider.AuthAge).
// The logout page is the provider's own.
package certop

import (
	"bufio"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
	"github.com/confidant-go/confidant/internal/testkit/testenv"
)

// Client is a client registration (oidc-provider's client metadata).
type Client struct {
	ID                     string   `json:"client_id"`
	Secret                 string   `json:"client_secret,omitempty"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	GrantTypes             []string `json:"grant_types,omitempty"`                // default authorization_code and refresh_token
	AuthMethod             string   `json:"token_endpoint_auth_method,omitempty"` // default client_secret_basic
	BackchannelLogoutURI   string   `json:"backchannel_logout_uri,omitempty"`
	BackchannelLogoutSID   bool     `json:"backchannel_logout_session_required,omitempty"`
	// JWKS holds the client's public keys, for private_key_jwt.
	JWKS *JWKS `json:"jwks,omitempty"`
	// RequireSignedRequestObject makes the provider take this client's
	// authorization requests only as signed request objects (RFC 9101),
	// signed with RequestObjectSigningAlg.
	RequireSignedRequestObject bool   `json:"require_signed_request_object,omitempty"`
	RequestObjectSigningAlg    string `json:"request_object_signing_alg,omitempty"`
	// IDTokenSignedResponseAlg and AuthorizationSignedResponseAlg (JARM)
	// are the algs the provider signs this client's ID tokens and
	// authorization responses with (default RS256).
	IDTokenSignedResponseAlg       string `json:"id_token_signed_response_alg,omitempty"`
	AuthorizationSignedResponseAlg string `json:"authorization_signed_response_alg,omitempty"`
	// TLSClientAuthSubjectDN is the subject (RFC 4514, e.g. "CN=app") of
	// the certificate of a tls_client_auth client (Config.TLS).
	TLSClientAuthSubjectDN string `json:"tls_client_auth_subject_dn,omitempty"`
	// CertificateBoundTokens binds this client's access tokens to its
	// TLS client certificate (RFC 8705 3; Config.TLS).
	CertificateBoundTokens bool `json:"tls_client_certificate_bound_access_tokens,omitempty"`
}

// JWKS is a JSON Web Key Set: {"keys": [...]}.
type JWKS struct {
	Keys []json.RawMessage `json:"keys"`
}

// Config configures one provider.
type Config struct {
	Clients []Client `json:"clients"`
	// AccessTokenTTL is the access tokens' lifetime in seconds (default 3600).
	AccessTokenTTL int `json:"accessTokenTTL,omitempty"`
	// Accounts are the claims of known accounts by ID (sub); any other
	// login is an account named after itself with a verified e-mail.
	Accounts map[string]map[string]any `json:"accounts,omitempty"`
	// Features are merged into oidc-provider's features configuration.
	Features map[string]any `json:"features,omitempty"`
	// DPoPNonce makes the provider ask for its DPoP nonce (RFC 9449 8)
	// in proofs at the token and userinfo endpoints.
	DPoPNonce bool `json:"dpopNonce,omitempty"`
	// ResourceServers turn on resource indicators (RFC 8707): by
	// indicator, the resource server's scopes ({"scope": "read write"}).
	// Its access tokens are JWTs whose aud is the indicator.
	ResourceServers map[string]map[string]string `json:"resourceServers,omitempty"`
	// JWKS are the provider's own signing keys, private JWKs (default:
	// oidc-provider's development keys, one RSA key for RS256).
	JWKS *JWKS `json:"jwks,omitempty"`
	// EnabledJWA is oidc-provider's enabledJWA configuration (the
	// algorithms it signs and accepts, by use).
	EnabledJWA map[string][]string `json:"enabledJWA,omitempty"`
	// ExchangeRefreshToken makes token exchange return a refresh token
	// too, of a grant of its own (see ExchangeRefreshTokens).
	ExchangeRefreshToken bool `json:"exchangeRefreshToken,omitempty"`
	// StrictAssertionAudience makes the provider take a client assertion
	// (private_key_jwt) only when its aud is the issuer or the URL of the
	// endpoint it is sent to (under FAPI 2.0, the issuer only), as a
	// provider that checks aud strictly does. oidc-provider's default also
	// takes the token endpoint's URL at every endpoint (PAR, revocation).
	StrictAssertionAudience bool `json:"strictAssertionAudience,omitempty"`
	// DiscoveryOmit are metadata names left out of the provider's
	// discovery document, as a provider that does not advertise them
	// (what the provider does is unchanged).
	DiscoveryOmit []string `json:"discoveryOmit,omitempty"`
	// KeepRefreshTokens makes the provider keep a refresh token when it is
	// used (default: rotated at every use). FAPI 2.0 asks servers not to
	// rotate.
	KeepRefreshTokens bool `json:"keepRefreshTokens,omitempty"`
	// TLS serves the provider over https, with a certificate from a CA
	// made for the test (Provider.CA), and mutual TLS (RFC 8705) on a
	// second port that asks for client certificates, which discovery
	// names in mtls_endpoint_aliases (token, PAR, userinfo, revocation);
	// the first port asks for none. tls_client_auth certificates come
	// from Provider.ClientCA; certificate-bound tokens are on offer.
	TLS bool `json:"-"`
	// AccessTokenACR puts the acr of the authentication in JWT access
	// tokens (RFC 9068 2.2.1), for a resource server that asks to step
	// up.
	AccessTokenACR bool `json:"accessTokenAcr,omitempty"`
	// TrustPEM is a PEM certificate the provider's own requests trust
	// besides the system's (NODE_EXTRA_CA_CERTS): an app on https with a
	// test certificate, whose client ID metadata document it fetches.
	TrustPEM []byte `json:"-"`
	// CA and ClientCA are the CAs of Provider.CA and Provider.ClientCA,
	// made at Start when nil.
	CA, ClientCA *CA `json:"-"`
}

// Provider is a running oidc-provider.
type Provider struct {
	Issuer string
	// CA issued the provider's https certificate (Config.TLS), and
	// ClientCA issues tls_client_auth client certificates; nil without
	// TLS.
	CA, ClientCA *CA
	// MTLS is the base URL of the port that asks for client certificates
	// (Config.TLS): the provider's routes, as at Issuer.
	MTLS string
	// ACR is the authentication context the next logins report (the ID
	// token's acr): "urn:confidant:pwd" when empty, or
	// "urn:confidant:mfa".
	ACR string
	// AuthAge is how long ago the next logins report the user
	// authenticated (the ID token's auth_time): an old session at the
	// provider. Zero: now.
	AuthAge time.Duration
	cmd     *exec.Cmd
	hc      *http.Client // trusts CA
}

// Dir is where the Node.js project is.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "node")
}

// Start starts a provider for t and stops it when t ends. Without node or
// without node/node_modules the test is skipped, or fails under
// CONFIDANT_REQUIRE_ALL=1.
func Start(t testing.TB, cfg Config) *Provider {
	t.Helper()
	node := testenv.RequireBinary(t, "node")
	if _, err := os.Stat(filepath.Join(Dir(), "node_modules", "oidc-provider")); err != nil {
		testenv.Skip(t, "oidc-provider is not installed: run npm ci --prefix internal/testkit/certop/node")
	}
	for i := range cfg.Clients {
		if cfg.Clients[i].GrantTypes == nil {
			cfg.Clients[i].GrantTypes = []string{"authorization_code", "refresh_token"}
		}
	}
	p := &Provider{hc: http.DefaultClient}
	wire := struct {
		Config
		TLS *tlsFiles `json:"tls,omitempty"`
	}{Config: cfg}
	if cfg.TLS {
		p.CA, p.ClientCA = cfg.CA, cfg.ClientCA
		if p.CA == nil {
			p.CA = NewCA(t, "certop server CA")
		}
		if p.ClientCA == nil {
			p.ClientCA = NewCA(t, "certop client CA")
		}
		server := p.CA.Issue(t, "127.0.0.1", false)
		key, err := x509.MarshalPKCS8PrivateKey(server.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		wire.TLS = &tlsFiles{Cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate[0]})),
			Key: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})), ClientCA: string(p.ClientCA.PEM)}
		p.hc = &http.Client{Transport: p.CA.Transport()}
	}
	js, err := json.Marshal(wire)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = Dir()
	cmd.Env = append(os.Environ(), "CERTOP_CONFIG="+string(js), "NODE_ENV=test")
	if cfg.TrustPEM != nil {
		f := filepath.Join(t.TempDir(), "trust.pem")
		if err := os.WriteFile(f, cfg.TrustPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd.Env = append(cmd.Env, "NODE_EXTRA_CA_CERTS="+f)
	}
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr // read after Wait
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting oidc-provider: %v", err)
	}
	p.cmd = cmd
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("oidc-provider's stderr:\n%s", stderr.String())
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if issuer, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				lines <- issuer
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-lines:
		p.Issuer, p.MTLS, _ = strings.Cut(line, " ")
	case <-time.After(20 * time.Second):
		t.Fatalf("oidc-provider did not start within 20 s")
	}
	for _, c := range cfg.Clients {
		devprovider.RecordIssued(c.Secret)
	}
	// Before the process is stopped (cleanups run last first): what it
	// issued goes to the secret scan.
	t.Cleanup(func() {
		resp, err := p.hc.Get(p.Issuer + "/_test/issued")
		if err != nil {
			t.Errorf("certop: reading what the provider issued: %v", err)
			return
		}
		defer resp.Body.Close()
		var vals []string
		if err := json.NewDecoder(resp.Body).Decode(&vals); err != nil {
			t.Errorf("certop: reading what the provider issued: %v", err)
		}
		devprovider.RecordIssued(vals...)
	})
	return p
}

// Browser is a browser for this provider (a cookie jar, redirects not
// followed) that trusts its CA.
func (p *Provider) Browser() *http.Client {
	if p.CA == nil {
		return testenv.Browser()
	}
	return testenv.BrowserVia(p.CA.Transport())
}

// HTTPClient is an HTTP client that trusts the provider's CA.
func (p *Provider) HTTPClient() *http.Client { return p.hc }

// Counts returns how many requests each path received, and under "_logins"
// how many times a user entered credentials, under "_invalid_grants" how
// many grants it refused as invalid_grant (a refresh token reused, …).
func (p *Provider) Counts(t testing.TB) map[string]int {
	t.Helper()
	resp, err := p.hc.Get(p.Issuer + "/_test/counts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m := map[string]int{}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// ExchangeRefreshTokens reports how many refresh tokens token exchange
// issued (Config.ExchangeRefreshToken) and how many of them the provider
// still honours.
func (p *Provider) ExchangeRefreshTokens(t testing.TB) (issued, live int) {
	t.Helper()
	resp, err := p.hc.Get(p.Issuer + "/_test/exchange-refresh-tokens")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Issued, Live int }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Issued, v.Live
}

var formAction = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)
var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"/?>`)

// Login signs account in at the provider for the authorization URL authURL,
// with hc (a browser: a cookie jar, redirects not followed): it fills the
// login form and, when asked, the consent form, and returns the URL the
// provider sends the browser back to (the app's callback).
func (p *Provider) Login(hc *http.Client, authURL, account string) (*url.URL, error) {
	next := authURL
	for range 12 {
		resp, err := hc.Get(next)
		if err != nil {
			return nil, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			u, err := resp.Request.URL.Parse(loc)
			if err != nil {
				return nil, err
			}
			if !strings.HasPrefix(u.String(), p.Issuer) {
				return u, nil // back at the app
			}
			next = u.String()
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("certop: %s answered %d: %s", next, resp.StatusCode, errorText(body))
		}
		form, action, err := p.fill(resp.Request.URL, string(body), account)
		if err != nil {
			return nil, err
		}
		if resp, err = hc.PostForm(action, form); err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode/100 != 3 || loc == "" {
			return nil, fmt.Errorf("certop: submitting %s answered %d", action, resp.StatusCode)
		}
		u, err := resp.Request.URL.Parse(loc)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(u.String(), p.Issuer) {
			return u, nil
		}
		next = u.String()
	}
	return nil, fmt.Errorf("certop: too many steps at the provider")
}

// fill answers the provider's page: its form's hidden fields, plus the
// account for the login prompt.
func (p *Provider) fill(page *url.URL, body, account string) (url.Values, string, error) {
	m := formAction.FindStringSubmatch(body)
	if m == nil {
		return nil, "", fmt.Errorf("certop: no form on %s: %s", page, errorText([]byte(body)))
	}
	action, err := page.Parse(html.UnescapeString(m[1]))
	if err != nil {
		return nil, "", err
	}
	form := url.Values{}
	for _, h := range hiddenInput.FindAllStringSubmatch(body, -1) {
		form.Set(h[1], html.UnescapeString(h[2]))
	}
	if form.Get("prompt") == "login" {
		form.Set("login", account)
		form.Set("password", "any")
		form.Set("acr", p.ACR)
		if p.AuthAge > 0 {
			form.Set("auth_age", strconv.Itoa(int(p.AuthAge/time.Second)))
		}
	}
	return form, action.String(), nil
}

// EndSession signs the browser out at the provider itself, not started by
// the app: the provider's logout page, confirmed. Back-channel logout
// tokens go to the clients the session signed in to.
func (p *Provider) EndSession(hc *http.Client) error {
	_, err := p.ConfirmLogout(hc, p.Issuer+"/session/end")
	return err
}

// ConfirmLogout opens the provider's logout page at endSessionURL (the
// app's RP-initiated logout redirect, or the provider's own) and answers
// "Yes, sign me out". It returns where the provider sends the browser
// next (the post-logout redirect URI, or the provider's own page).
func (p *Provider) ConfirmLogout(hc *http.Client, endSessionURL string) (*url.URL, error) {
	resp, err := hc.Get(endSessionURL)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("certop: %s answered %d: %s", endSessionURL, resp.StatusCode, errorText(body))
	}
	form, action, err := p.fill(resp.Request.URL, string(body), "")
	if err != nil {
		return nil, err
	}
	form.Set("logout", "yes")
	if resp, err = hc.PostForm(action, form); err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 3 {
		return nil, fmt.Errorf("certop: confirming the logout answered %d", resp.StatusCode)
	}
	return resp.Request.URL.Parse(resp.Header.Get("Location"))
}

func errorText(b []byte) string {
	s := string(b)
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
