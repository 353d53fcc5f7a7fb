package client

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/fail"
)

// SecretJWT makes the client secret a JWT the client signs itself, as Sign
// in with Apple requires: header alg (ES256 for an ECDSA P-256 key, as
// Apple issues; RS256 for RSA) and kid; claims iss (Issuer: Apple's team
// ID), sub (the client ID: Apple's Services ID), aud, iat and exp. The
// client mints one when it first needs it and a new one when half of
// Lifetime has passed, so the provider never sees an expired secret.
type SecretJWT struct {
	// Key signs the secret. Any crypto.Signer (a KMS or HSM key works):
	// ECDSA P-256 (ES256), or RSA of 2048 bits or more (RS256).
	// Required.
	Key crypto.Signer
	// KeyID is the kid header: the key's ID at the provider (Apple: the
	// 10-character Key ID).
	// Required.
	KeyID string
	// Issuer is the iss claim (Apple: the 10-character Team ID).
	// Required.
	Issuer string
	// Audience is the aud claim.
	// Default: none (the provider's issuer: https://appleid.apple.com for
	// Apple).
	Audience string
	// Lifetime is how long each secret is valid (exp - iat), at most 180
	// days (Apple refuses longer).
	// Default: 1h.
	Lifetime time.Duration
}

// maxSecretLifetime is the longest SecretJWT.Lifetime: Apple accepts at
// most 15,777,000 seconds (six months); 180 days stays under it.
const maxSecretLifetime = 180 * 24 * time.Hour

// secretMinter mints and renews a SecretJWT's secrets.
type secretMinter struct {
	cfg    SecretJWT
	signer *assertionSigner

	mu     sync.Mutex
	secret string
	renew  time.Time // when to mint the next one
	expiry time.Time
}

func newSecretMinter(cfg SecretJWT) (*secretMinter, error) {
	switch {
	case cfg.Key == nil:
		return nil, fmt.Errorf("%w: SecretJWT.Key is required", fail.ClientConfig)
	case cfg.KeyID == "":
		return nil, fmt.Errorf("%w: SecretJWT.KeyID is required (the kid the provider knows the key by)", fail.ClientConfig)
	case cfg.Issuer == "":
		return nil, fmt.Errorf("%w: SecretJWT.Issuer is required (Apple: the Team ID)", fail.ClientConfig)
	case cfg.Lifetime < 0 || cfg.Lifetime > maxSecretLifetime:
		return nil, fmt.Errorf("%w: SecretJWT.Lifetime %s: between 1 second and 180 days", fail.ClientConfig, cfg.Lifetime)
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = time.Hour
	}
	s, err := newAssertionSigner(cfg.Key, "", cfg.KeyID, "SecretJWT.Key", nil)
	if err != nil {
		return nil, err
	}
	if s.alg == jose.EdDSA {
		return nil, fmt.Errorf("%w: SecretJWT.Key: an Ed25519 key; the client secret is signed ES256 (Apple) or RS256", fail.ClientConfig)
	}
	return &secretMinter{cfg: cfg, signer: s}, nil
}

// clientSecret is the secret to send to ep's provider: Config.ClientSecret,
// or a SecretJWT minted now when the last one is past half its lifetime.
// When signing fails (a KMS away), the last secret is used while it is
// valid, and the failure is reported as an event; without one, the
// provider refuses the request.
func (c *Client) clientSecret(ctx context.Context, ep Endpoints) string {
	m := c.minter
	if m == nil {
		return c.cfg.ClientSecret
	}
	now := c.cfg.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.secret != "" && now.Before(m.renew) {
		return m.secret
	}
	aud := m.cfg.Audience
	if aud == "" {
		aud = ep.Issuer
	}
	if strings.Contains(aud, tenantPlaceholder) {
		aud = ep.TokenURL
	}
	claims, _ := json.Marshal(map[string]any{"iss": m.cfg.Issuer, "sub": c.cfg.ClientID, "aud": aud,
		"iat": now.Unix(), "exp": now.Add(m.cfg.Lifetime).Unix()})
	obj, err := m.signer.jws.Sign(claims)
	var secret string
	if err == nil {
		secret, err = obj.CompactSerialize()
	}
	if err != nil {
		c.emit(ctx, event.Event{Kind: event.Rejected, Err: fmt.Errorf("client: signing the client secret: %w", err)})
		if now.Before(m.expiry) {
			return m.secret
		}
		return ""
	}
	m.secret, m.renew, m.expiry = secret, now.Add(m.cfg.Lifetime/2), now.Add(m.cfg.Lifetime)
	return secret
}

// secretFor is clientSecret for the provider's endpoints as known now.
func (c *Client) secretFor(ctx context.Context) string {
	if c.minter == nil {
		return c.cfg.ClientSecret
	}
	ep, _ := c.endpoints(ctx)
	return c.clientSecret(ctx, ep)
}
