package client

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
)

// mtlsAliased are the endpoints a client with a certificate reaches at the
// provider's mtls_endpoint_aliases (RFC 8705 5), by metadata name. The
// authorization and end-session endpoints are the browser's: never
// aliased.
var mtlsAliased = []string{"token_endpoint", "pushed_authorization_request_endpoint", "userinfo_endpoint", "revocation_endpoint"}

// checkCertificate refuses a certificate that cannot authenticate anyone:
// no certificate, or a private key that is not a crypto.Signer of the
// certificate's public key.
func checkCertificate(cert *tls.Certificate) error {
	if len(cert.Certificate) == 0 {
		return fmt.Errorf("%w: ClientCertificate holds no certificate (load it with tls.LoadX509KeyPair or tls.X509KeyPair)", fail.ClientConfig)
	}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("%w: ClientCertificate: %v", fail.ClientConfig, err)
		}
	}
	signer, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		return fmt.Errorf("%w: ClientCertificate's PrivateKey is a %T, not a crypto.Signer", fail.ClientConfig, cert.PrivateKey)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return fmt.Errorf("%w: ClientCertificate's PrivateKey is not the key of its certificate (%s)", fail.ClientConfig, leaf.Subject)
	}
	return nil
}

// withCertificate returns a copy of base (nil: the SDK's default
// transport, http.DefaultTransport's settings with a larger idle pool)
// that presents cert to every server that asks for a client certificate,
// or an confidant.ErrConfig naming field when base is not an
// *http.Transport.
func withCertificate(base http.RoundTripper, cert *tls.Certificate, field string) (http.RoundTripper, error) {
	if base == nil {
		base = netx.Current() // copied now: a certificate's transport is its own
		if _, ok := base.(*http.Transport); !ok {
			return nil, fmt.Errorf("%w: ClientCertificate: %s is nil, and http.DefaultTransport, used instead, is a %T, which cannot be given the certificate: set %s to an *http.Transport",
				fail.ClientConfig, field, base, field)
		}
	}
	t, ok := base.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("%w: ClientCertificate needs %s to be nil or an *http.Transport, which is copied with the certificate; a %T cannot be given one (set your transport's TLSClientConfig.GetClientCertificate yourself and give it to %s instead)",
			fail.ClientConfig, field, base, field)
	}
	t = t.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	// Always this certificate: a server that lists the CAs it accepts
	// would otherwise get none from a self-signed one
	// (self_signed_tls_client_auth), and the call would fail far from
	// its cause.
	t.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	t.TLSClientConfig.Certificates = nil
	return t, nil
}

// Transport returns base (nil: the SDK's default transport) ready for calls made
// with this client's access tokens. With Config.ClientCertificate it is a
// copy of base that presents the certificate to the servers that ask for
// one: a provider that binds tokens to the certificate (RFC 8705
// certificate-bound access tokens) issues tokens that an API takes only
// over it. base must then be nil or an *http.Transport (else an error
// wrapping confidant.ErrConfig). Without a certificate it returns base unchanged.
// The middleware calls it for its APIs; call it for calls of your own,
// once: each call makes a new transport, with a connection pool of its
// own.
func (c *Client) Transport(base http.RoundTripper) (http.RoundTripper, error) {
	if c.cfg.ClientCertificate == nil {
		return base, nil
	}
	return withCertificate(base, c.cfg.ClientCertificate, "the API transport")
}

// resolve returns the provider's resolved endpoints as this client uses
// them: with a client certificate, at the provider's mtls_endpoint_aliases.
func (c *Client) resolve(ctx context.Context) (*resolved, error) {
	r, err := c.cfg.Provider.resolve(ctx)
	if err != nil || c.cfg.ClientCertificate == nil || len(r.ep.mtlsAliases) == 0 {
		return r, err
	}
	r.mtlsOnce.Do(func() { r.mtls = r.aliased() })
	return r.mtls, nil
}

// endpoints is resolve's Endpoints.
func (c *Client) endpoints(ctx context.Context) (Endpoints, error) {
	r, err := c.resolve(ctx)
	if err != nil {
		return Endpoints{}, err
	}
	return r.ep, nil
}

// aliased is r with the endpoints of mtls_endpoint_aliases in place.
func (r *resolved) aliased() *resolved {
	cp := &resolved{ep: r.ep, oidc: r.oidc, verifier: r.verifier, keys: r.keys, tenants: r.tenants}
	for _, name := range mtlsAliased {
		alias := r.ep.mtlsAliases[name]
		if alias == "" {
			continue
		}
		switch name {
		case "token_endpoint":
			cp.ep.TokenURL = alias
		case "pushed_authorization_request_endpoint":
			cp.ep.PARURL = alias
		case "userinfo_endpoint":
			cp.ep.UserInfoURL = alias
		case "revocation_endpoint":
			cp.ep.RevocationURL = alias
		}
	}
	if cp.ep.UserInfoURL != r.ep.UserInfoURL && r.oidc != nil {
		cp.oidc = (&oidc.ProviderConfig{IssuerURL: r.ep.Issuer, AuthURL: r.ep.AuthURL, TokenURL: cp.ep.TokenURL,
			UserInfoURL: cp.ep.UserInfoURL, JWKSURL: r.ep.JWKSURL, Algorithms: r.ep.signingAlgs}).NewProvider(context.Background())
	}
	return cp
}

// mtlsAliasesOf keeps the aliases discovery names for the endpoints a
// client with a certificate uses, each an https URL; // others are dropped.
func mtlsAliasesOf(m map[string]any) map[string]string {
	var out map[string]string
	for _, name := range mtlsAliased {
		s, _ := m[name].(string)
		u, err := url.Parse(s)
		if s == "" || err != nil || u.Scheme != "https" || u.Host == "" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = s
	}
	return out
}
