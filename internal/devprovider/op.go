// Package devprovider runs a real OpenID Provider (github.com/zitadel/oidc/v3/pkg/op)
// in memory, for confidant's tests and its offline demo.
//
// It does discovery, JWKS, the authorization code flow with PKCE, refresh
// token rotation with reuse detection, userinfo, revocation and end_session.
// A provider browser session (SSO) is kept in a cookie so that "ends the
// provider session" is observable. Hooks let a test corrupt the token
// response to play a hostile provider.
package devprovider

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// User is an account at the provider.
type User struct {
	ID, Username, Password, Name, Email, Picture string
	// Claims are extra profile claims (e.g. Auth0's updated_at, Google's
	// hd), in the ID token and userinfo with the profile scope.
	Claims map[string]any
	// UserinfoOnly are claims the userinfo endpoint alone serves (GitLab's
	// groups).
	UserinfoOnly map[string]any
	// EmailUnverified makes email_verified false.
	EmailUnverified bool
}

// Client is a registered relying party.
type Client struct {
	ID, Secret          string
	Redirects           []string
	PostLogoutRedirects []string
	// TokenAuth is how the client authenticates at the token and
	// revocation endpoints, as registered: "client_secret_basic"
	// (default) or "client_secret_post". Any other way, or two at once
	// (RFC 6749 2.3.1), is refused with invalid_client.
	TokenAuth string

	accessTokenJWT  bool
	idTokenLifetime time.Duration
	loginBase       string
}

// DemoUser is the account the demo's login form is pre-filled with.
var DemoUser = User{ID: "u-1001", Username: "demo", Password: "demo",
	Name: "Dee Mo", Email: "demo@example.com", Picture: "https://example.com/demo.png"}

// Config configures a Provider. Zero fields get the defaults written beside them.
type Config struct {
	Users   []User   // default: DemoUser
	Clients []Client // registered clients

	AccessTokenLifetime  time.Duration // default 5 minutes
	IDTokenLifetime      time.Duration // default 1 hour
	RefreshTokenLifetime time.Duration // default 24 hours
	OpaqueAccessTokens   bool          // default: JWT access tokens
	// NoRefreshRotation keeps a refresh token across refreshes (default:
	// each refresh rotates it, and a rotated-away token revokes its family).
	NoRefreshRotation bool
	// Now is the provider's clock for the tokens' times (iat, exp,
	// auth_time, expires_in) and their expiry. Default time.Now.
	Now func() time.Time

	Logger *slog.Logger // default: discard
	// Addr is where Start listens (host:port). Default: a free loopback port.
	Addr string
}

// issued records every token and code any Provider of this process issued,
// so a test can check that none of them leaks into logs or events.
var issued struct {
	mu sync.Mutex
	v  []string
}

func recordIssued(vals ...string) {
	issued.mu.Lock()
	defer issued.mu.Unlock()
	for _, v := range vals {
		if v != "" {
			issued.v = append(issued.v, v)
		}
	}
}

// RecordIssued adds values to what AllIssued returns: what the other
// providers and emulators of the tests (oidc-provider, GitHub's) issued or
// were given, and the keys the tests make, for the secret scan.
func RecordIssued(vals ...string) { recordIssued(vals...) }

// AllIssued returns every token, code and client secret that the providers
// of this process issued or were given.
func AllIssued() []string {
	issued.mu.Lock()
	defer issued.mu.Unlock()
	return append([]string(nil), issued.v...)
}

// Provider is a running OP.
type Provider struct {
	Issuer string           // exactly as given, e.g. with Auth0's trailing slash
	Base   string           // Issuer without a trailing slash: endpoint URLs start with it
	Server *httptest.Server // nil when built with NewHandler

	op      *op.Provider
	cfg     *Config
	store   *storage
	handler http.Handler
	mux     *http.ServeMux

	mu        sync.Mutex
	counts    map[string]int
	queries   map[string]url.Values
	tokenHook func(map[string]any)
	faults    map[string]http.HandlerFunc
}

