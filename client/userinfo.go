package client

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant"
)

// userInfo fetches the userinfo endpoint with tok, requires its sub to equal
// sub, and returns claims with the userinfo claims added.
func (c *Client) userInfo(ctx context.Context, r *resolved, tok *oauth2.Token, sub string, claims map[string]any) (map[string]any, error) {
	ui, err := r.oidc.UserInfo(oidc.ClientContext(ctx, c.cfg.HTTPClient), oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUserInfo, err)
	}
	if subtle.ConstantTimeCompare([]byte(ui.Subject), []byte(sub)) != 1 {
		return nil, fmt.Errorf("%w: userinfo sub differs from the id_token's", ErrUserInfo)
	}
	var extra map[string]any
	if err := ui.Claims(&extra); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUserInfo, err)
	}
	for k, v := range extra {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
	return claims, nil
}

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
