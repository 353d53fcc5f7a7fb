package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/internal/preset"
)

// Endpoints are a provider's URLs. For an OpenID Connect provider, Issuer and
// JWKSURL are required (the ID token is verified against them); for a plain
// OAuth 2.0 provider they are empty.
type Endpoints struct {
	Issuer        string // "iss" of the ID tokens; empty for plain OAuth 2.0
	AuthURL       string // authorization_endpoint (required)
	TokenURL      string // token_endpoint (required)
	UserInfoURL   string // userinfo_endpoint (optional)
	JWKSURL       string // jwks_uri (required with Issuer)
	RevocationURL string // revocation_endpoint, RFC 7009 (optional)
	EndSessionURL string // end_session_endpoint, RP-initiated logout (optional)

	// PARURL is the pushed authorization request endpoint (RFC 9126).
	// Optional.
	PARURL string

	// What discovery says beyond the URLs: see seam.Discovered. A
	// provider given by hand accepts every asymmetric ID token algorithm
	// (RS*, PS*, ES*, EdDSA) that its JWKS's keys verify.
	requirePAR  bool
	responseIss bool
	authMethods []string
	signingAlgs []string
	mtlsAliases map[string]string
	scopes      []string // scopes_supported
	// registrationURL is registration_endpoint (RFC 7591); cimd is
	// client_id_metadata_document_supported.
	registrationURL string
	cimd            bool
	// asIssuer is the issuer of RFC 8414 metadata without jwks_uri, a
	// plain OAuth 2.0 authorization server's (Issuer is then empty): the
	// iss its authorization responses carry (RFC 9207).
	asIssuer string
}

// discoveryConfig is how a provider is discovered (from Discover's
// options, or a preset's).
type discoveryConfig = preset.Discovery

// Provider is an OAuth 2.0 / OpenID Connect provider: its endpoints and, for
// OIDC, its signing keys. A Provider made by Discover may not know its
// endpoints yet; it fetches them on first use. Safe for concurrent use.
type Provider struct {
	name string
	cfg  discoveryConfig
	hc   *http.Client
	q    quirks

	mu        sync.Mutex
	ready     *resolved
	lastErr   error
	lastTry   time.Time
	resolving chan struct{}
}

type resolved struct {
	ep       Endpoints
	oidc     *oidc.Provider // nil for plain OAuth 2.0
	verifier *oidc.IDTokenVerifier
	keys     *keySet  // the verifier's
	tenants  *tenants // a multi-tenant issuer template; nil for one issuer

	// mtls is this with MTLSAliases in place, for clients with a
	// certificate; made once.
	mtlsOnce sync.Once
	mtls     *resolved
}

// asymmetricAlgs are the ID token signature algorithms ever accepted.
var asymmetricAlgs = map[string]bool{
	oidc.RS256: true, oidc.RS384: true, oidc.RS512: true,
	oidc.PS256: true, oidc.PS384: true, oidc.PS512: true,
	oidc.ES256: true, oidc.ES384: true, oidc.ES512: true, oidc.EdDSA: true,
}

var defaultHTTPClient = &http.Client{Timeout: 10 * time.Second}

