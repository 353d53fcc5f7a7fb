package client

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/dpop"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/internal/sink"
)

// AuthStyle is how the client authenticates to the token endpoint.
type AuthStyle int

const (
	// AuthStyleAuto picks the method from the provider: a preset's own
	// (Auth0: client_secret_post), else discovery's
	// token_endpoint_auth_methods_supported (client_secret_basic when
	// listed or when the list is absent, client_secret_post when only it
	// is listed). When both are listed and the provider refuses
	// client_secret_basic with invalid_client, the request is made once
	// more with client_secret_post, which is then kept. The default.
	AuthStyleAuto AuthStyle = iota
	// AuthStyleBasic sends the client ID and secret in an HTTP Basic
	// Authorization header (client_secret_basic).
	AuthStyleBasic
	// AuthStylePost sends them as client_id and client_secret form fields
	// (client_secret_post).
	AuthStylePost
	// AuthStylePrivateKeyJWT sends a JWT signed with Config.PrivateKey
	// (private_key_jwt, RFC 7523) instead of a secret.
	AuthStylePrivateKeyJWT
	// AuthStyleTLSClientAuth authenticates with Config.ClientCertificate,
	// issued by a CA the provider trusts and registered by its subject
	// (tls_client_auth, RFC 8705 2.1): the TLS connection is the proof;
	// the form carries only client_id.
	AuthStyleTLSClientAuth
	// AuthStyleSelfSignedTLSClientAuth authenticates with a self-signed
	// Config.ClientCertificate registered by its public key in the
	// client's JWKS (self_signed_tls_client_auth, RFC 8705 2.2). The
	// client sends the same as with AuthStyleTLSClientAuth; the two differ
	// in what the provider checks.
	AuthStyleSelfSignedTLSClientAuth
)

// String is the method's name in discovery and client registration.
func (s AuthStyle) String() string {
	switch s {
	case AuthStyleBasic:
		return "client_secret_basic"
	case AuthStylePost:
		return "client_secret_post"
	case AuthStylePrivateKeyJWT:
		return "private_key_jwt"
	case AuthStyleTLSClientAuth:
		return "tls_client_auth"
	case AuthStyleSelfSignedTLSClientAuth:
		return "self_signed_tls_client_auth"
	}
	return "auto"
}

