// Package ssf is the receiver's side of the OpenID Shared Signals
// Framework 1.0 that does not depend on what the app does with an event:
// the transmitter's configuration (SSF 1.0 7), and the push endpoint of
// RFC 8935 (its answers: 202, 400 with the registered err, 401
// authentication_failed). The SETs themselves are internal/secevent's.
package ssf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/internal/secevent"
)

// The delivery methods (SSF 1.0 6.1).
const (
	PushURN = "urn:ietf:rfc:8935"
	PollURN = "urn:ietf:rfc:8936"
)

// Metadata is the transmitter's configuration (SSF 1.0 7.1), the part a
// receiver uses.
type Metadata struct {
	SpecVersion              string   `json:"spec_version"`
	Issuer                   string   `json:"issuer"`
	JWKSURI                  string   `json:"jwks_uri"`
	DeliveryMethodsSupported []string `json:"delivery_methods_supported"`
	ConfigurationEndpoint    string   `json:"configuration_endpoint"`
	StatusEndpoint           string   `json:"status_endpoint"`
	AddSubjectEndpoint       string   `json:"add_subject_endpoint"`
	RemoveSubjectEndpoint    string   `json:"remove_subject_endpoint"`
	VerificationEndpoint     string   `json:"verification_endpoint"`
	CriticalSubjectMembers   []string `json:"critical_subject_members"`
	DefaultSubjects          string   `json:"default_subjects"`
}

// WellKnown is issuer's configuration URL (SSF 1.0 7.2): the well-known
// path inserted between the host and the issuer's path.
func WellKnown(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: SSF issuer %q is not an absolute URL without query or fragment", fail.Config, netx.ProviderText(issuer))
	}
	return u.Scheme + "://" + u.Host + "/.well-known/ssf-configuration" + strings.TrimSuffix(u.EscapedPath(), "/"), nil
}

// maxMetadata bounds the configuration document.
const maxMetadata = 1 << 20

// Discover reads issuer's configuration with hc: 200, JSON within 1 MiB
// and 10 seconds; its issuer equal to issuer, its jwks_uri and endpoints
// https (http only on a loopback host).
func Discover(ctx context.Context, hc *http.Client, issuer string) (*Metadata, error) {
	where, err := WellKnown(issuer)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", fail.Discovery, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: SSF configuration at %s: %w", fail.ProviderUnavailable, where, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 5 {
		return nil, fmt.Errorf("%w: SSF configuration at %s: %s", fail.ProviderUnavailable, where, resp.Status)
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("%w: no Shared Signals configuration at %s (404): this provider does not transmit security events (SSF), or not at this issuer", fail.Discovery, where)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: SSF configuration at %s: %s", fail.Discovery, where, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadata+1))
	if err != nil {
		return nil, fmt.Errorf("%w: SSF configuration at %s: %w", fail.ProviderUnavailable, where, err)
	}
	if len(b) > maxMetadata {
		return nil, fmt.Errorf("%w: SSF configuration at %s: more than %d bytes", fail.Discovery, where, maxMetadata)
	}
	var m Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: SSF configuration at %s: %v", fail.Discovery, where, err)
	}
	if m.Issuer != issuer {
		return nil, fmt.Errorf("%w: the SSF configuration at %s names the issuer %q, not %q", fail.Discovery, where, netx.ProviderText(m.Issuer), issuer)
	}
	for name, v := range map[string]string{"jwks_uri": m.JWKSURI, "configuration_endpoint": m.ConfigurationEndpoint,
		"status_endpoint": m.StatusEndpoint, "verification_endpoint": m.VerificationEndpoint,
		"add_subject_endpoint": m.AddSubjectEndpoint, "remove_subject_endpoint": m.RemoveSubjectEndpoint} {
		if v == "" {
			if name == "jwks_uri" {
				return nil, fmt.Errorf("%w: the SSF configuration at %s has no jwks_uri", fail.Discovery, where)
			}
			continue
		}
		if u, err := url.Parse(v); err != nil || !u.IsAbs() || u.Host == "" || !netx.SecureOrLoopback(u) {
			return nil, fmt.Errorf("%w: the SSF configuration's %s %q is not https", fail.Discovery, name, netx.ProviderText(v))
		}
	}
	return &m, nil
}

// Push is an RFC 8935 push endpoint: POST application/secevent+jwt, the
// stream's authorization checked first (401 authentication_failed, with
// no SET read), the SET handed to Receive (202 when it returns nil; 400
// with the err code of secevent.Code otherwise).
type Push struct {
	// Authorized reports whether r carries the stream's authorization
	// (in constant time).
	Authorized func(r *http.Request) bool
	// Receive verifies raw and acts on it; a replayed SET is nil (RFC
	// 8935 2.3: acknowledged, not acted on again).
	Receive func(ctx context.Context, raw string) error
}

// maxPush bounds a pushed SET.
const maxPush = 64 << 10

func (p *Push) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if !p.Authorized(r) {
		answer(w, http.StatusUnauthorized, "authentication_failed", "the stream's authorization is missing or wrong")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/secevent+jwt" {
		answer(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/secevent+jwt")
		return
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxPush+1))
	if err != nil || len(b) > maxPush {
		answer(w, http.StatusBadRequest, "invalid_request", "the SET is unreadable or larger than 64 KiB")
		return
	}
	if err := p.Receive(r.Context(), strings.TrimSpace(string(b))); err != nil {
		if !errors.Is(err, fail.BadRequest) {
			// Not the SET's fault (a store away): the transmitter tries
			// again later.
			w.Header().Set("Retry-After", "5")
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		answer(w, http.StatusBadRequest, secevent.Code(err), netx.ProviderText(err.Error()))
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// answer is RFC 8935 2.3's error response.
func answer(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"err": code, "description": desc})
}
