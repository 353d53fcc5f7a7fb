package client

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/jwtpeek"
	"github.com/confidant-go/confidant/internal/netx"
)

// FAPI profiles (Config.FAPI).
const (
	fapi2               = "2.0"
	fapi2MessageSigning = "2.0-message-signing"
)

// fapiAlgs are the signature algorithms FAPI 2.0 allows.
var fapiAlgs = []string{"PS256", "ES256", "EdDSA"}

// checkFAPI refuses what cfg.FAPI's profile forbids and turns on what it
// requires (PAR; with message signing, JAR and JARM).
func checkFAPI(cfg *Config, signer *assertionSigner) error {
	switch cfg.FAPI {
	case "":
		return nil
	case fapi2, fapi2MessageSigning:
	default:
		return fmt.Errorf("%w: FAPI %q: \"2.0\" or \"2.0-message-signing\"", fail.ClientConfig, cfg.FAPI)
	}
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("%w: FAPI %s: "+format, append([]any{fail.ClientConfig, cfg.FAPI}, args...)...)
	}
	p := cfg.Provider
	cert := cfg.ClientCertificate != nil
	switch {
	case cfg.ClientSecret != "" || cfg.SecretJWT != nil:
		return refuse("a client secret (ClientSecret, SecretJWT) is not allowed: authenticate with PrivateKey (private_key_jwt) or ClientCertificate (mutual TLS)")
	case signer == nil && !cert:
		return refuse("PrivateKey (private_key_jwt) or ClientCertificate (tls_client_auth, self_signed_tls_client_auth) is required")
	case cfg.AuthStyle != AuthStyleAuto && cfg.AuthStyle != AuthStylePrivateKeyJWT && !cfg.AuthStyle.mutualTLS():
		return refuse("AuthStyle %s is not allowed: private_key_jwt, tls_client_auth or self_signed_tls_client_auth only", cfg.AuthStyle)
	case signer != nil && !slices.Contains(fapiAlgs, string(signer.alg)):
		return refuse("PrivateKey.Alg %s is not allowed: PS256 (an RSA key: set Alg \"PS256\"), ES256 or EdDSA", signer.alg)
	case signer != nil && signer.cert != nil:
		return refuse("PrivateKey.Cert names the key for a provider that wants the token endpoint as the assertion's aud; FAPI 2.0 wants the issuer")
	case !cfg.DPoP && !cert:
		return refuse("a sender constraint is required: set DPoP, or ClientCertificate for certificate-bound tokens (mutual TLS)")
	case p.cfg.Issuer == "":
		return refuse("the provider's metadata must come from discovery (Discover or a preset), not be given by hand, and name an issuer")
	case len(p.cfg.Tenants) > 0 || p.cfg.AnyTenant:
		return refuse("a multi-tenant issuer template is not allowed: one issuer, matched exactly")
	case p.q.AssertionAudEndpoint && signer != nil:
		return refuse("provider %q wants an endpoint's URL (the token endpoint) as the client assertion's aud; FAPI 2.0 wants the issuer", p.Name())
	}
	if cfg.FAPI == fapi2MessageSigning && signer == nil {
		return refuse("Message Signing signs request objects (JAR) with PrivateKey: set it (with ClientCertificate, mutual TLS still authenticates)")
	}
	cfg.PAR = true
	if cfg.FAPI == fapi2MessageSigning {
		cfg.RequestObject = true
		switch cfg.ResponseMode {
		case "":
			cfg.ResponseMode = "jwt"
		case "jwt", "query.jwt", "form_post.jwt":
		default:
			return refuse("ResponseMode %q is not a JWT response mode (JARM: jwt, query.jwt, form_post.jwt)", cfg.ResponseMode)
		}
	}
	return nil
}

// checkFAPIAlg refuses, under a FAPI profile, a JWT of the provider's (an
// ID token, a JARM response) signed with an algorithm the profile does not
// allow, as an error wrapping kind.
func (c *Client) checkFAPIAlg(raw string, kind error) error {
	if c.cfg.FAPI == "" {
		return nil
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if header, _, ok := jwtpeek.Split(raw); !ok || json.Unmarshal(header, &h) != nil || !slices.Contains(fapiAlgs, h.Alg) {
		return fmt.Errorf("%w: FAPI %s: signed %q, not PS256, ES256 or EdDSA", kind, c.cfg.FAPI, netx.ProviderText(h.Alg))
	}
	return nil
}
