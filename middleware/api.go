package middleware

import (
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/netx"
)

// API is an API that the app calls on the signed-in user's behalf through
// HTTPClient. Its BaseURL is the only place the user's access token is sent:
// a request to any other URL fails with ErrForbidden before anything is
// sent.
type API struct {
	// Name identifies the API in events and errors, unique among the
	// APIs.
	// Required.
	Name string

	// BaseURL is where the API lives: an https URL (plain http only for a
	// loopback host, for development). The token goes only to requests on
	// BaseURL's origin (scheme, host and port) whose path is under
	// BaseURL's path.
	// Required.
	BaseURL string

	// Provider, when set, limits the API to users who signed in with that
	// provider (the name of one of the Config's clients): a Google user's
	// token never goes to an API meant for GitHub tokens.
	// Default: none (users of every provider).
	Provider string

	// Resource gives the API a token of its own instead of the sign-in
	// token: the API's resource indicator (RFC 8707), or its audience at
	// Auth0. The token is obtained with a refresh grant the first time the
	// API is called, kept in the session (its APITokens field), refreshed
	// before it expires, one token request per session and API however
	// many calls need it; the refresh token it rotates serves every other
	// API. The sign-in asks for the resource too, so that the grant covers
	// it. Needs a refresh token (offline_access).
	// Default: none (the sign-in token).
	Resource string

	// Scopes of the API's own token (with Resource). The sign-in asks for
	// them too (with the resource: RFC 8707 2.1), so that a strict
	// provider's refresh grant covers them; do not add them to the
	// client's Scopes by hand.
	// Default: none (the token has the grant's scopes).
	Scopes []string

	// TokenExchange obtains the API's own token by token exchange (RFC
	// 8693) of the user's sign-in access token, for Resource, instead of a
	// refresh grant: for providers that issue tokens for downstream APIs
	// that way. No refresh token is needed.
	// Default: off.
	TokenExchange bool

	// ForwardHeaders are request headers that Proxy passes to the API
	// besides its default list (the content and caching headers, Accept-Encoding,
	// and the W3C trace context: traceparent, tracestate): an
	// Idempotency-Key, X-Request-Id, a custom header of the API's.
	// New refuses, with confidant.ErrConfig, a header the proxy sets itself
	// (Cookie, Authorization, DPoP, the anti-forgery header), one of the
	// connection's (Host, Connection and the other hop-by-hop headers),
	// the browser's Origin and Fetch Metadata (Sec-Fetch-*), which the
	// proxy checks and never passes on, and one that an API may trust
	// because its proxy sets it, which a browser could then set at will:
	// forwarding headers (Forwarded, Via, X-Forwarded-*, X-Real-IP,
	// True-Client-IP, X-Original-URL, …) and authenticating proxies'
	// identity headers (X-Auth-Request-*, X-Remote-*, Remote-User,
	// X-User, X-Amzn-Oidc-*, X-Goog-Authenticated-*,
	// X-MS-Client-Principal*, Cf-Access-*, Impersonate-*, client
	// certificate headers, …).
	// Default: none (the default list only).
	ForwardHeaders []string

	// Client is the API's own registration at an authorization server of
	// its own (another provider than the sign-in's; client.Discover finds
	// one by RFC 8414 metadata or OpenID discovery): the API is then a
	// connected API. The user grants it once, in a connect flow that a
	// call's ErrNotConnected starts through Auth.StepUp (state, PKCE, PAR
	// whenever the server offers it, and the sign-in callback's checks);
	// it asks for exactly Scopes (and offline_access when the server lists
	// it), and for Resource when set. The grant is kept for the user, not
	// the browser: it outlives the session, serves background jobs
	// (Auth.ClientFor) and ends with Auth.Disconnect or EndUserSessions.
	// The client's RedirectURL must be under Prefix on the app's origin;
	// it may be the sign-in's callback. Its Scopes are not used.
	// Default: none (tokens from the sign-in provider).
	Client *client.Client

	// AuthorizationServers makes the API one that describes itself (RFC
	// 9728): the authorization servers, by issuer identifier (exact
	// strings), whose tokens the app may obtain for it. Its first call
	// carries no token; on its 401, the SDK reads the API's protected
	// resource metadata (from the challenge's resource_metadata, else from
	// the well-known URL of BaseURL), whose resource must equal BaseURL
	// byte for byte, and takes the first of the API's authorization
	// servers that this list names and the app can use (an API never
	// chooses where the user's credentials go). The API's token is asked
	// for its resource (RFC 8707: BaseURL) with Scopes, else the
	// metadata's scopes_supported:
	//   - at a sign-in provider's issuer, from the session's own grant (a
	//     refresh grant, as for Resource): it lives and ends with the
	//     session; a grant that does not cover the API is ErrNotConnected,
	//     and connecting is a sign-in that asks for it;
	//   - elsewhere, as a connected API (see Client): granted once per
	//     user, with Client when it is registered there, else with the
	//     app's client ID metadata document where the server supports
	//     them (a sign-in ClientID that is a URL on the app's origin),
	//     else by dynamic registration (RFC 7591) where it offers it.
	// The token goes to the API and nowhere else; an API that still
	// refuses it, refreshed, fails with an error for which StatusCode
	// gives 502 (its metadata is read again on the next call: an API that
	// names another server in its 401 is ErrNotConnected there at once).
	// Metadata is fetched over https (http to a loopback host), without
	// redirects, at most 1 MiB within 10 seconds, one read at a time,
	// never from a private, link-local or other special-use address
	// unless AllowInternal, nor from loopback unless BaseURL is on
	// loopback; it is read again after an hour. Not with Resource or
	// TokenExchange; New refuses a BaseURL that overlaps another API's.
	// Default: none (the API is described by this configuration).
	AuthorizationServers []string

	// AllowInternal lets the metadata of an API with AuthorizationServers
	// be fetched from private, link-local, unique-local, loopback and
	// other special-use addresses (10/8, 172.16/12, 192.168/16,
	// 169.254/16, 100.64/10, fc00::/7, fe80::/10, …): for an API on the
	// app's own network.
	// Default: off (refused when dialling).
	AllowInternal bool

	// MaxRequestBody bounds the body of a call through Proxy, in bytes: a
	// larger one gets 413 JSON (at once when Content-Length says so,
	// else when the limit is reached).
	// Default: 10485760 (10 MiB); -1 for no limit (an upload API).
	MaxRequestBody int64
}