// Discover returns the provider at issuer, found through OpenID Connect
// discovery (go-oidc), with the issuer checked against the document.
//
// An issuer with no OpenID Connect discovery document (404 or 410 at
// {issuer}/.well-known/openid-configuration) is looked up as an OAuth 2.0
// authorization server (RFC 8414): its metadata at
// /.well-known/oauth-authorization-server inserted between the host and
// the issuer's path, which must name exactly this issuer. Metadata with a
// jwks_uri gives a provider whose ID tokens are verified as OpenID
// Connect's; without one, a plain OAuth 2.0 provider (no ID token, so no
// user: Callback refuses it with an error wrapping confidant.ErrConfig,
// while its tokens can still be refreshed and revoked).
//
// When the provider cannot be reached, or answers with a server error,
// Discover still returns a usable *Provider and a nil error: discovery is
// retried on first use, so an app does not fail for good because its provider
// was briefly down at start. A discovery document that names another issuer
// or cannot be parsed is a configuration mistake and returned as an error
// wrapping ErrInvalidResponse.
//
// A multi-tenant provider's discovery (Microsoft Entra ID's /common/v2.0)
// names an issuer template, https://login.microsoftonline.com/{tenantid}/v2.0:
// Discover refuses it unless providers.WithTenants names the tenants the
// app accepts (or providers.WithAnyTenant accepts every one).
//
// An issuer on plain http that is not a loopback host is discovered on
// first use, once a Client allowed it (Config.AllowInsecureHTTP).
//
// Options: WithName, WithHTTPClient,
// providers.WithTenants, providers.WithAnyTenant.
func Discover(ctx context.Context, issuer string, opts ...ProviderOption) (*Provider, error) {
	return discoverNow(ctx, discoveryOf(issuer, opts))
}

// discoveryOf is how Discover finds issuer, with opts.
func discoveryOf(issuer string, opts []ProviderOption) discoveryConfig {
	o := applyOptions(opts)
	return discoveryConfig{Issuer: issuer, Name: o.Name, HTTPClient: o.HTTPClient,
		RetryInterval: o.RetryInterval, Tenants: o.Tenants, AnyTenant: o.AnyTenant}
}

// discoverNow is Discover with cfg: the provider, discovered now when it
// can be (a provider that is down is discovered on first use).
func discoverNow(ctx context.Context, cfg discoveryConfig) (*Provider, error) {
	p, err := lazyProvider(cfg)
	if err != nil {
		return nil, err
	}
	if u, _ := url.Parse(cfg.Issuer); !netx.SecureOrLoopback(u) {
		// Nothing over plain http before a Client opts in
		// (Config.AllowInsecureHTTP): New refuses it otherwise.
		return p, nil
	}
	if _, err := p.resolve(ctx); err != nil && !errors.Is(err, ErrProviderUnavailable) {
		return nil, err
	}
	return p, nil
}

// lazyProvider returns a provider discovered on first use.
func lazyProvider(cfg discoveryConfig) (*Provider, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: issuer %q is not an absolute http(s) URL", fail.ClientConfig, cfg.Issuer)
	}
	if u.Host == entraV1Host {
		return nil, entraV1(fail.ClientConfig, cfg.Issuer, u)
	}
	if cfg.Name == "" {
		cfg.Name = u.Hostname()
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = 5 * time.Second
	}
	p := &Provider{name: cfg.Name, cfg: cfg, hc: cfg.HTTPClient}
	if p.hc == nil {
		p.hc = defaultHTTPClient
	}
	p.hc = limitClient(p.hc)
	return p, nil
}

// NewProvider returns a provider whose endpoints are given by hand; no
// discovery request is made. name is how the provider is called in sessions
// and errors. Its ID tokens may be signed with any asymmetric algorithm
// (RS*, PS*, ES*, EdDSA) by a key of its JWKS. Options: WithHTTPClient.
// For a plain OAuth 2.0 provider (no Issuer), use OAuth2 instead: it also
// needs to know how to load the user.
func NewProvider(name string, ep Endpoints, opts ...ProviderOption) (*Provider, error) {
	if ep.AuthURL == "" || ep.TokenURL == "" {
		return nil, fmt.Errorf("%w: provider %q needs AuthURL and TokenURL", fail.ClientConfig, name)
	}
	if ep.Issuer != "" && ep.JWKSURL == "" {
		return nil, fmt.Errorf("%w: provider %q has an Issuer but no JWKSURL", fail.ClientConfig, name)
	}
	aliases := map[string]any{}
	for k, v := range ep.mtlsAliases {
		aliases[k] = v
	}
	if ep.mtlsAliases = mtlsAliasesOf(aliases); len(ep.mtlsAliases) != len(aliases) {
		return nil, fmt.Errorf("%w: provider %q: mtls_endpoint_aliases takes https URLs for %s only", fail.ClientConfig, name, strings.Join(mtlsAliased, ", "))
	}
	if ep.Issuer != "" && len(ep.signingAlgs) == 0 {
		for a := range asymmetricAlgs {
			ep.signingAlgs = append(ep.signingAlgs, a)
		}
		slices.Sort(ep.signingAlgs)
	}
	hc := applyOptions(opts).HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	hc = limitClient(hc)
	if name == "" {
		if u, err := url.Parse(ep.AuthURL); err == nil {
			name = u.Hostname()
		}
	}
	p := &Provider{name: name, hc: hc}
	p.ready = p.build(ep, nil)
	return p, nil
}

