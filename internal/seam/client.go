package seam

import (
	"crypto/ecdsa"
	"encoding/json"
	"time"
)

// Previous is what a refresh must keep (OpenID Connect Core 12.2): the
// session's issuer and subject and, when known, the audience, authorized
// party and authentication time of its ID token. A refreshed ID token that
// differs in any of them is refused (client.ErrInvalidIDToken). The
// middleware builds it from a session; client.Refresh from a Result.
type Previous struct {
	Issuer   string
	Subject  string
	Audience []string  // "aud"; empty: not checked
	AZP      string    // "azp"; empty: not checked
	AuthTime time.Time // "auth_time"; zero: not checked
	// DPoPKey is the key the session's tokens are bound to (RFC 9449);
	// the refresh request proves it. Nil for Bearer tokens.
	DPoPKey *ecdsa.PrivateKey
	// Claims are the user's claims as the session holds them (a JSON
	// object). A refresh that brings an ID token replaces them with its
	// claims and, with FetchUserInfo, userinfo's asked again; only when
	// userinfo cannot be had now are the claims it gave before kept, until
	// the next refresh. Optional.
	Claims json.RawMessage
	// IDToken is the session's raw ID token, verified when it came: a
	// refresh keeps none of its user claims. With RenewClaims, a refresh
	// that brings no new one takes the user's claims from userinfo and
	// keeps only those of this token that describe the sign-in (iss, aud,
	// auth_time, acr, amr, sid, …). Optional.
	IDToken string
	// RenewClaims asks a refresh that brings no ID token to ask the
	// provider for the user's claims again: userinfo, or a plain OAuth 2.0
	// provider's user API. Result.User is then set when it answered, and
	// empty when it could not be asked now (the old claims stay).
	RenewClaims bool
}

// PreviousOf is what a refresh must keep of a session or sign-in: its
// issuer (iss of claims when issuer is empty), subject, claims, ID token
// and DPoP key, and its ID token's aud, azp and auth_time read from claims.
func PreviousOf(issuer, subject string, claims json.RawMessage, idToken string, key *ecdsa.PrivateKey) Previous {
	var c struct {
		Iss      string          `json:"iss"`
		Aud      json.RawMessage `json:"aud"`
		AZP      string          `json:"azp"`
		AuthTime float64         `json:"auth_time"`
	}
	json.Unmarshal(claims, &c)
	p := Previous{Issuer: issuer, Subject: subject, AZP: c.AZP, Claims: claims, IDToken: idToken, DPoPKey: key}
	if p.Issuer == "" {
		p.Issuer = c.Iss
	}
	var one string
	if json.Unmarshal(c.Aud, &one) == nil && one != "" {
		p.Audience = []string{one}
	} else {
		json.Unmarshal(c.Aud, &p.Audience)
	}
	if c.AuthTime > 0 {
		p.AuthTime = time.Unix(int64(c.AuthTime), 0)
	}
	return p
}

// LogoutToken is a verified OpenID Connect Back-Channel Logout token.
type LogoutToken struct {
	Issuer  string
	Subject string // may be empty when SID is set
	SID     string // may be empty when Subject is set
	ID      string // jti
}

// Discovered is what discovery told of a provider beyond its URLs.
type Discovered struct {
	// RequirePAR: require_pushed_authorization_requests.
	RequirePAR bool
	// ResponseIss: authorization_response_iss_parameter_supported (RFC 9207).
	ResponseIss bool
	// AuthMethods: token_endpoint_auth_methods_supported.
	AuthMethods []string
	// SigningAlgs are the accepted ID token algorithms (asymmetric only).
	SigningAlgs []string
	// MTLSAliases: mtls_endpoint_aliases (RFC 8705 5), by metadata name.
	MTLSAliases map[string]string
	// ScopesSupported: scopes_supported of the document the provider was
	// discovered from (OpenID Connect discovery or RFC 8414 metadata);
	// nil when it lists none or the provider was given by hand. Whether
	// offline_access is among them says whether to ask for it.
	ScopesSupported []string
	// RegistrationEndpoint: registration_endpoint (RFC 7591 dynamic
	// client registration), "" when none.
	RegistrationEndpoint string
	// ClientIDMetadataDocument: client_id_metadata_document_supported.
	ClientIDMetadataDocument bool
}
