package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/preset"
	"github.com/confidant-go/confidant/internal/seam"
)

// maxResponseBytes bounds the GitHub API bodies read here, as client
// bounds every provider response: 1 MiB, far above any real one.
const maxResponseBytes = 1 << 20

// GitHub returns GitHub as a plain OAuth 2.0 provider (GitHub is not an
// OpenID Provider), named "github": https://github.com, or a GitHub
// Enterprise Server with WithBaseURL. Its quirks are handled: the token
// endpoint is asked for JSON and its errors that arrive with HTTP 200
// (bad_verification_code, incorrect_client_credentials, …) become errors;
// the user comes from GET /user, the e-mail from GET /user/emails (primary
// and verified) when it is private (scope user:email); the numeric user ID
// is the stable subject, since logins can be renamed. GitHub App user
// tokens that expire, with single-use refresh tokens, are refreshed like
// any other; a dead one (bad_refresh_token) ends the session. Signing out
// revokes the token through DELETE /applications/{client_id}/token.
//
// Default scopes: read:user user:email.
func GitHub(opts ...client.ProviderOption) (*client.Provider, error) {
	o := applyOptions(opts)
	base, api := "https://github.com", "https://api.github.com"
	if o.BaseURL != "" {
		if u, err := url.Parse(o.BaseURL); err != nil || u.Host == "" {
			return nil, fmt.Errorf("%w: GitHub base URL %q", fail.ClientConfig, o.BaseURL)
		}
		base, api = o.BaseURL, o.BaseURL+"/api/v3"
	}
	if o.Name == "" {
		o.Name = "github"
	}
	p, err := client.NewProvider(o.Name, client.Endpoints{AuthURL: base + "/login/oauth/authorize", TokenURL: base + "/login/oauth/access_token"}, client.WithHTTPClient(o.HTTPClient))
	if err != nil {
		return nil, err
	}
	seam.Of(p).(factory).SetQuirks(preset.Quirks{
		DefaultScopes: []string{"read:user", "user:email"},
		LoginParams:   []string{"login", "allow_signup"},
		AuthPost:      true, // client_id and client_secret as parameters, as GitHub documents
		RevokedCodes:  []string{"bad_refresh_token"},
		UserLoader: func(ctx context.Context, hc *http.Client, tok *oauth2.Token) (confidant.User, error) {
			return githubUser(ctx, hc, api)
		},
		Revoke: func(ctx context.Context, hc *http.Client, clientID, secret string, tok *oauth2.Token) error {
			return githubRevoke(ctx, hc, api, clientID, secret, tok.AccessToken)
		},
	})
	return p, nil
}

func githubGet(ctx context.Context, hc *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", client.ErrProviderUnavailable, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if resp.StatusCode != http.StatusOK {
		if transientStatus(resp.StatusCode) {
			return fmt.Errorf("%w: GitHub %s answered %d", client.ErrProviderUnavailable, u, resp.StatusCode)
		}
		return fmt.Errorf("%w: GitHub %s answered %d", fail.UserInfo, u, resp.StatusCode)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: GitHub %s: %v", fail.UserInfo, u, err)
	}
	return nil
}

// transientStatus tells a provider that is down from one that refused, as
// client does.
func transientStatus(code int) bool {
	return code >= 500 || code == 429 || code == 408
}

func githubUser(ctx context.Context, hc *http.Client, api string) (confidant.User, error) {
	var user map[string]any
	if err := githubGet(ctx, hc, api+"/user", &user); err != nil {
		return confidant.User{}, err
	}
	id, ok := user["id"].(float64)
	if !ok || id <= 0 {
		return confidant.User{}, fmt.Errorf("%w: GitHub /user has no numeric id", fail.UserInfo)
	}
	str := func(k string) string { s, _ := user[k].(string); return s }
	ident := confidant.User{Subject: strconv.FormatInt(int64(id), 10), Name: str("name"), Email: str("email"), Picture: str("avatar_url")}
	if ident.Name == "" {
		ident.Name = str("login")
	}
	if ident.Email == "" {
		// The public e-mail is not set: ask for the primary verified one.
		var emails []struct {
			Email    string `json:"email"`
			Primary  bool   `json:"primary"`
			Verified bool   `json:"verified"`
		}
		if err := githubGet(ctx, hc, api+"/user/emails", &emails); err == nil {
			for _, e := range emails {
				if e.Primary && e.Verified {
					ident.Email, ident.EmailVerified = e.Email, true
				}
			}
		}
	} else {
		ident.EmailVerified = false // a public profile e-mail is not a verified claim
	}
	claims := map[string]any{"sub": ident.Subject, "login": user["login"], "name": ident.Name,
		"email": ident.Email, "email_verified": ident.EmailVerified, "picture": ident.Picture,
		"html_url": user["html_url"]}
	raw, _ := json.Marshal(claims)
	ident.Claims = raw
	return ident, nil
}

func githubRevoke(ctx context.Context, hc *http.Client, api, clientID, secret, accessToken string) error {
	body, _ := json.Marshal(map[string]string{"access_token": accessToken})
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, api+"/applications/"+url.PathEscape(clientID)+"/token", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(clientID, secret)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: revocation: %w", client.ErrProviderUnavailable, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotFound {
		return &client.TokenError{StatusCode: resp.StatusCode}
	}
	return nil
}