// IssuerAt is the issuer of a provider listening at addr: http:// and the
// address, a browser's way to it (127.0.0.1 for a listener on every
// interface, whose [::] or 0.0.0.0 no browser can open).
func IssuerAt(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
	}
	return "http://" + addr.String()
}

// Start starts a Provider on a loopback httptest server, or on cfg.Addr.
func Start(cfg Config) (*Provider, error) {
	srv := httptest.NewUnstartedServer(nil)
	if cfg.Addr != "" {
		srv.Listener.Close()
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			return nil, err
		}
		srv.Listener = ln
	}
	p, err := New(IssuerAt(srv.Listener.Addr()), cfg)
	if err != nil {
		srv.Listener.Close()
		return nil, err
	}
	srv.Config.Handler = p
	srv.Start()
	p.Server = srv
	return p, nil
}

// Close stops the server started by Start.
func (p *Provider) Close() {
	if p.Server != nil {
		p.Server.Close()
	}
}

// New builds a Provider for issuer without starting a server; serve it with
// the Provider's ServeHTTP.
func New(issuer string, cfg Config) (*Provider, error) {
	c := cfg
	if len(c.Users) == 0 {
		c.Users = []User{DemoUser}
	}
	if c.AccessTokenLifetime == 0 {
		c.AccessTokenLifetime = 5 * time.Minute
	}
	if c.IDTokenLifetime == 0 {
		c.IDTokenLifetime = time.Hour
	}
	if c.RefreshTokenLifetime == 0 {
		c.RefreshTokenLifetime = 24 * time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	store, err := newStorage(&c)
	if err != nil {
		return nil, err
	}
	for _, cl := range store.clients {
		cl.idTokenLifetime = c.IDTokenLifetime
		cl.loginBase = strings.TrimSuffix(issuer, "/")
	}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:                sha256.Sum256([]byte(issuer)),
		DefaultLogoutRedirectURI: "/logged-out",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
	}, store, op.StaticIssuer(issuer), op.WithAllowInsecure(), op.WithLogger(c.Logger))
	if err != nil {
		return nil, err
	}
	p := &Provider{Issuer: issuer, Base: strings.TrimSuffix(issuer, "/"), op: provider, cfg: &c, store: store, counts: map[string]int{}, queries: map[string]url.Values{}, faults: map[string]http.HandlerFunc{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", p.loginPage)
	mux.HandleFunc("POST /login", p.loginSubmit)
	mux.HandleFunc("/logged-out", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "signed out at the provider")
	})
	mux.Handle("/", provider)
	p.handler, p.mux = mux, mux
	return p, nil
}

// Endpoint paths of the OP, relative to the issuer.
const (
	PathAuthorize  = "/authorize"
	PathToken      = "/oauth/token"
	PathUserinfo   = "/userinfo"
	PathRevoke     = "/revoke"
	PathEndSession = "/end_session"
	PathKeys       = "/keys"
	PathDiscovery  = "/.well-known/openid-configuration"
)

const ssoCookie = "testop_sso"

// ssoUserKey holds, in an authorization request's context, the user of the
// browser's session at the provider.
type ssoUserKey struct{}