// Name is the provider's name.
func (p *Provider) Name() string { return p.name }

// Endpoints returns the provider's endpoints, running discovery first if it
// has not succeeded yet.
func (p *Provider) Endpoints(ctx context.Context) (Endpoints, error) {
	r, err := p.resolve(ctx)
	if err != nil {
		return Endpoints{}, err
	}
	return r.ep, nil
}

// isOIDC reports whether the provider issues ID tokens. A Provider that has
// not been discovered yet reports true.
func (p *Provider) isOIDC() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ready == nil || p.ready.ep.Issuer != ""
}

func (p *Provider) build(ep Endpoints, op *oidc.Provider) *resolved {
	r := &resolved{ep: ep, oidc: op}
	if ep.Issuer == "" {
		return r
	}
	if len(r.ep.signingAlgs) == 0 {
		r.ep.signingAlgs = []string{oidc.RS256}
	}
	algs := make([]string, 0, len(r.ep.signingAlgs))
	for _, a := range r.ep.signingAlgs {
		if asymmetricAlgs[a] {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = []string{oidc.RS256}
	}
	r.ep.signingAlgs = algs
	kctx := oidc.ClientContext(context.Background(), p.hc)
	if op == nil {
		r.oidc = (&oidc.ProviderConfig{IssuerURL: ep.Issuer, AuthURL: ep.AuthURL, TokenURL: ep.TokenURL,
			UserInfoURL: ep.UserInfoURL, JWKSURL: ep.JWKSURL, Algorithms: algs}).NewProvider(kctx)
	}
	// Our own key set: fetched once, refetched on an unknown kid at most
	// once per jwksRefetchInterval, concurrent fetches merged.
	r.keys = &keySet{url: ep.JWKSURL, hc: p.hc}
	r.verifier = oidc.NewVerifier(ep.Issuer, r.keys,
		&oidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: algs, SkipExpiryCheck: true})
	return r
}

// verify checks raw's signature and iss with go-oidc's verifier. go-oidc
// keeps only the text of a key set's error: when it fails, the key set is
// asked again whether the provider's keys could not be fetched (a key
// rotation during a JWKS outage), which is ErrProviderUnavailable (try
// again later), not a token to refuse.
func (r *resolved) verify(ctx context.Context, hc *http.Client, raw string) (*oidc.IDToken, error) {
	idt, err := r.verifier.Verify(oidc.ClientContext(ctx, hc), raw)
	if err != nil && r.keys != nil {
		if _, kerr := r.keys.VerifySignature(ctx, raw); errors.Is(kerr, ErrProviderUnavailable) {
			return nil, kerr
		}
	}
	return idt, err
}

// discoveryError is why the provider's last discovery failed, without
// making a request: nil when it is resolved or was never tried.
func (p *Provider) discoveryError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ready != nil {
		return nil
	}
	return p.lastErr
}

