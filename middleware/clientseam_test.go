package middleware_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/seam"
)

// discovered is what discovery told of p beyond its URLs.
func discovered(ctx context.Context, p *client.Provider) (seam.Discovered, error) {
	return seam.Of(p).(interface {
		Discovered(context.Context) (seam.Discovered, error)
	}).Discovered(ctx)
}

// withTransport is p discovered again with an HTTP client of tr, for a
// test that sees or changes what a client sends to the provider.
func withTransport(t *testing.T, p *client.Provider, tr http.RoundTripper) *client.Provider {
	t.Helper()
	iss := seam.Of(p).(interface{ Issuer() string }).Issuer()
	prov, err := client.Discover(t.Context(), iss, client.WithName(p.Name()), client.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	return prov
}
