package middleware

// Registration without a console: an API that describes itself may name
// an authorization server the app has no registration at. Where that
// server supports client ID metadata documents and the app has one (a
// sign-in ClientID that is a URL on its origin, cimd.go), the app is that
// client there too; where it offers dynamic registration (RFC 7591) only,
// the app registers once, and the registration is kept beside the users'
// grants (sealed, shared by the instances: a grant is refreshed with the
// client it was issued to, whichever instance refreshes it).

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/internal/seam"
)

// registrations are the clients the app made for itself, by issuer.
type registrations struct {
	mu sync.Mutex
	m  map[string]*client.Client
}

// asDiscoverer is package client's RFC 8414-first discovery.
type asDiscoverer interface {
	DiscoverAuthorizationServer(ctx context.Context, issuer string, opts ...client.ProviderOption) (*client.Provider, error)
}

// registrar is package client's dynamic registration (RFC 7591).
type registrar interface {
	Register(ctx context.Context, metadata map[string]any) (id, secret string, err error)
}

// registration is what the grant store keeps of a dynamic registration.
type registration struct {
	ClientID     string `json:"id"`
	ClientSecret string `json:"secret,omitempty"`
	RedirectURL  string `json:"redirect"`
	// Key is the thumbprint of the public key registered for
	// private_key_jwt ("" for a secret): a registration made with
	// another key (rotated, or another instance's) is made again.
	Key string `json:"key,omitempty"`
}

// publicKeyOf is the thumbprint of c's public key, "" without one.
func publicKeyOf(c *client.Client) string {
	jwk := plumbingOf(c).PublicJWK()
	if jwk == nil {
		return ""
	}
	t, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(t)
}

// registeredAt returns the app's own client at authorization server as:
// by its client ID metadata document where as supports them, else by
// dynamic registration where as offers it.
func (a *Auth) registeredAt(ctx context.Context, as string) (*client.Client, error) {
	a.regs.mu.Lock()
	c := a.regs.m[as]
	a.regs.mu.Unlock()
	if c != nil {
		return c, nil
	}
	var opts []client.ProviderOption
	if a.cfg.APITransport != nil {
		opts = append(opts, client.WithHTTPClient(&http.Client{Transport: a.cfg.APITransport, Timeout: 10 * time.Second}))
	}
	prov, err := seam.Of((*client.Provider)(nil)).(asDiscoverer).DiscoverAuthorizationServer(ctx, as, opts...)
	if err != nil {
		return nil, err
	}
	d, err := providerOf(prov).Discovered(ctx)
	if err != nil {
		return nil, err
	}
	// The app's identity: the client with a metadata document, else the
	// first sign-in client (its callback, and its key if it has one).
	base := a.clients[0]
	var doc *client.Client
	for _, c := range a.clients {
		if u, err := url.Parse(plumbingOf(c).ClientID()); err == nil && a.docs[u.Path] == c {
			base, doc = c, c
			break
		}
	}
	bp := plumbingOf(base)
	cfg := client.Config{Provider: prov, RedirectURL: bp.RedirectURL(), Now: a.cfg.Now}
	switch {
	case doc != nil && d.ClientIDMetadataDocument:
		cfg.ClientID, cfg.PrivateKey = bp.ClientID(), bp.PrivateKey()
	case d.RegistrationEndpoint != "":
		reg, err := a.register(ctx, prov, as, base)
		if err != nil {
			return nil, err
		}
		cfg.ClientID, cfg.ClientSecret = reg.ClientID, reg.ClientSecret
		if reg.ClientSecret == "" {
			cfg.PrivateKey = bp.PrivateKey()
		}
	default:
		return nil, configErr("the authorization server %q supports neither client ID metadata documents (for a ClientID that is a URL on the app's origin) nor dynamic registration: register the app there by hand, and give the API that Client", as)
	}
	if c, err = client.New(cfg); err != nil {
		return nil, err
	}
	c = plumbingOf(c).WithEvents(a.cfg.Logger, a.cfg.OnEvent)
	a.regs.mu.Lock()
	defer a.regs.mu.Unlock()
	if a.regs.m == nil {
		a.regs.m = map[string]*client.Client{}
	}
	if old := a.regs.m[as]; old != nil {
		return old, nil
	}
	a.regs.m[as] = c
	return c, nil
}

// register returns the app's dynamic registration at as: the one the
// grant store keeps (for the same redirect URI), else a new one, kept
// there under the store's lock so that the instances register once.
func (a *Auth) register(ctx context.Context, prov *client.Provider, as string, base *client.Client) (*registration, error) {
	g := a.grants
	user, api := g.user("\x00registrations", ""), as
	_, unlock, err := g.store.Lock(ctx, g.lockID(user, api))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	defer unlock()
	bp := plumbingOf(base)
	raw, err := g.store.Grant(ctx, user, api)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	if raw != nil {
		if plain, _, err := g.cipher.OpenBytesStale(string(raw), g.aad(user, api)); err == nil {
			var reg registration
			if json.Unmarshal(plain, &reg) == nil && reg.ClientID != "" && reg.RedirectURL == bp.RedirectURL() && (reg.ClientSecret != "" || reg.Key == publicKeyOf(base)) {
				return &reg, nil
			}
		}
	}
	meta := map[string]any{
		"redirect_uris":  []string{bp.RedirectURL()},
		"grant_types":    []string{"authorization_code", "refresh_token"},
		"response_types": []string{"code"},
		"client_name":    a.origin.Host,
		"client_uri":     netx.Origin(a.origin),
	}
	if jwk := bp.PublicJWK(); jwk != nil {
		meta["token_endpoint_auth_method"] = "private_key_jwt"
		meta["jwks"] = map[string]any{"keys": []any{jwk}}
	} else {
		meta["token_endpoint_auth_method"] = "client_secret_basic"
	}
	id, secret, err := providerOf(prov).(registrar).Register(ctx, meta)
	if err != nil {
		return nil, err
	}
	reg := &registration{ClientID: id, ClientSecret: secret, RedirectURL: bp.RedirectURL()}
	if secret == "" {
		reg.Key = publicKeyOf(base)
	}
	plain, _ := json.Marshal(reg)
	if err := g.store.SetGrant(ctx, user, api, g.cipher.SealBytes(plain, g.aad(user, api))); err != nil {
		return nil, fmt.Errorf("%w: %w", fail.SessionStore, err)
	}
	return reg, nil
}
