package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/internal/dpop"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
)

// userInfo fetches the userinfo endpoint with tok, requires its sub to equal
// sub, and returns claims with the userinfo claims added.
func (c *Client) userInfo(ctx context.Context, r *resolved, tok *oauth2.Token, key *ecdsa.PrivateKey, sub string, claims map[string]any) (map[string]any, error) {
	hc := c.hc
	if key != nil {
		cp := *hc
		cp.Transport = &proofTransport{base: hc.Transport, c: c, key: key}
		hc = &cp
	}
	ui, err := r.oidc.UserInfo(oidc.ClientContext(ctx, hc), oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", fail.UserInfo, err)
	}
	if subtle.ConstantTimeCompare([]byte(ui.Subject), []byte(sub)) != 1 {
		return nil, fmt.Errorf("%w: %w", fail.UserInfo, errUserInfoSubject)
	}
	var extra map[string]any
	if err := ui.Claims(&extra); err != nil {
		return nil, fmt.Errorf("%w: %v", fail.UserInfo, err)
	}
	for k, v := range extra {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
	return claims, nil
}

// errUserInfoSubject: userinfo (or a user API) describes another subject
// than the session's.
var errUserInfoSubject error = fail.UserInfoSubject

// userFrom describes the user of verified claims.
func (c *Client) userFrom(claims map[string]any) (confidant.User, error) {
	raw, err := json.Marshal(claims)
	if err != nil {
		return confidant.User{}, fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	str := func(k string) string { s, _ := claims[k].(string); return s }
	id := confidant.User{Provider: c.cfg.Provider.Name(), Subject: str("sub"), Name: str("name"), Email: str("email"), Picture: str("picture"), Claims: raw}
	if id.Name == "" {
		id.Name = str("preferred_username")
	}
	switch v := claims["email_verified"].(type) {
	case bool:
		id.EmailVerified = v
	case string: // some providers send "true"
		id.EmailVerified = v == "true"
	}
	return id, nil
}

// proofTransport adds a DPoP proof of key to requests made with a
// DPoP-bound token (userinfo), with one retry when the server asks for its
// nonce.
type proofTransport struct {
	base http.RoundTripper
	c    *Client
	key  *ecdsa.PrivateKey
}

func (t *proofTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := netx.Transport(t.base)
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "DPoP ")
	for attempt := 0; ; attempt++ {
		proof, err := dpop.Proof(t.key, r.Method, r.URL, tok, t.c.nonces.Get(r.URL), t.c.cfg.Now())
		if err != nil {
			return nil, err
		}
		r2 := r.Clone(r.Context())
		r2.Header.Set("DPoP", proof)
		resp, err := base.RoundTrip(r2)
		if err != nil || attempt > 0 || resp.StatusCode != http.StatusUnauthorized || !t.c.nonces.Learn(r.URL, resp, nil) || (r.Body != nil && r.Body != http.NoBody) {
			return resp, err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, netx.SmallBody))
		resp.Body.Close()
	}
}
