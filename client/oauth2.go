package client

import (
	"context"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/internal/fail"
)

// OAuth2 returns a plain OAuth 2.0 provider (no ID token): endpoints by hand
// and load, which loads the signed-in user with the access token: hc sends
// tok as a Bearer header; User.Subject must be stable (an ID, not a
// renameable login); Callback sets User.Provider.
func OAuth2(name string, authURL, tokenURL string, load func(ctx context.Context, hc *http.Client, tok *oauth2.Token) (confidant.User, error), opts ...ProviderOption) (*Provider, error) {
	if load == nil {
		return nil, fmt.Errorf("%w: provider %q needs a function that loads the user", fail.ClientConfig, name)
	}
	o := applyOptions(opts)
	p, err := NewProvider(name, Endpoints{AuthURL: authURL, TokenURL: tokenURL}, WithHTTPClient(o.HTTPClient))
	if err != nil {
		return nil, err
	}
	p.q.UserLoader = load
	return p, nil
}