// Config configures a Client. New copies it; changing it afterwards has no
// effect.
type Config struct {
	// Provider is where users sign in.
	// Required.
	Provider *Provider

	// ClientID and ClientSecret are the app's registration at the
	// provider.
	// Required; PrivateKey, SecretJWT or ClientCertificate may replace
	// ClientSecret.
	ClientID     string
	ClientSecret string

	// RedirectURL is the absolute URL of the app's callback, exactly as
	// registered at the provider.
	// Required.
	RedirectURL string

	// Scopes are requested at sign-in. "openid" is added when the provider
	// is OIDC and it is missing. Ask for offline_access to get a refresh
	// token from providers that require it.
	// Default: the preset's own, else openid, profile, email for an OpenID
	// Connect provider; none for a plain OAuth 2.0 provider.
	Scopes []string

	// AuthParams are extra query parameters sent with every authorization
	// request (e.g. "audience", "prompt"). Protocol parameters (state,
	// nonce, code_challenge, …) cannot be overridden.
	// Default: none.
	AuthParams url.Values

	// AuthStyle selects client_secret_basic, client_secret_post,
	// private_key_jwt, tls_client_auth or self_signed_tls_client_auth.
	// AuthStyleAuto picks private_key_jwt when PrivateKey is set and the
	// provider accepts it (or does not say); mutual TLS when
	// ClientCertificate is the only credential; else the provider's (see
	// AuthStyleAuto).
	// Default: AuthStyleAuto.
	AuthStyle AuthStyle

	// PrivateKey authenticates the client with private_key_jwt (RFC 7523):
	// a short-lived JWT signed with it goes with every token, refresh,
	// revocation and pushed authorization request. ClientSecret is then
	// optional.
	// Default: none.
	PrivateKey *PrivateKey

	// ClientCertificate is the client's TLS certificate, for mutual TLS
	// (RFC 8705). It is presented on every back-channel request to the
	// provider, at the provider's mtls_endpoint_aliases when discovery
	// names them (token, PAR, userinfo, revocation), and, through
	// Transport (the middleware's API calls), to the APIs. It
	// authenticates the client with AuthStyleTLSClientAuth or
	// AuthStyleSelfSignedTLSClientAuth (the default when it is the only
	// credential), and a provider that binds tokens to it
	// (tls_client_certificate_bound_access_tokens in the registration)
	// issues access tokens that an API takes only over it. Its PrivateKey
	// may be any crypto.Signer (a KMS or HSM key). The Transport of the
	// provider's HTTP client (WithHTTPClient) must then be nil or an
	// *http.Transport, which is copied with the certificate.
	// Default: none.
	ClientCertificate *tls.Certificate

	// ResponseMode is how the provider returns the authorization response
	// to the RedirectURL: "" (query parameters of a redirect) or
	// "form_post" (a page of the provider's POSTs them: Apple's mode
	// when it is asked for the name or e-mail). The middleware's callback
	// accepts the POST, from the provider's site, only with "form_post"
	// (or "form_post.jwt").
	//
	// "jwt", "query.jwt" and "form_post.jwt" ask for a JWT authorization
	// response (JARM): the provider signs it, and Callback verifies its
	// signature, iss, aud and exp before any of its parameters (state
	// first) is used. An OpenID Connect provider only.
	// Default: none (query parameters of a redirect); the preset's own
	// (Apple: form_post), and "jwt" under FAPI "2.0-message-signing".
	ResponseMode string

	// SecretJWT, instead of ClientSecret, has the client sign its own
	// secret, a short-lived JWT renewed before it expires (Sign in with
	// Apple).
	// Default: none.
	SecretJWT *SecretJWT

	// LoginParams are the authorization parameters that the app's login
	// route (middleware's /auth/login?…) passes on from its query string,
	// each at most 512 bytes. A non-nil empty list passes none. Parameters
	// the app sets itself (AuthParams, Auth.SignIn) are not limited by it.
	// Default: prompt, login_hint, max_age, acr_values and ui_locales for
	// an OpenID Connect provider, plus the preset's own (Auth0:
	// organization, invitation, screen_hint; GitHub: login, allow_signup).
	LoginParams []string

	// DPoP binds the tokens to a key pair made at each sign-in (RFC 9449):
	// every token and refresh request carries a proof of the key (with the
	// provider's nonce when it asks for one: one retry), and a stolen
	// token is useless without the key. Result.DPoPKey is the key, which
	// the middleware keeps sealed in the session and uses for API calls.
	// A provider that does not bind tokens answers Bearer tokens, and the
	// key is dropped.
	// Default: off.
	DPoP bool

	// PAR pushes every authorization request to the provider's pushed
	// authorization request endpoint (RFC 9126) when it has one, so that
	// the browser carries only client_id and request_uri. A provider whose
	// discovery says require_pushed_authorization_requests gets them
	// pushed without it.
	// Default: off.
	PAR bool

	// FAPI turns on a FAPI 2.0 profile and refuses at New what it
	// forbids, each refusal a confidant.ErrConfig that names the setting:
	//   - "2.0", the Security Profile: every authorization request pushed
	//     (PAR; a provider without the endpoint fails the sign-in), PKCE
	//     S256 (always on), client authentication by private_key_jwt
	//     (PrivateKey) or mutual TLS (ClientCertificate; tls_client_auth
	//     or self_signed_tls_client_auth), never a secret (ClientSecret,
	//     SecretJWT); PS256, ES256 or EdDSA signatures (an RSA key signs PS256
	//     unless PrivateKey.Alg says otherwise, which is then refused); a
	//     sender constraint: DPoP, or certificate-bound tokens
	//     (ClientCertificate, with the registration's
	//     tls_client_certificate_bound_access_tokens); a provider from
	//     discovery with one issuer that matched exactly; the client
	//     assertion's aud the issuer, as a string; ID tokens signed other
	//     than PS256, ES256 or EdDSA are refused; an authorization
	//     response without iss (RFC 9207) is refused (ErrInvalidResponse)
	//     whether or not discovery advertises
	//     authorization_response_iss_parameter_supported;
	//   - "2.0-message-signing" adds JAR (RequestObject, signed with
	//     PrivateKey, which is then required) and JARM (ResponseMode "jwt"
	//     unless another JARM mode is set).
	// Default: none (no profile).
	FAPI string

	// RequestObject signs each authorization request as a request object
	// (JAR, RFC 9101) with PrivateKey: typ oauth-authz-req+jwt, iss and
	// client_id the client, aud the provider's issuer, nbf and iat now,
	// exp five minutes on, a jti. It is pushed (PAR) when the provider has
	// a pushed authorization request endpoint, so that the browser carries
	// only client_id and request_uri; else it goes by value in the URL
	// (request=). Register the key and the alg at the provider
	// (request_object_signing_alg). Needs PrivateKey and an OpenID Connect
	// provider.
	// Default: off.
	RequestObject bool

	// PARLimit bounds the pushed authorization requests this client sends
	// per second (with bursts of twice as many). Every anonymous page load
	// of a protected route starts a sign-in, and with PAR each costs a
	// provider call and, with private_key_jwt, a signature (a KMS call):
	// the bound keeps a flood of anonymous traffic from spending the
	// provider's rate limits and the key's budget. A sign-in beyond it
	// fails with ErrProviderUnavailable (try again).
	// Default: 50; negative: no bound.
	PARLimit int

	// AllowInsecureHTTP accepts a RedirectURL, and a discovered issuer
	// (Discover, Keycloak, GitLab), on plain http that is not a loopback
	// host: codes, tokens and session cookies then travel in clear, only
	// for a closed test network. Without it, only https, or http on
	// loopback (development), is accepted.
	// Default: off.
	AllowInsecureHTTP bool

	// FetchUserInfo calls the userinfo endpoint after the code exchange,
	// requires its sub to equal the ID token's, and merges its claims
	// into the identity.
	// Default: off (the ID token is enough); on for a preset that needs it
	// (GitLab, whose groups are in userinfo).
	FetchUserInfo bool

	// ClockSkew is the leeway allowed on the ID token's exp and iat.
	// Default: 1m.
	ClockSkew time.Duration

	// Logger and OnEvent receive an event for each step of the protocol
	// (code exchanged, ID token verified, userinfo fetched, refresh started
	// / done / failed), as middleware.Config's do.
	// Default: none; middleware.New gives a client without either its own
	// Logger and OnEvent.
	Logger  *slog.Logger
	OnEvent event.Hook

	// Now is the clock.
	// Default: time.Now.
	Now func() time.Time
}

