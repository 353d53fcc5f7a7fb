package client

import (
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// Transport is an http.RoundTripper that sends each request with the
// Authorization header of the token from Source. It clones the request and
// never mutates the caller's.
type Transport struct {
	// Source supplies the token for each request. Required.
	Source oauth2.TokenSource
	// Base sends the request. Default: http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.Source.Token()
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r2 := req.Clone(req.Context())
	tok.SetAuthHeader(r2)
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r2)
}

// StaticTokenSource returns a source that yields tok while it is valid and
// ErrTokenExpired once it has expired; it never refreshes. Use TokenSource
// for one that does.
func (c *Client) StaticTokenSource(tok *oauth2.Token) oauth2.TokenSource {
	return staticSource{tok: tok, now: c.cfg.Now}
}

// staticSource hands out one token until it expires, then ErrTokenExpired.
type staticSource struct {
	tok *oauth2.Token
	now func() time.Time
}

func (s staticSource) Token() (*oauth2.Token, error) {
	if s.tok == nil || s.tok.AccessToken == "" {
		return nil, ErrNoToken
	}
	if !s.tok.Expiry.IsZero() && !s.now().Before(s.tok.Expiry) {
		return nil, ErrTokenExpired
	}
	return s.tok, nil
}

// HTTPClient returns an *http.Client that sends src's token as a Bearer
// header on every request. A request for which src fails (for instance
// with ErrTokenExpired) is not sent; its error wraps src's (use errors.Is).
func (c *Client) HTTPClient(src oauth2.TokenSource) *http.Client {
	return &http.Client{Transport: &Transport{Source: src}}
}
