package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
)

// postForm posts form to one of the provider's endpoints (what names it in
// errors) with the client's authentication, as the token endpoint gets it:
// HTTP Basic (both parts form-encoded first, RFC 6749 2.3.1), client_id
// and client_secret in the form, or a client assertion (private_key_jwt). It returns the answer's status and body.
// A provider that cannot be reached, or answers 5xx or 429, gives
// ErrProviderUnavailable.
func (c *Client) postForm(ctx context.Context, what, endpoint string, form url.Values, style AuthStyle) (int, []byte, error) {
	form = netx.CloneValues(form)
	switch style {
	case AuthStylePost:
		form.Set("client_id", c.cfg.ClientID)
		form.Set("client_secret", c.secretFor(ctx))
	case AuthStyleTLSClientAuth, AuthStyleSelfSignedTLSClientAuth:
		form.Set("client_id", c.cfg.ClientID) // the TLS connection is the proof
	case AuthStylePrivateKeyJWT:
		ep, err := c.endpoints(ctx)
		if err != nil {
			return 0, nil, err
		}
		if err := c.addAssertion(form, ep, endpoint); err != nil {
			return 0, nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %s: %v", fail.ClientConfig, what, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if style == AuthStyleBasic {
		req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.secretFor(ctx)))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %s: %w", ErrProviderUnavailable, what, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, netx.SmallBody))
	if transientStatus(resp.StatusCode) {
		return resp.StatusCode, body, fmt.Errorf("%w: %s answered %d", ErrProviderUnavailable, what, resp.StatusCode)
	}
	return resp.StatusCode, body, nil
}

// tokenErrorOf is the provider's error answer (RFC 6749 5.2) as a
// *TokenError, its texts bounded.
func tokenErrorOf(status int, body []byte) *TokenError {
	te := &TokenError{StatusCode: status}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) == nil {
		te.Code, te.Description = netx.ProviderText(e.Error), netx.ProviderText(e.Description)
	}
	return te
}