// resolve returns the resolved endpoints, discovering them when needed.
// Concurrent callers share one discovery; after a failure, a new attempt is
// made at most once per RetryInterval.
func (p *Provider) resolve(ctx context.Context) (*resolved, error) {
	for {
		p.mu.Lock()
		if p.ready != nil {
			r := p.ready
			p.mu.Unlock()
			return r, nil
		}
		if ch := p.resolving; ch != nil {
			p.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("%w: %w", ErrProviderUnavailable, ctx.Err())
			}
		}
		if p.lastErr != nil && time.Since(p.lastTry) < p.cfg.RetryInterval {
			err := p.lastErr
			p.mu.Unlock()
			return nil, err
		}
		ch := make(chan struct{})
		p.resolving = ch
		p.mu.Unlock()

		r, err := p.discover(ctx)
		p.mu.Lock()
		p.resolving = nil
		p.lastTry = time.Now()
		p.lastErr = err
		if err == nil {
			p.ready = r
		}
		p.mu.Unlock()
		close(ch)
		return r, err
	}
}

// statusRecorder remembers the last HTTP status seen, to tell a provider that
// is down (retry later) from one that answers with a wrong document (fail).
type statusRecorder struct {
	base   http.RoundTripper
	status int
}

func (s *statusRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(r)
	if err == nil {
		s.status = resp.StatusCode
	}
	return resp, err
}

// noDocument is a discovery that found no document at where (status 404
// or 410): the issuer may publish the other kind of metadata. err wraps
// fail.Discovery.
type noDocument struct {
	where, status string
	err           error
}

func (e *noDocument) Error() string { return e.err.Error() }
func (e *noDocument) Unwrap() error { return e.err }

// absentStatus reports whether an answer with status code says there is no
// document at the URL asked.
func absentStatus(code int) bool { return code == http.StatusNotFound || code == http.StatusGone }

// discover finds the provider's metadata: OpenID Connect discovery first
// and, when the issuer has no such document, RFC 8414's; the other way
// round with cfg.AuthorizationServerFirst. An unreachable provider or an
// invalid document (another issuer's) ends the search: only a document
// that is not there lets the other be tried.
func (p *Provider) discover(ctx context.Context) (*resolved, error) {
	first, then := p.discoverOpenID, p.discoverMetadata
	if p.cfg.AuthorizationServerFirst {
		first, then = then, first
	}
	r, err := first(ctx)
	var absent *noDocument
	if !errors.As(err, &absent) {
		return r, err
	}
	r, err = then(ctx)
	var absent2 *noDocument
	switch {
	case errors.As(err, &absent2):
		return nil, fmt.Errorf("%w: %s publishes no metadata (OpenID Connect discovery, RFC 8414): %s answered %s, %s answered %s",
			fail.Discovery, p.cfg.Issuer, absent.where, absent.status, absent2.where, absent2.status)
	case err != nil:
		return nil, fmt.Errorf("%w (after %s answered %s)", err, absent.where, absent.status)
	}
	return r, nil
}