// ServeHTTP serves the OP, counting requests per path.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.counts[r.URL.Path]++
	p.queries[r.URL.Path] = r.URL.Query()
	hook := p.tokenHook
	fault := p.faults[r.URL.Path]
	p.mu.Unlock()
	if fault != nil {
		fault(w, r)
		return
	}
	if (r.URL.Path == PathToken || r.URL.Path == PathRevoke) && !p.authMethodRegistered(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"invalid_client","error_description":"not the client authentication method registered for this client"}`)
		return
	}
	if r.URL.Path == PathAuthorize {
		// prompt=none is answered from the browser's session here
		// (CreateAuthRequest sees only the context).
		if c, err := r.Cookie(ssoCookie); err == nil {
			if uid, ok := p.store.ssoUser(c.Value); ok {
				r = r.WithContext(context.WithValue(r.Context(), ssoUserKey{}, uid))
			}
		}
	}
	switch {
	case r.URL.Path == PathEndSession:
		// End the provider's browser session along with the OP's own handling.
		if c, err := r.Cookie(ssoCookie); err == nil {
			p.store.endSSO(c.Value)
		}
		http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: "", Path: "/", MaxAge: -1})
	case r.URL.Path == PathToken:
		rec := httptest.NewRecorder()
		p.handler.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var m map[string]any
		if rec.Code == http.StatusOK && json.Unmarshal(body, &m) == nil {
			if off := time.Until(p.cfg.Now()).Truncate(time.Second); off != 0 {
				p.shiftTimes(m, off)
				body, _ = json.Marshal(m)
			}
			if hook != nil {
				hook(m)
				body, _ = json.Marshal(m)
			}
			for _, k := range []string{"access_token", "refresh_token", "id_token"} {
				s, _ := m[k].(string)
				recordIssued(s)
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		w.Write(body)
		return
	}
	p.handler.ServeHTTP(w, r)
}

// authMethodRegistered reports whether r authenticates its client the way
// the client is registered (Client.TokenAuth). It leaves r's body as it
// found it; a request for an unknown client is left to the OP to refuse.
func (p *Provider) authMethodRegistered(r *http.Request) bool {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	id, _, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
	} else {
		id = form.Get("client_id")
	}
	p.store.mu.Lock()
	c := p.store.clients[id]
	p.store.mu.Unlock()
	if c == nil {
		return true
	}
	want := cmp.Or(c.TokenAuth, "client_secret_basic")
	switch {
	case basic && (form.Has("client_secret") || form.Has("client_assertion")):
		return false // two methods at once
	case basic:
		return want == "client_secret_basic"
	case form.Has("client_secret"):
		return want == "client_secret_post"
	}
	return false
}

// shiftTimes moves a token response to the provider's clock: the OP
// dates ID tokens and expires_in by the wall clock, while the storage
// dates everything else by Config.Now.
func (p *Provider) shiftTimes(m map[string]any, off time.Duration) {
	if e, ok := m["expires_in"].(float64); ok {
		m["expires_in"] = e - off.Seconds()
	}
	raw, _ := m["id_token"].(string)
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return
	}
	var claims map[string]any
	if json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims) != nil {
		return
	}
	for _, k := range []string{"iat", "exp", "nbf"} {
		if v, ok := claims[k].(float64); ok {
			claims[k] = int64(v) + int64(off.Seconds())
		}
	}
	m["id_token"] = p.Sign(claims)
}

// Count reports how many requests reached path (e.g. PathToken).
func (p *Provider) Count(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[path]
}

// LastQuery returns the query of the last request to path.
func (p *Provider) LastQuery(path string) url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queries[path]
}

// RevokedRefreshTokens reports how many refresh tokens were revoked through
// the revocation endpoint.
func (p *Provider) RevokedRefreshTokens() int64 { return p.store.revoked.Load() }

// ReusedRefreshTokens reports how many rotated-away refresh tokens were presented.
func (p *Provider) ReusedRefreshTokens() int64 { return p.store.reused.Load() }

// RefreshTokenValid reports whether the OP still honours tok.
func (p *Provider) RefreshTokenValid(tok string) bool { return p.store.refreshTokenValid(tok) }

// SetTokenHook lets a test rewrite every successful token response (the
// decoded JSON object) before it is sent. nil removes the hook.
func (p *Provider) SetTokenHook(f func(resp map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokenHook = f
}

// SetUserClaims replaces the extra claims of user id (Claims: the ID
// token's and userinfo's; UserinfoOnly: userinfo's), as an administrator
// changing the user's groups at the provider: tokens issued afterwards
// carry the new ones.
func (p *Provider) SetUserClaims(id string, claims, userinfoOnly map[string]any) {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	if u := p.store.users[id]; u != nil {
		u.Claims, u.UserinfoOnly = claims, userinfoOnly
	}
}

// AddRedirect registers another redirect URI (and its origin + "/" as a
// post-logout redirect) for a client, for apps whose address is known only
// after the provider started.
func (p *Provider) AddRedirect(clientID, uri string) {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	if c, ok := p.store.clients[clientID]; ok {
		c.Redirects = append(c.Redirects, uri)
		if u, err := url.Parse(uri); err == nil {
			c.PostLogoutRedirects = append(c.PostLogoutRedirects, u.Scheme+"://"+u.Host+"/")
		}
	}
}

// AddClient registers another client (its post-logout redirect URIs
// default to the origins of its redirect URIs + "/").
func (p *Provider) AddClient(c Client) {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	recordIssued(c.Secret)
	c.accessTokenJWT = !p.store.opaque
	// As the clients given at start (New): an app added later gets the
	// same ID token lifetime and login pages.
	c.idTokenLifetime, c.loginBase = p.cfg.IDTokenLifetime, p.Base
	if len(c.PostLogoutRedirects) == 0 {
		for _, r := range c.Redirects {
			if u, err := url.Parse(r); err == nil {
				c.PostLogoutRedirects = append(c.PostLogoutRedirects, u.Scheme+"://"+u.Host+"/")
			}
		}
	}
	p.store.clients[c.ID] = &c
}

// Inner serves the OP without counting and without faults, for a fault
// that delays a request and then lets the OP answer it.
func (p *Provider) Inner() http.Handler { return p.handler }

// Handle serves pattern with h beside the OP's own routes, on the
// issuer's origin (an SSF transmitter at the issuer's well-known URL).
func (p *Provider) Handle(pattern string, h http.Handler) { p.mux.Handle(pattern, h) }

// SetFault makes path answer with f instead of the OP (a provider that is
// down, slow or broken). nil restores the OP. Requests are still counted.
func (p *Provider) SetFault(path string, f http.HandlerFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f == nil {
		delete(p.faults, path)
		return
	}
	p.faults[path] = f
}

// Sign signs claims as a JWT with the OP's own key (header alg RS256 and the
// OP's kid), so a test can mint tokens that pass the signature check but break
// another rule.
func (p *Provider) Sign(claims map[string]any) string {
	k := p.store.signing()
	return sign(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.key, KeyID: k.id}}, claims)
}

// RevokeAccessTokens revokes every access token issued so far (as an
// administrator's action at a real provider would): its APIs refuse them
// from now on, while refresh tokens still work.
func (p *Provider) RevokeAccessTokens() {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	clear(p.store.access)
}

// RotateKeys makes a new key sign from now on; the old ones stay in the
// JWKS, so tokens already issued still verify.
func (p *Provider) RotateKeys() error { return p.store.rotateKeys() }

func sign(key jose.SigningKey, claims map[string]any) string {
	signer, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	s, _ := obj.CompactSerialize()
	return s
}

// KeyID is the kid of the OP's signing key.
func (p *Provider) KeyID() string { return p.store.signing().id }

// --- login UI ---

var loginTmpl = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Sign in · test provider</title>
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto}label,input,button{display:block;width:100%;margin:.3rem 0}</style></head>
<body><h1>Test provider</h1><p>Signing in to <b>{{.Client}}</b>.</p>
{{if .Error}}<p id="error" style="color:#b00">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="id" value="{{.ID}}">
<label>Username <input id="username" name="username" value="{{.Username}}" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password" value="{{.Password}}" autocomplete="current-password"></label>
<button id="submit" type="submit" name="action" value="login">Sign in</button>
<button id="deny" type="submit" name="action" value="deny">Deny</button>
</form></body></html>`))