// Client runs the OAuth 2.0 / OIDC protocol for one app registration at one
// provider. Safe for concurrent use.
type Client struct {
	cfg     Config
	hc      *http.Client     // the provider's, with ClientCertificate
	sink    sink.Sink        // Config.Logger and OnEvent, or middleware.New's
	signer  *assertionSigner // private_key_jwt; nil without PrivateKey
	minter  *secretMinter    // SecretJWT; nil without
	learned *atomic.Int32    // AuthStyle learned from a refusal (AuthStyleAuto), 0 until then
	nonces  *dpop.Nonces     // the provider's DPoP nonces
	noRT    *atomic.Bool     // a sign-in asked for offline_access and got no refresh token (warned once)
	pushes  *bucket          // PARLimit; nil without a bound
	// forAPI: a copy for an API's grant (plumbing.ForAPI): its sign-ins
	// ask for no ID token, and their tokens are taken without one.
	forAPI bool

	// configured are the authorization parameters of every sign-in: the
	// provider's, then Config.AuthParams. A sign-in's own never weaken
	// them (mergeParams), and Callback verifies the ID token against them
	// (required).
	configured url.Values
	required   requirement
}

// New validates cfg and returns a Client. A missing or wrong field is an
// error wrapping fail.ClientConfig that names it.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	signer, minter, err := cfg.credentials()
	if err != nil {
		return nil, err
	}
	if err := checkFAPI(&cfg, signer); err != nil {
		return nil, err
	}
	if err := cfg.checkModes(signer); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	configured, required, err := cfg.configured()
	if err != nil {
		return nil, err
	}
	hc, err := cfg.httpClient()
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, hc: hc, sink: sink.Sink{Logger: cfg.Logger, Hook: cfg.OnEvent}, signer: signer, minter: minter,
		learned: new(atomic.Int32), noRT: new(atomic.Bool), nonces: &dpop.Nonces{}, configured: configured, required: required}
	if cfg.PARLimit >= 0 {
		c.pushes = newBucket(cmp.Or(cfg.PARLimit, 50))
	}
	return c, nil
}