// discoverOpenID is OpenID Connect discovery (go-oidc).
func (p *Provider) discoverOpenID(ctx context.Context) (*resolved, error) {
	rec := &statusRecorder{base: netx.Transport(p.hc.Transport)}
	hc := *p.hc
	hc.Transport = rec
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, &hc), p.cfg.Issuer)
	var mismatch *oidc.IssuerMismatchError
	var tt *tenants
	if errors.As(err, &mismatch) && strings.Count(mismatch.Discovered, tenantPlaceholder) == 1 {
		if len(p.cfg.Tenants) == 0 && !p.cfg.AnyTenant {
			return nil, fmt.Errorf("%w: %s names the multi-tenant issuer %q: name the tenants the app accepts with providers.WithTenants (or providers.WithAnyTenant)",
				fail.Discovery, p.cfg.Issuer, mismatch.Discovered)
		}
		// Each ID token's iss is the template with its own tid, which
		// must be one of the tenants: checked after the signature.
		tt = &tenants{template: mismatch.Discovered, any: p.cfg.AnyTenant, ids: p.cfg.Tenants}
		op, err = oidc.NewProvider(oidc.InsecureIssuerURLContext(oidc.ClientContext(ctx, &hc), tt.template), p.cfg.Issuer)
	}
	if err != nil {
		switch {
		case errors.As(err, &mismatch):
			return nil, issuerMismatch(p.cfg.Issuer, mismatch.Discovered)
		case rec.status == 0 || transientStatus(rec.status):
			return nil, fmt.Errorf("%w: discovery at %s: %w", ErrProviderUnavailable, p.cfg.Issuer, err)
		case absentStatus(rec.status):
			return nil, &noDocument{where: strings.TrimSuffix(p.cfg.Issuer, "/") + "/.well-known/openid-configuration",
				status: fmt.Sprint(rec.status), err: fmt.Errorf("%w: %s: %v", fail.Discovery, p.cfg.Issuer, err)}
		default:
			return nil, keepTooLarge(fmt.Errorf("%w: %s: %v", fail.Discovery, p.cfg.Issuer, err), err)
		}
	}
	var extra metadata
	if err := op.Claims(&extra); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", fail.Discovery, p.cfg.Issuer, err)
	}
	if extra.JWKS == "" {
		return nil, fmt.Errorf("%w: %s has no jwks_uri", fail.Discovery, p.cfg.Issuer)
	}
	oe := op.Endpoint()
	issuer := p.cfg.Issuer
	if tt != nil {
		issuer = tt.template
	}
	ep := Endpoints{Issuer: issuer, AuthURL: oe.AuthURL, TokenURL: oe.TokenURL,
		UserInfoURL: op.UserInfoEndpoint(), JWKSURL: extra.JWKS, RevocationURL: extra.Revocation,
		EndSessionURL: extra.EndSession, signingAlgs: extra.Algs, authMethods: extra.Auth, responseIss: extra.Iss,
		PARURL: extra.PAR, requirePAR: extra.RequirePAR, mtlsAliases: mtlsAliasesOf(extra.MTLS), scopes: extra.Scopes,
		registrationURL: extra.Register, cimd: extra.CIMD}
	r := p.build(ep, op)
	if tt != nil {
		r.tenants = tt
		r.keys = &keySet{url: ep.JWKSURL, hc: p.hc}
		r.verifier = oidc.NewVerifier(ep.Issuer, r.keys,
			&oidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: r.ep.signingAlgs, SkipExpiryCheck: true, SkipIssuerCheck: true})
	}
	return r, nil
}

// metadata is what a discovery document (OpenID Connect discovery or RFC
// 8414 metadata: the same names) says of the provider.
type metadata struct {
	Issuer     string         `json:"issuer"`
	AuthURL    string         `json:"authorization_endpoint"`
	TokenURL   string         `json:"token_endpoint"`
	UserInfo   string         `json:"userinfo_endpoint"`
	Revocation string         `json:"revocation_endpoint"`
	EndSession string         `json:"end_session_endpoint"`
	JWKS       string         `json:"jwks_uri"`
	Algs       []string       `json:"id_token_signing_alg_values_supported"`
	Auth       []string       `json:"token_endpoint_auth_methods_supported"`
	Iss        bool           `json:"authorization_response_iss_parameter_supported"`
	PAR        string         `json:"pushed_authorization_request_endpoint"`
	RequirePAR bool           `json:"require_pushed_authorization_requests"`
	MTLS       map[string]any `json:"mtls_endpoint_aliases"`
	Scopes     []string       `json:"scopes_supported"`
	Register   string         `json:"registration_endpoint"`
	CIMD       bool           `json:"client_id_metadata_document_supported"`
}

// metadataURL is where RFC 8414 3.1 puts the authorization server
// metadata of issuer: /.well-known/oauth-authorization-server between the
// host and the issuer's path, whose terminating "/" is removed first.
func metadataURL(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return "", err
	}
	const wellKnown = "/.well-known/oauth-authorization-server"
	u.Path = wellKnown + strings.TrimSuffix(u.Path, "/")
	if u.RawPath != "" {
		u.RawPath = wellKnown + strings.TrimSuffix(u.RawPath, "/")
	}
	return u.String(), nil
}