func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	req, ok := p.store.request(id)
	if !ok {
		http.Error(w, "unknown authorization request", http.StatusBadRequest)
		return
	}
	if c, err := r.Cookie(ssoCookie); err == nil && !slices.Contains(req.Prompt, oidc.PromptLogin) {
		if uid, ok := p.store.ssoUser(c.Value); ok && p.store.completeLogin(id, uid) == nil {
			http.Redirect(w, r, p.callbackURL(id), http.StatusFound)
			return
		}
	}
	p.renderLogin(w, req, "")
}

func (p *Provider) renderLogin(w http.ResponseWriter, req *authRequest, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	u := p.cfg.Users[0]
	loginTmpl.Execute(w, map[string]string{"ID": req.id, "Client": req.ClientID, "Error": msg,
		"Action": p.Base + "/login", "Username": u.Username, "Password": u.Password})
}

func (p *Provider) callbackURL(id string) string {
	return p.Base + PathAuthorize + "/callback?id=" + url.QueryEscape(id)
}

func (p *Provider) loginSubmit(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("id")
	req, ok := p.store.request(id)
	if !ok {
		http.Error(w, "unknown authorization request", http.StatusBadRequest)
		return
	}
	if r.PostFormValue("action") == "deny" {
		q := url.Values{"error": {"access_denied"}, "error_description": {"The user denied the request."}}
		if req.State != "" {
			q.Set("state", req.State)
		}
		p.store.DeleteAuthRequest(r.Context(), id)
		http.Redirect(w, r, req.RedirectURI+"?"+q.Encode(), http.StatusFound)
		return
	}
	uid, ok := p.store.checkPassword(r.PostFormValue("username"), r.PostFormValue("password"))
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		p.renderLogin(w, req, "wrong username or password")
		return
	}
	if err := p.store.completeLogin(id, uid); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: p.store.newSSO(uid), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, p.callbackURL(id), http.StatusFound)
}