// defaultMaxRequestBody is API.MaxRequestBody's default.
const defaultMaxRequestBody = 10 << 20

// unforwardable are the headers an API never gets from the browser
// through Proxy, whatever ForwardHeaders says (New refuses them there),
// each group with the reason New gives. Names are matched in any case;
// a name ending in "-" or "*" is a prefix.
var unforwardable = []struct {
	why   string
	names []string
}{
	{"the proxy sets it from the session", []string{"Authorization", "Cookie", "Cookie2", "DPoP", AntiForgeryHeader}},
	{"a header of the connection, not of the request", []string{"Host", "Connection", "Keep-Alive", "TE", "Trailer",
		"Transfer-Encoding", "Upgrade", "Content-Length", "Proxy-"}},
	{"what the browser says of its call to the app, which the proxy checks and never passes on (a WebSocket handshake's Origin included)",
		[]string{"Origin", "Sec-Fetch-"}},
	// An API behind a proxy trusts what the proxy says of the client and
	// of the request it received; the BFF is that proxy, and a browser
	// (or anyone with a session) sets any header at will.
	{"a forwarding header, which an API may trust from its proxy: the browser would set the client's address or the request the API believes",
		[]string{"Forwarded", "Via", "X-Forwarded-", "X-Real-IP", "X-Client-IP", "True-Client-IP", "CF-Connecting-IP",
			"Fastly-Client-IP", "X-Cluster-Client-IP", "X-Original-URL", "X-Rewrite-URL", "X-Envoy-"}},
	{"an identity header, which an API may trust from its proxy: the browser would say who the user is",
		[]string{"X-Auth-Request-", "X-Remote-", "Remote-User", "X-User", "X-User-Id", "X-User-Email", "X-Userinfo",
			"X-Webauth-", "X-Authenticated-", "X-Consumer-", "X-Credential-", "X-Anonymous-Consumer", "Gap-",
			"X-Amzn-Oidc-", "X-Amzn-Mtls-", "X-Goog-Authenticated-", "X-Goog-Iap-", "X-MS-Client-Principal*", "X-MS-Token-",
			"Cf-Access-", "X-Pomerium-", "Impersonate-", "X-Client-Cert*", "X-SSL-", "SSL-Client-", "X-ARR-ClientCert"}},
}

// whyUnforwardable is why h may not be named in ForwardHeaders, or "".
func whyUnforwardable(h string) string {
	for _, g := range unforwardable {
		for _, n := range g.names {
			if p, ok := strings.CutSuffix(n, "*"); ok {
				n = p
			} else if !strings.HasSuffix(n, "-") {
				if strings.EqualFold(h, n) {
					return g.why
				}
				continue
			}
			if len(h) >= len(n) && strings.EqualFold(h[:len(n)], n) {
				return g.why
			}
		}
	}
	return ""
}

// apiTarget is a validated API.
type apiTarget struct {
	name     string
	base     *url.URL // BaseURL, its path ending in "/"
	origin   string   // netx.Origin of BaseURL
	path     string   // BaseURL's path, ending in "/"
	provider string
	op       refreshOp         // api "" when the API takes the sign-in token
	conn     *client.Client    // API.Client: a connected API's own client
	callback string            // the path of conn's RedirectURL
	connRT   http.RoundTripper // the transport of conn's tokens (its client certificate, if any)
	forward  []string          // request headers Proxy passes on, canonical
	maxBody  int64             // Proxy's request body limit; < 0: none

	// An API that describes itself (API.AuthorizationServers): disc is
	// set, conn nil until its metadata has been read; then disc.current
	// is this target as a connected API at the server it named, issuer
	// being that server.
	disc   *discovery
	issuer string
}