// validate refuses a Config that is missing a field or sets fields that do
// not go together, naming them.
func (cfg *Config) validate() error {
	if err := cfg.checkRequired(); err != nil {
		return err
	}
	u, err := url.Parse(cfg.RedirectURL)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("%w: RedirectURL %q must be an absolute URL without fragment", fail.ClientConfig, cfg.RedirectURL)
	}
	if !netx.SecureOrLoopback(u) && !cfg.AllowInsecureHTTP {
		return fmt.Errorf("%w: RedirectURL %q must be https (plain http only on a loopback host, for development): the code and the session cookie would travel in clear (AllowInsecureHTTP opts out)", fail.ClientConfig, cfg.RedirectURL)
	}
	if iss, err := url.Parse(cfg.Provider.cfg.Issuer); err == nil && cfg.Provider.cfg.Issuer != "" && !netx.SecureOrLoopback(iss) && !cfg.AllowInsecureHTTP {
		return fmt.Errorf("%w: the provider's issuer %q is plain http on a host that is not loopback: tokens would travel in clear; use https (AllowInsecureHTTP opts out)", fail.ClientConfig, cfg.Provider.cfg.Issuer)
	}
	if err := cfg.checkAuthStyle(); err != nil {
		return err
	}
	if cfg.ClientCertificate != nil {
		if err := checkCertificate(cfg.ClientCertificate); err != nil {
			return err
		}
	}
	if cfg.SecretJWT != nil && cfg.ClientSecret != "" {
		return fmt.Errorf("%w: ClientSecret and SecretJWT both set: SecretJWT mints the secret", fail.ClientConfig)
	}
	return nil
}

// checkRequired names every required field that is missing.
func (cfg *Config) checkRequired() error {
	var missing []string
	if cfg.Provider == nil {
		missing = append(missing, "Provider")
	}
	if cfg.ClientID == "" {
		missing = append(missing, "ClientID")
	}
	switch {
	case cfg.ClientSecret != "" || cfg.PrivateKey != nil || cfg.SecretJWT != nil || cfg.ClientCertificate != nil:
	case cfg.FAPI != "":
		missing = append(missing, "PrivateKey or ClientCertificate (FAPI 2.0: private_key_jwt or mutual TLS)")
	default:
		missing = append(missing, "ClientSecret")
	}
	if cfg.RedirectURL == "" {
		missing = append(missing, "RedirectURL")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", fail.ClientConfig, strings.Join(missing, ", "))
	}
	return nil
}

// checkAuthStyle refuses an AuthStyle without the credential it needs.
func (cfg *Config) checkAuthStyle() error {
	s := cfg.AuthStyle
	switch {
	case s < AuthStyleAuto || s > AuthStyleSelfSignedTLSClientAuth:
		return fmt.Errorf("%w: unknown AuthStyle %d", fail.ClientConfig, s)
	case s == AuthStylePrivateKeyJWT && cfg.PrivateKey == nil:
		return fmt.Errorf("%w: AuthStylePrivateKeyJWT needs PrivateKey", fail.ClientConfig)
	case s.mutualTLS() && cfg.ClientCertificate == nil:
		return fmt.Errorf("%w: %s needs ClientCertificate", fail.ClientConfig, s)
	case cfg.FAPI != "" && s != AuthStyleAuto && s != AuthStylePrivateKeyJWT && !s.mutualTLS():
		return fmt.Errorf("%w: FAPI %s: AuthStyle %s is not allowed: private_key_jwt, tls_client_auth or self_signed_tls_client_auth only", fail.ClientConfig, cfg.FAPI, s)
	case (s == AuthStyleBasic || s == AuthStylePost) && cfg.ClientSecret == "" && cfg.SecretJWT == nil:
		return fmt.Errorf("%w: %s needs ClientSecret", fail.ClientConfig, s)
	}
	return nil
}