// Login runs the provider's side of a sign-in for an HTTP client (no
// browser): it follows authURL to the login form, submits the user's
// credentials and returns the redirect to the relying party's callback,
// without following it. With response_mode=form_post it returns the
// callback URL with the fields the provider's page would POST as its
// query: the caller POSTs them.
func (p *Provider) Login(hc *http.Client, authURL string, user User) (*url.URL, error) {
	noFollow := *hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	next := authURL
	for range 10 {
		resp, err := noFollow.Get(next)
		if err != nil {
			return nil, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`name="id"`)) {
			id := resp.Request.URL.Query().Get("id")
			form := url.Values{"id": {id}, "username": {user.Username}, "password": {user.Password}, "action": {"login"}}
			resp, err = noFollow.PostForm(p.Base+"/login", form)
			if err != nil {
				return nil, err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				return nil, fmt.Errorf("devprovider: login answered %d", resp.StatusCode)
			}
			next = resp.Header.Get("Location")
			continue
		}
		if resp.StatusCode == http.StatusOK {
			if loc, ok := formPostResponse(body); ok {
				return loc, nil
			}
		}
		if resp.StatusCode/100 != 3 {
			return nil, fmt.Errorf("devprovider: %s answered %d: %s", next, resp.StatusCode, body)
		}
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(loc.String(), p.Base+"/") {
			return loc, nil
		}
		next = loc.String()
	}
	return nil, fmt.Errorf("devprovider: too many redirects")
}

var (
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)"`)
)

// formPostResponse reads zitadel's form_post page: the form's action with
// its hidden fields as the query.
func formPostResponse(body []byte) (*url.URL, bool) {
	m := formAction.FindSubmatch(body)
	if m == nil {
		return nil, false
	}
	u, err := url.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		return nil, false
	}
	q := url.Values{}
	for _, in := range hiddenInput.FindAllSubmatch(body, -1) {
		q.Set(html.UnescapeString(string(in[1])), html.UnescapeString(string(in[2])))
	}
	u.RawQuery = q.Encode()
	return u, true
}