func parseAPIs(apis []API, providers map[string]*client.Client) ([]apiTarget, error) {
	out := make([]apiTarget, 0, len(apis))
	names := map[string]bool{}
	for i, api := range apis {
		if api.Name == "" {
			return nil, configErr("APIs[%d]: Name is required", i)
		}
		if names[api.Name] {
			return nil, configErr("APIs[%d]: two APIs named %q", i, api.Name)
		}
		names[api.Name] = true
		u, err := url.Parse(api.BaseURL)
		if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, configErr("API %q: BaseURL %q must be an absolute URL without user, query or fragment", api.Name, api.BaseURL)
		}
		if !netx.SecureOrLoopback(u) {
			return nil, configErr("API %q: BaseURL %q must be https (plain http only on a loopback host): the access token must not travel in clear", api.Name, api.BaseURL)
		}
		if api.Provider != "" && providers[api.Provider] == nil {
			return nil, configErr("API %q: Provider %q is not one of the configured clients", api.Name, api.Provider)
		}
		p := u.EscapedPath()
		if !strings.HasSuffix(p, "/") {
			p += "/"
		}
		base := *u
		if !strings.HasSuffix(base.Path, "/") {
			base.Path += "/"
			base.RawPath = ""
		}
		t := apiTarget{name: api.Name, base: &base, origin: netx.Origin(u), path: p, provider: api.Provider,
			forward: slices.Clone(forwardedHeaders), maxBody: api.MaxRequestBody}
		if t.maxBody == 0 {
			t.maxBody = defaultMaxRequestBody
		}
		for _, h := range api.ForwardHeaders {
			h = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(h))
			if h == "" || strings.ContainsAny(h, " :") {
				return nil, configErr("API %q: ForwardHeaders: %q is not a header name", api.Name, h)
			}
			if why := whyUnforwardable(h); why != "" {
				return nil, configErr("API %q: ForwardHeaders: %q is never forwarded (%s)", api.Name, h, why)
			}
			if !slices.Contains(t.forward, h) {
				t.forward = append(t.forward, h)
			}
		}
		if len(api.AuthorizationServers) > 0 {
			if err := describable(&t, api, providers); err != nil {
				return nil, err
			}
		} else if api.AllowInternal {
			return nil, configErr("API %q: AllowInternal is for an API with AuthorizationServers (its metadata's address)", api.Name)
		} else if api.Client != nil {
			if err := connectable(&t, api, providers); err != nil {
				return nil, err
			}
		} else if api.Resource != "" {
			t.op = refreshOp{api: api.Name, resource: api.Resource, scopes: slices.Clone(api.Scopes), exchange: api.TokenExchange}
		} else if len(api.Scopes) > 0 || api.TokenExchange {
			return nil, configErr("API %q: Scopes and TokenExchange need a Resource (an API token of its own)", api.Name)
		}
		out = append(out, t)
	}
	for i, t := range out {
		for j, o := range out {
			if i != j && t.disc != nil && t.origin == o.origin && (strings.HasPrefix(t.path, o.path) || strings.HasPrefix(o.path, t.path)) {
				// The API matched first would take the other's calls: the
				// sign-in token, or another API's, would go to an API
				// known only by its URL.
				return nil, configErr("APIs %q and %q: BaseURLs %q and %q overlap, and %q describes itself: give it a BaseURL of its own", t.name, o.name, t.base, o.base, t.name)
			}
		}
	}
	return out, nil
}

// apiFor returns the API that u belongs to for a user of provider, or nil.
func (a *Auth) apiFor(u *url.URL, provider string) *apiTarget {
	if u.User != nil {
		return nil
	}
	origin := netx.Origin(u)
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	for i := range a.apis {
		t := &a.apis[i]
		if t.origin != origin || (t.provider != "" && t.provider != provider) {
			continue
		}
		if p+"/" == t.path || strings.HasPrefix(p, t.path) {
			if strings.Contains("/"+u.Path+"/", "/../") {
				return nil // a path that climbs out of BaseURL at the server
			}
			return t
		}
	}
	return nil
}

// connectable checks a connected API (API.Client) and fills in t.
func connectable(t *apiTarget, api API, providers map[string]*client.Client) error {
	if api.TokenExchange {
		return configErr("API %q: TokenExchange and Client: a connected API's token comes from its own grant", api.Name)
	}
	p := plumbingOf(api.Client)
	if p.DPoP() {
		return configErr("API %q: Client with DPoP: connected APIs take bearer tokens (not yet DPoP-bound ones)", api.Name)
	}
	if m := p.ResponseMode(); m != "" {
		return configErr("API %q: Client with ResponseMode %q: a connect flow's callback takes the query response mode only", api.Name, m)
	}
	u, err := url.Parse(p.RedirectURL())
	if err != nil || u.Path == "" {
		return configErr("API %q: the Client's RedirectURL %q is not a URL", api.Name, p.RedirectURL())
	}
	for _, c := range providers {
		if c == api.Client {
			return configErr("API %q: Client is a sign-in client; a connected API needs a registration of its own", api.Name)
		}
	}
	t.conn = api.Client
	t.callback = u.Path
	t.op = refreshOp{api: api.Name, resource: api.Resource, scopes: slices.Clone(api.Scopes)}
	return nil
}