// credentials makes the signers of PrivateKey and SecretJWT, nil for
// those not set.
func (cfg *Config) credentials() (*assertionSigner, *secretMinter, error) {
	var signer *assertionSigner
	var minter *secretMinter
	var err error
	if k := cfg.PrivateKey; k != nil {
		if k.Key == nil {
			return nil, nil, fmt.Errorf("%w: PrivateKey.Key is required", fail.ClientConfig)
		}
		alg := k.Alg
		if _, rsaKey := k.Key.Public().(*rsa.PublicKey); rsaKey && cfg.FAPI != "" && alg == "" {
			alg = "PS256" // FAPI 2.0 does not allow RS256
		}
		if signer, err = newAssertionSigner(k.Key, alg, k.KeyID, "PrivateKey", k.Cert); err != nil {
			return nil, nil, err
		}
	}
	if cfg.SecretJWT != nil {
		if minter, err = newSecretMinter(*cfg.SecretJWT); err != nil {
			return nil, nil, err
		}
	}
	return signer, minter, nil
}

// checkModes refuses a request object or response mode the client cannot
// use; the provider's response mode is the default.
func (cfg *Config) checkModes(signer *assertionSigner) error {
	oidc := cfg.Provider.isOIDC()
	if cfg.RequestObject && signer == nil {
		return fmt.Errorf("%w: RequestObject needs PrivateKey, the key that signs the request objects", fail.ClientConfig)
	}
	if cfg.RequestObject && !oidc {
		return fmt.Errorf("%w: RequestObject needs an OpenID Connect provider (its issuer is the request object's aud)", fail.ClientConfig)
	}
	cfg.ResponseMode = cmp.Or(cfg.ResponseMode, cfg.Provider.q.ResponseMode)
	switch cfg.ResponseMode {
	case "query":
		cfg.ResponseMode = ""
	case "", "form_post":
	case "jwt", "query.jwt", "form_post.jwt":
		if !oidc {
			return fmt.Errorf("%w: ResponseMode %q needs an OpenID Connect provider, whose keys sign the response", fail.ClientConfig, cfg.ResponseMode)
		}
	default:
		return fmt.Errorf("%w: ResponseMode %q: \"\" (query), \"form_post\", or JARM's \"jwt\", \"query.jwt\", \"form_post.jwt\"", fail.ClientConfig, cfg.ResponseMode)
	}
	return nil
}