// discoverMetadata is RFC 8414 discovery: the issuer's authorization
// server metadata, which must name exactly this issuer (RFC 8414 3.3).
// Metadata with a jwks_uri gives a provider whose ID tokens are verified
// as OpenID Connect's; without one, a plain OAuth 2.0 provider.
func (p *Provider) discoverMetadata(ctx context.Context) (*resolved, error) {
	where, err := metadataURL(p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", fail.Discovery, p.cfg.Issuer, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", fail.Discovery, p.cfg.Issuer, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: authorization server metadata at %s: %w", ErrProviderUnavailable, where, err)
	}
	defer resp.Body.Close()
	switch {
	case transientStatus(resp.StatusCode):
		return nil, fmt.Errorf("%w: authorization server metadata at %s: %s", ErrProviderUnavailable, where, resp.Status)
	case absentStatus(resp.StatusCode):
		return nil, &noDocument{where: where, status: fmt.Sprint(resp.StatusCode), err: fmt.Errorf("%w: %s: %s", fail.Discovery, where, resp.Status)}
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: authorization server metadata at %s: %s", fail.Discovery, where, resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	switch {
	case tooLarge(err):
		return nil, fmt.Errorf("%w: authorization server metadata at %s: %w", fail.Discovery, where, fail.ResponseTooLarge)
	case err != nil:
		return nil, fmt.Errorf("%w: authorization server metadata at %s: %w", ErrProviderUnavailable, where, err)
	}
	var m metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: authorization server metadata at %s (Content-Type %q): %v",
			fail.Discovery, where, netx.ProviderText(resp.Header.Get("Content-Type")), err)
	}
	if m.Issuer != p.cfg.Issuer {
		return nil, issuerMismatch(p.cfg.Issuer, m.Issuer)
	}
	if m.AuthURL == "" || m.TokenURL == "" {
		return nil, fmt.Errorf("%w: authorization server metadata at %s has no authorization_endpoint or no token_endpoint", fail.Discovery, where)
	}
	ep := Endpoints{AuthURL: m.AuthURL, TokenURL: m.TokenURL, RevocationURL: m.Revocation, PARURL: m.PAR,
		authMethods: m.Auth, responseIss: m.Iss, requirePAR: m.RequirePAR, mtlsAliases: mtlsAliasesOf(m.MTLS), scopes: m.Scopes,
		registrationURL: m.Register, cimd: m.CIMD}
	if m.JWKS == "" {
		ep.asIssuer = m.Issuer
		return p.build(ep, nil), nil
	}
	ep.Issuer, ep.JWKSURL, ep.UserInfoURL, ep.EndSessionURL, ep.signingAlgs = m.Issuer, m.JWKS, m.UserInfo, m.EndSession, m.Algs
	return p.build(ep, nil), nil
}

// issuerMismatch explains a discovery document that names another issuer
// than the one configured.
func issuerMismatch(configured, discovered string) error {
	if u, err := url.Parse(discovered); err == nil && u.Host == entraV1Host {
		return entraV1(fail.Discovery, configured, u)
	}
	hint := "an issuer is compared exactly"
	if strings.TrimSuffix(configured, "/") == strings.TrimSuffix(discovered, "/") {
		hint = "they differ only in the trailing slash, and an issuer is compared exactly"
	}
	return fmt.Errorf("%w: %s names issuer %q: %s; if that is your provider, set the issuer to exactly %q",
		fail.Discovery, configured, netx.ProviderText(discovered), hint, netx.ProviderText(discovered))
}

// entraV1Host is the host of Microsoft Entra ID's v1.0 issuers.
const entraV1Host = "sts.windows.net"

