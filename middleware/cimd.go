package middleware

// Client ID metadata documents (draft-ietf-oauth-client-id-metadata-
// document): a sign-in client whose ClientID is a URL on the app's own
// origin is identified by the document the app serves there, derived from
// its configuration, and needs no registration by hand at an
// authorization server that supports such documents. The draft forbids
// shared secrets: the client authenticates with private_key_jwt, the
// document publishing the public key.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/netx"
)

// metadataDocs indexes the sign-in clients whose ClientID is a URL on the
// app's origin, by its path; New refuses one that is not https (http on a
// loopback host) or that has a shared secret.
func (a *Auth) metadataDocs() error {
	for _, c := range a.clients {
		p := plumbingOf(c)
		id := p.ClientID()
		if !strings.HasPrefix(id, "https://") && !strings.HasPrefix(id, "http://") {
			continue
		}
		u, err := url.Parse(id)
		if err != nil || u.Host == "" || netx.Origin(u) != netx.Origin(a.origin) {
			// A URL elsewhere: a document the app does not serve (on a
			// CDN, say), or a mistake of origin.
			if a.cfg.Logger != nil && err == nil && u.Host != "" {
				a.cfg.Logger.Warn("confidant: the ClientID is a URL on another origin than the app's: the app does not serve it as its client ID metadata document", "client_id", id, "app_origin", netx.Origin(a.origin))
			}
			continue
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Path == "" || u.Path == "/" || !netx.SecureOrLoopback(u) {
			return configErr("ClientID %q: a client ID metadata document's URL is https (http only on a loopback host), with a path and no query or fragment", id)
		}
		if p.SharedSecret() || p.PublicJWK() == nil {
			return configErr("ClientID %q is a client ID metadata document, which forbids shared secrets: give the client a PrivateKey (private_key_jwt) and no ClientSecret", id)
		}
		if a.callbacks[u.Path] != nil || a.connects[u.Path] || strings.HasPrefix(u.Path, a.cfg.Prefix) &&
			slices.Contains([]string{"login", "logout", "backchannel-logout", "connect", "ssf"}, strings.TrimPrefix(u.Path, a.cfg.Prefix)) {
			return configErr("ClientID %q: its path is one of the Auth's routes; give the client metadata document a path of its own", id)
		}
		if a.docs == nil {
			a.docs = map[string]*client.Client{}
		}
		a.docs[u.Path] = c
	}
	return nil
}

// serveMetadataDoc serves the client metadata document of c.
func (a *Auth) serveMetadataDoc(w http.ResponseWriter, r *http.Request, c *client.Client) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	p := plumbingOf(c)
	redirects := []string{p.RedirectURL()}
	for _, t := range a.apis {
		if t.conn != nil {
			if u := plumbingOf(t.conn).RedirectURL(); plumbingOf(t.conn).ClientID() == p.ClientID() && !slices.Contains(redirects, u) {
				redirects = append(redirects, u)
			}
		}
	}
	jwk := p.PublicJWK()
	doc := map[string]any{
		"client_id":                           p.ClientID(),
		"client_name":                         a.origin.Host,
		"client_uri":                          netx.Origin(a.origin),
		"application_type":                    "web",
		"redirect_uris":                       redirects,
		"grant_types":                         []string{"authorization_code", "refresh_token"},
		"response_types":                      []string{"code"},
		"token_endpoint_auth_method":          "private_key_jwt",
		"token_endpoint_auth_signing_alg":     jwk.Algorithm,
		"jwks":                                jose.JSONWebKeySet{Keys: []jose.JSONWebKey{*jwk}},
		"post_logout_redirect_uris":           []string{a.cfg.PostLogoutRedirectURL},
		"backchannel_logout_uri":              netx.Origin(a.origin) + a.cfg.Prefix + "backchannel-logout",
		"backchannel_logout_session_required": true,
	}
	if p.DPoP() {
		doc["dpop_bound_access_tokens"] = true
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// Public, and cached a while by the servers that read it (a key
	// rotation reaches them within that time).
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	json.NewEncoder(w).Encode(doc)
}
