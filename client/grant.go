package client

import (
	"context"
	"slices"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// An API's grant: the middleware connects a user to an API on an
// authorization server of its own (middleware.API.Client) with a copy of
// the API's client that asks for exactly the API's scopes and takes the
// tokens without an ID token: who the user is was settled at sign-in, by
// the sign-in provider; this server only grants access.

// ForAPI returns a copy of the client for an API's grant: its logins ask
// for exactly scopes (no openid added, no nonce, no acr or max_age to
// verify), pushed (PAR) whenever the server has a PAR endpoint, and
// ExchangeGrant takes their tokens.
func (p *plumbing) ForAPI(scopes []string) *Client {
	cp := *p.c()
	cp.cfg.Scopes = slices.Clone(scopes)
	cp.cfg.PAR = true // pushed whenever the server offers it
	cp.forAPI = true
	return &cp
}

// ExchangeGrant redeems the code of login l of a ForAPI client (the state
// checked by the caller, and the response's iss): the tokens, with no ID
// token verified or kept.
func (p *plumbing) ExchangeGrant(ctx context.Context, code string, l *Login) (*oauth2.Token, error) {
	c := p.c()
	r, err := c.resolve(ctx)
	if err != nil {
		return nil, err
	}
	return c.redeemCode(ctx, r, code, l, nil)
}

// DPoP is Config.DPoP.
func (p *plumbing) DPoP() bool { return p.cfg.DPoP }

// RequiredACR are the acr_values every sign-in asks for (the provider's
// and AuthParams), which its ID token must meet.
func (p *plumbing) RequiredACR() []string { return p.required.acr }

// PublicJWK is the public key of Config.PrivateKey as a JWK (kid, alg,
// use sig), nil without one: what a client ID metadata document
// publishes.
func (p *plumbing) PublicJWK() *jose.JSONWebKey {
	if p.signer == nil {
		return nil
	}
	return p.signer.Public()
}

// SharedSecret reports whether the client authenticates with a secret it
// shares with the provider (ClientSecret or SecretJWT).
func (p *plumbing) SharedSecret() bool { return p.cfg.ClientSecret != "" || p.cfg.SecretJWT != nil }