// entraV1 refuses Microsoft Entra ID's v1.0 endpoints (issuer
// https://sts.windows.net/TID/, discovered at
// https://login.microsoftonline.com/TID/ without /v2.0): their tokens differ
// in form and claims from the v2.0 ones this SDK takes, so the refusal is
// a choice, made once at start, with the fix.
func entraV1(kind error, configured string, v1 *url.URL) error {
	tid := netx.ProviderText(strings.Trim(v1.Path, "/"))
	return fmt.Errorf("%w: %s is Microsoft Entra ID's v1.0 endpoint (issuer %q), which confidant does not use: set the issuer to https://login.microsoftonline.com/%s/v2.0, or use providers.Entra(%q)",
		kind, configured, netx.ProviderText(v1.String()), tid, tid)
}

// httpClient is the client used for this provider's requests.
func (p *Provider) httpClient() *http.Client { return p.hc }

// tenantPlaceholder stands for the tenant in a multi-tenant issuer
// template.
const tenantPlaceholder = "{tenantid}"

// tenants is a multi-tenant provider's issuer template and the tenants an
// app accepts.
type tenants struct {
	template string
	any      bool
	ids      []string
}

// issuerFor returns tenant tid's issuer, the template filled with tid,
// when the app accepts tid: one of its tenants (or any, with AnyTenant),
// and a tenant ID that changes nothing in the template but the tenant
// (letters, digits, '-', '_', '.', not a dot segment).
func (t *tenants) issuerFor(tid string) (string, bool) {
	if !tenantIDShape(tid) || (!t.any && !slices.Contains(t.ids, tid)) {
		return "", false
	}
	return strings.Replace(t.template, tenantPlaceholder, tid, 1), true
}

func tenantIDShape(tid string) bool {
	if tid == "" || tid == "." || tid == ".." {
		return false
	}
	for _, r := range tid {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// check refuses a token (an ID token, a logout token, a JARM response)
// whose tid is not an accepted tenant or whose iss is not the template
// filled with that tid: the one rule for a tenant's tokens, wherever
// they arrive. The caller wraps the error in its place's sentinel.
func (t *tenants) check(iss string, claims map[string]any) error {
	tid, _ := claims["tid"].(string)
	want, ok := t.issuerFor(tid)
	switch {
	case tid == "":
		return errors.New("no tid from a multi-tenant provider")
	case !ok:
		return fmt.Errorf("tenant %q is not one the app accepts (providers.WithTenants)", netx.ProviderText(tid))
	case iss != want:
		return fmt.Errorf("iss %q is not tenant %q's issuer", netx.ProviderText(iss), netx.ProviderText(tid))
	}
	return nil
}

// issuerOf reports whether iss, seen without a tid (RFC 9207's iss
// parameter, a token's iss before its signature is checked), is the
// issuer of a tenant the app accepts.
func (t *tenants) issuerOf(iss string) bool {
	pre, post, _ := strings.Cut(t.template, tenantPlaceholder)
	rest, okPre := strings.CutPrefix(iss, pre)
	tid, okPost := strings.CutSuffix(rest, post)
	if !okPre || !okPost {
		return false
	}
	want, ok := t.issuerFor(tid)
	return ok && iss == want
}

// hasIssuer reports whether iss is the provider's issuer: the one issuer
// it was discovered with or, for a multi-tenant issuer template
// (providers.WithTenants, providers.WithAnyTenant), the issuer of a tenant the app accepts,
// as sign-in accepts it. It chooses the provider that must verify a token
// by the token's iss, before any key is fetched; the verification then
// holds the iss to the token's own tid. A provider with tenants that has
// not been discovered yet is discovered first (its template is known only
// then); hasIssuer is false when that fails.
func (p *Provider) hasIssuer(ctx context.Context, iss string) bool {
	if iss == "" {
		return false
	}
	p.mu.Lock()
	r := p.ready
	p.mu.Unlock()
	if r == nil && len(p.cfg.Tenants) == 0 && !p.cfg.AnyTenant {
		// Without tenants, discovery accepts only this issuer.
		return iss == p.cfg.Issuer
	}
	if r == nil {
		var err error
		if r, err = p.resolve(ctx); err != nil {
			return false
		}
	}
	if r.tenants != nil {
		return r.tenants.issuerOf(iss)
	}
	return iss == r.ep.Issuer
}
