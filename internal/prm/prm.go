// Package prm reads OAuth 2.0 Protected Resource Metadata (RFC 9728): what
// an API says of itself (its resource identifier, the authorization
// servers it trusts, its scopes, whether it wants DPoP), from the URL its
// 401's WWW-Authenticate names (resource_metadata) or from its well-known
// URL. An API never chooses where the app's requests go unchecked: the
// metadata URL is https (http only to a loopback host), redirects are not
// followed, private and link-local addresses are refused when dialling
// (unless allowed), the document is bounded in size and time, and its
// resource must equal the API's URL byte for byte.
package prm

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
)

// Limits of a metadata fetch.
const (
	MaxSize = 1 << 20
	Timeout = 10 * time.Second
)

// Metadata is the part of RFC 9728's document the SDK uses.
type Metadata struct {
	Resource                      string   `json:"resource"`
	AuthorizationServers          []string `json:"authorization_servers"`
	ScopesSupported               []string `json:"scopes_supported"`
	BearerMethodsSupported        []string `json:"bearer_methods_supported"`
	DPoPSigningAlgs               []string `json:"dpop_signing_alg_values_supported"`
	DPoPBoundAccessTokensRequired bool     `json:"dpop_bound_access_tokens_required"`
	ResourceName                  string   `json:"resource_name"`
}

// WellKnown is the RFC 9728 3.1 metadata URL of resource: the well-known
// path inserted between the host and the resource's path (a path of "/"
// alone is dropped first).
func WellKnown(resource string) (string, error) {
	u, err := url.Parse(resource)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" {
		return "", fmt.Errorf("%w: %q is not an absolute URL", fail.MetadataURLRefused, netx.ProviderText(resource))
	}
	p := u.EscapedPath()
	if p == "/" {
		p = ""
	}
	w := *u
	w.Path, w.RawPath = "", ""
	return w.Scheme + "://" + w.Host + "/.well-known/oauth-protected-resource" + p + queryOf(u), nil
}

func queryOf(u *url.URL) string {
	if u.RawQuery == "" {
		return ""
	}
	return "?" + u.RawQuery
}

// FromChallenge is the resource_metadata URL a 401's WWW-Authenticate
// names (RFC 9728 5.1), or "".
func FromChallenge(h http.Header) string {
	for _, v := range h.Values("WWW-Authenticate") {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
		if !strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "DPoP") {
			continue
		}
		if m := netx.AuthParams(rest)["resource_metadata"]; m != "" {
			return m
		}
	}
	return ""
}

// Client is the HTTP client of metadata fetches: no redirects, bounded in
// time, and a dialer that refuses private, link-local and other special
// addresses unless allowInternal (an API must not make the app fetch from
// its own network), and loopback unless allowLoopback (an API on
// loopback, for development). tlsConfig, when not nil, is the app's (its
// roots for APIs on a private CA); it is cloned.
func Client(allowInternal, allowLoopback bool, tlsConfig *tls.Config) *http.Client {
	d := &net.Dialer{Timeout: Timeout}
	if !allowInternal || !allowLoopback {
		d.Control = func(network, address string, c syscall.RawConn) error {
			return refuse(address, !allowInternal, !allowLoopback)
		}
	}
	t := &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: Timeout, ResponseHeaderTimeout: Timeout,
		MaxResponseHeaderBytes: 64 << 10, ForceAttemptHTTP2: true}
	if tlsConfig != nil {
		t.TLSClientConfig = tlsConfig.Clone()
	}
	return &http.Client{Transport: t, Timeout: Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// internal are the ranges refused when dialling: RFC 1918, link-local,
// unique local, shared address space, "this network", benchmarking,
// IETF protocol assignments, reserved, multicast and broadcast, and the
// IPv6 forms that carry an IPv4 address to a gateway (NAT64, 6to4), which
// could reach any of those.
var internal = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("fc00::/7"), netip.MustParsePrefix("fe80::/10"), netip.MustParsePrefix("::/128"), netip.MustParsePrefix("ff00::/8"),
	netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("64:ff9b:1::/48"), netip.MustParsePrefix("2002::/16"),
}

// refuse refuses address when it is internal (refuseInternal) or
// loopback (refuseLoopback).
func refuse(address string, refuseInternal, refuseLoopback bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s is not an address", fail.MetadataURLRefused, host)
	}
	ip = ip.Unmap()
	if refuseLoopback && ip.IsLoopback() {
		return fmt.Errorf("%w: %s is a loopback address, and the API is not on loopback", fail.MetadataURLRefused, ip)
	}
	if refuseInternal {
		for _, p := range internal {
			if p.Contains(ip) {
				return fmt.Errorf("%w: %s is a private, link-local or special-use address", fail.MetadataURLRefused, ip)
			}
		}
	}
	return nil
}

// Fetch reads the metadata at metadataURL for resource (the API's URL, as
// configured) with hc (Client's): https, or http to a loopback host; 200
// with at most MaxSize bytes of JSON within Timeout; its resource equal
// to resource byte for byte (RFC 9728 3.3).
func Fetch(ctx context.Context, hc *http.Client, metadataURL, resource string) (*Metadata, error) {
	u, err := url.Parse(metadataURL)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || !netx.SecureOrLoopback(u) {
		return nil, fmt.Errorf("%w: %q (https, or http to a loopback host)", fail.MetadataURLRefused, netx.ProviderText(metadataURL))
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", fail.MetadataURLRefused, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(err, fail.MetadataURLRefused) {
			return nil, fmt.Errorf("%w: %s", fail.MetadataURLRefused, netx.ProviderText(err.Error()))
		}
		if ctx.Err() != nil || isTimeout(err) {
			return nil, fmt.Errorf("%w: %s", fail.MetadataTimeout, u.Host)
		}
		return nil, fmt.Errorf("%w: %s: %v", fail.Discovery, u.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered %d (redirects are not followed)", fail.Discovery, hostPath(u), resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxSize+1))
	if err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return nil, fmt.Errorf("%w: %s", fail.MetadataTimeout, u.Host)
		}
		return nil, fmt.Errorf("%w: %s: %v", fail.Discovery, u.Host, err)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: more than %d bytes at %s", fail.MetadataTooLarge, MaxSize, hostPath(u))
	}
	var m Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", fail.Discovery, hostPath(u), err)
	}
	if m.Resource != resource {
		// Not what it names: the document is the API's to choose, and
		// may be something else the app can reach.
		hint := ""
		if strings.TrimSuffix(m.Resource, "/") == strings.TrimSuffix(resource, "/") {
			hint = " (they differ only in a trailing slash: give the API's BaseURL as its metadata names it)"
		}
		return nil, fmt.Errorf("%w: the metadata at %s names another resource than %q%s", fail.ResourceMismatch, hostPath(u), resource, hint)
	}
	return &m, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func hostPath(u *url.URL) string { return u.Scheme + "://" + u.Host + u.EscapedPath() }

// Trusted returns the first of m's authorization servers that allowed
// names exactly, or fail.UntrustedServer: an API never chooses where the
// user's credentials go.
func (m *Metadata) Trusted(allowed []string) (string, error) {
	for _, as := range m.AuthorizationServers {
		for _, a := range allowed {
			if as == a {
				return as, nil
			}
		}
	}
	return "", fmt.Errorf("%w: the API names %q, the app trusts %q", fail.UntrustedServer, m.AuthorizationServers, allowed)
}