// setDefaults fills the defaults written beside each field, and copies
// what the caller could change afterwards.
func (cfg *Config) setDefaults() {
	q := &cfg.Provider.q
	oidc := cfg.Provider.isOIDC()
	cfg.FetchUserInfo = cfg.FetchUserInfo || q.FetchUserInfo
	if cfg.LoginParams == nil {
		if oidc {
			cfg.LoginParams = []string{"prompt", "login_hint", "max_age", "acr_values", "ui_locales"}
		}
		for _, p := range q.LoginParams {
			if !slices.Contains(cfg.LoginParams, p) {
				cfg.LoginParams = append(cfg.LoginParams, p)
			}
		}
	} else {
		cfg.LoginParams = slices.Clone(cfg.LoginParams)
	}
	cfg.Scopes = slices.Clone(cfg.Scopes)
	switch {
	case len(cfg.Scopes) == 0 && len(q.DefaultScopes) > 0:
		cfg.Scopes = slices.Clone(q.DefaultScopes)
	case oidc && len(cfg.Scopes) == 0:
		cfg.Scopes = []string{"openid", "profile", "email"}
	case oidc && !slices.Contains(cfg.Scopes, "openid"):
		cfg.Scopes = append([]string{"openid"}, cfg.Scopes...)
	}
	params := url.Values{}
	for k, v := range cfg.AuthParams {
		params[k] = slices.Clone(v)
	}
	cfg.AuthParams = params
	if cfg.ClockSkew <= 0 {
		cfg.ClockSkew = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
}

// configured are the authorization parameters of every sign-in (the
// provider's, then AuthParams) and the requirement they set on ID tokens.
func (cfg *Config) configured() (url.Values, requirement, error) {
	configured := netx.CloneValues(cfg.Provider.q.AuthParams)
	for k, v := range cfg.AuthParams {
		if !protocolParams[k] && len(v) > 0 {
			configured[k] = slices.Clone(v)
		}
	}
	required, err := requirementOf(configured, cfg.Provider.q.OrgClaims)
	return configured, required, err
}

// httpClient is the provider's HTTP client (WithHTTPClient), presenting
// ClientCertificate when set, with provider responses bounded.
func (cfg *Config) httpClient() (*http.Client, error) {
	hc := *cfg.Provider.hc
	if lt, ok := hc.Transport.(limitTransport); ok {
		hc.Transport = lt.base
	}
	if cfg.ClientCertificate != nil {
		var err error
		if hc.Transport, err = withCertificate(hc.Transport, cfg.ClientCertificate, "the provider's HTTP client's Transport (WithHTTPClient)"); err != nil {
			return nil, err
		}
	}
	return limitClient(&hc), nil
}

func (c *Client) emit(ctx context.Context, e event.Event) {
	if c.sink.Enabled() {
		e.Provider = c.cfg.Provider.Name()
		c.sink.Emit(ctx, e)
	}
}

// Provider returns the client's provider.
func (c *Client) Provider() *Provider { return c.cfg.Provider }

// authStyle is the client authentication to use at ep's token endpoint.
func (c *Client) authStyle(ep Endpoints) AuthStyle {
	if c.cfg.AuthStyle != AuthStyleAuto {
		return c.cfg.AuthStyle
	}
	if c.signer != nil && ((c.cfg.ClientSecret == "" && c.minter == nil) || len(ep.authMethods) == 0 || slices.Contains(ep.authMethods, "private_key_jwt")) {
		return AuthStylePrivateKeyJWT
	}
	if c.cfg.ClientSecret == "" && c.minter == nil && c.cfg.ClientCertificate != nil {
		return AuthStyleTLSClientAuth // the certificate is the only credential
	}
	if l := AuthStyle(c.learned.Load()); l != AuthStyleAuto {
		return l
	}
	if c.cfg.Provider.q.AuthPost {
		return AuthStylePost
	}
	if len(ep.authMethods) == 0 || slices.Contains(ep.authMethods, "client_secret_basic") {
		return AuthStyleBasic
	}
	if slices.Contains(ep.authMethods, "client_secret_post") {
		return AuthStylePost
	}
	return AuthStyleBasic
}

// mutualTLS reports whether s authenticates with the client certificate.
func (s AuthStyle) mutualTLS() bool {
	return s == AuthStyleTLSClientAuth || s == AuthStyleSelfSignedTLSClientAuth
}

// fallbackStyle returns the method to try once more after the token
// endpoint refused style with err, or AuthStyleAuto for none: only when the
// method was chosen automatically, the provider refused the client's
// authentication, and it lists the other method too.
func (c *Client) fallbackStyle(ep Endpoints, style AuthStyle, err error) AuthStyle {
	var te *TokenError
	if c.cfg.AuthStyle != AuthStyleAuto || style != AuthStyleBasic || !errors.As(err, &te) ||
		(te.Code != "invalid_client" && !(te.Code == "" && te.StatusCode == http.StatusUnauthorized)) ||
		!slices.Contains(ep.authMethods, "client_secret_post") {
		return AuthStyleAuto
	}
	return AuthStylePost
}

// oauth2Config builds the x/oauth2 configuration for the resolved endpoints
// and client authentication.
func (c *Client) oauth2Config(ep Endpoints, auth AuthStyle) *oauth2.Config {
	style, secret := oauth2.AuthStyleInHeader, c.clientSecret(context.Background(), ep)
	switch auth {
	case AuthStylePost:
		style = oauth2.AuthStyleInParams
	case AuthStylePrivateKeyJWT, AuthStyleTLSClientAuth, AuthStyleSelfSignedTLSClientAuth:
		// client_id in the form, no secret: the transport adds the
		// assertion (see ctx), or the TLS connection is the proof.
		style, secret = oauth2.AuthStyleInParams, ""
	}
	scopes := c.cfg.Scopes
	if c.cfg.Provider.q.OfflineAccessType || c.cfg.Provider.q.RefreshAlways {
		scopes = slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return s == "offline_access" })
	}
	return &oauth2.Config{
		ClientID:     c.cfg.ClientID,
		ClientSecret: secret,
		RedirectURL:  c.cfg.RedirectURL,
		Scopes:       scopes,
		Endpoint:     oauth2.Endpoint{AuthURL: ep.AuthURL, TokenURL: ep.TokenURL, AuthStyle: style},
	}
}

