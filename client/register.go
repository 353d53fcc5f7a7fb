package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
)

// Register is dynamic client registration (RFC 7591) at the provider's
// registration_endpoint: metadata posted as JSON, without an initial
// access token; the registered client's client_id, and its client_secret
// when the provider issued one. A provider without the endpoint is
// fail.NotSupported; its refusal (RFC 7591 3.2.2) is fail.ProviderRefused
// with its error code.
func (p *providerPlumbing) Register(ctx context.Context, metadata map[string]any) (id, secret string, err error) {
	r, err := (*Provider)(p).resolve(ctx)
	if err != nil {
		return "", "", err
	}
	where := r.ep.registrationURL
	if where == "" {
		return "", "", fmt.Errorf("%w: %s has no registration_endpoint", fail.NotSupported, (*Provider)(p).issuer())
	}
	body, err := json.Marshal(metadata)
	if err != nil {
		return "", "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, where, bytes.NewReader(body))
	if err != nil {
		return "", "", fmt.Errorf("%w: registration_endpoint %q: %v", fail.Discovery, netx.ProviderText(where), err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := p.hc.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("%w: registration at %s: %w", ErrProviderUnavailable, hostOf(where), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, netx.SmallBody))
	var out struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Error        string `json:"error"`
		Description  string `json:"error_description"`
	}
	json.Unmarshal(b, &out)
	switch {
	case transientStatus(resp.StatusCode):
		return "", "", fmt.Errorf("%w: registration at %s: %s", ErrProviderUnavailable, hostOf(where), resp.Status)
	case resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK:
		return "", "", fmt.Errorf("%w: registration at %s answered %d %s: %s", fail.ProviderRefused, hostOf(where), resp.StatusCode,
			netx.ProviderText(out.Error), netx.ProviderText(out.Description))
	case out.ClientID == "":
		return "", "", fmt.Errorf("%w: registration at %s: no client_id", fail.InvalidResponse, hostOf(where))
	}
	return out.ClientID, out.ClientSecret, nil
}

// PrivateKey is Config.PrivateKey (nil without one).
func (p *plumbing) PrivateKey() *PrivateKey { return p.cfg.PrivateKey }

// hostOf is raw's scheme and host, for errors.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Scheme + "://" + u.Host
	}
	return ""
}