// ctx returns a context that makes x/oauth2 use the configured HTTP client
// for its token requests to ep, asking for JSON (GitHub answers
// form-encoded otherwise), adding extra to the form and, with
// private_key_jwt, a fresh client assertion (x/oauth2 has no way to add
// either to a refresh request).
func (c *Client) ctx(ctx context.Context, ep Endpoints, style AuthStyle, extra url.Values, key *ecdsa.PrivateKey) context.Context {
	hc := *c.hc
	hc.Transport = &tokenTransport{base: hc.Transport, c: c, ep: ep, assert: style == AuthStylePrivateKeyJWT, extra: extra, key: key}
	return context.WithValue(ctx, oauth2.HTTPClient, &hc)
}

type tokenTransport struct {
	base   http.RoundTripper
	c      *Client
	ep     Endpoints
	assert bool
	extra  url.Values
	key    *ecdsa.PrivateKey // DPoP: a proof with each request, one retry with the server's nonce
}

func (t *tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var form url.Values
	if r.Method == http.MethodPost && r.Body != nil && (t.assert || len(t.extra) > 0 || t.key != nil) {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		if form, err = url.ParseQuery(string(b)); err != nil {
			return nil, err
		}
		for k, v := range t.extra {
			form[k] = v
		}
	}
	base := netx.Transport(t.base)
	for attempt := 0; ; attempt++ {
		r2, err := t.prepare(r, form)
		if err != nil {
			return nil, err
		}
		resp, err := base.RoundTrip(r2)
		if err != nil || t.key == nil || attempt > 0 || resp.StatusCode != http.StatusBadRequest {
			return resp, err
		}
		// A nonce the provider asks for (use_dpop_nonce): once more with it.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, netx.SmallBody))
		resp.Body.Close()
		if !t.c.nonces.Learn(r.URL, resp, body) {
			resp.Body = io.NopCloser(bytes.NewReader(body))
			return resp, nil
		}
	}
}

// prepare is one attempt of r: JSON asked for, the form with a fresh
// client assertion, and a fresh DPoP proof.
func (t *tokenTransport) prepare(r *http.Request, form url.Values) (*http.Request, error) {
	r2 := r.Clone(r.Context())
	r2.Header.Set("Accept", "application/json")
	if form != nil {
		f := netx.CloneValues(form)
		if t.assert {
			if err := t.c.addAssertion(f, t.ep, t.ep.TokenURL); err != nil { // token requests only come this way
				return nil, err
			}
		}
		body := f.Encode()
		r2.Body, r2.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
		r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	}
	if t.key != nil {
		proof, err := dpop.Proof(t.key, r.Method, r.URL, "", t.c.nonces.Get(r.URL), t.c.cfg.Now())
		if err != nil {
			return nil, err
		}
		r2.Header.Set("DPoP", proof)
	}
	return r2, nil
}

// normalizeExpiry computes the token's expiry on the client's clock from
// expires_in (x/oauth2 uses the wall clock), so that expiry checks and an
// injected Now agree.
func (c *Client) normalizeExpiry(tok *oauth2.Token) {
	if tok.ExpiresIn > 0 {
		tok.Expiry = c.cfg.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
}
