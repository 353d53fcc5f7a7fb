package emulate

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
)

// GitHub emulates GitHub's OAuth 2.0 web flow and the REST endpoints the
// SDK uses, as documented: the token endpoint answers form-encoded unless
// asked for JSON, and reports errors with HTTP 200; /user with the numeric
// id; /user/emails (scope user:email) for a private e-mail; GitHub App user
// tokens that expire with single-use refresh tokens; token revocation with
// DELETE /applications/{client_id}/token. With Enterprise set, it serves a
// GitHub Enterprise Server at https://HOST with its API under /api/v3.
type GitHub struct {
	Server *httptest.Server
	Host   string // web host: github.com, or the Enterprise host

	// Expiring makes access tokens expire after Lifetime with a refresh
	// token, as GitHub App user tokens do.
	Expiring bool
	Lifetime time.Duration
	// FormOnly answers form-encoded whatever the Accept header says.
	FormOnly bool

	enterprise bool
	clientID   string
	secret     string
	redirect   string

	mu         sync.Mutex
	codes      map[string]ghCode
	tokens     map[string]ghToken
	refresh    map[string]string // refresh token -> access token it came with
	usedRT     map[string]bool
	tokenCalls int
	lastAccept string
	revoked    int
}

type ghCode struct{ redirect, challenge, scope string }

type ghToken struct {
	scope   string
	expires time.Time
}

// GitHubUserID is the emulated user's numeric id (the octocat's).
const GitHubUserID = 583231

var githubUser = map[string]any{"id": GitHubUserID, "login": "octocat", "name": "The Octocat",
	"email": nil, "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4", "html_url": "https://github.com/octocat"}

var githubEmails = []map[string]any{
	{"email": "octocat@users.noreply.github.com", "primary": false, "verified": true, "visibility": nil},
	{"email": "unverified@example.com", "primary": false, "verified": false, "visibility": nil},
	{"email": "octocat@github.com", "primary": true, "verified": true, "visibility": "private"},
}

// NewGitHub starts the emulator for one OAuth app. enterpriseHost, when not
// empty, makes it a GitHub Enterprise Server at that host.
func NewGitHub(t testing.TB, hosts *Hosts, clientID, secret, redirect, enterpriseHost string) *GitHub {
	t.Helper()
	g := &GitHub{Host: "github.com", clientID: clientID, secret: secret, redirect: redirect, Lifetime: 8 * time.Hour,
		codes: map[string]ghCode{}, tokens: map[string]ghToken{}, refresh: map[string]string{}, usedRT: map[string]bool{}}
	if enterpriseHost != "" {
		g.Host, g.enterprise = enterpriseHost, true
	}
	devprovider.RecordIssued(secret)
	g.Server = httptest.NewServer(g)
	t.Cleanup(g.Server.Close)
	hosts.Map(g.Host, g.Server.URL)
	if !g.enterprise {
		hosts.Map("api.github.com", g.Server.URL)
	}
	return g
}

// TokenCalls counts token endpoint requests; LastAccept is the Accept
// header of the last one; Revoked counts revoked grants.
func (g *GitHub) TokenCalls() (calls int, lastAccept string, revoked int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tokenCalls, g.lastAccept, g.revoked
}

// TokenValid reports whether an access token is still accepted.
func (g *GitHub) TokenValid(at string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.tokens[at]
	return ok && (t.expires.IsZero() || time.Now().Before(t.expires))
}

// ghRandom is a new code or token, reported to the tests' secret scan.
func ghRandom(prefix string) string {
	b := make([]byte, 20)
	rand.Read(b)
	v := prefix + base64.RawURLEncoding.EncodeToString(b)
	devprovider.RecordIssued(v)
	return v
}

func (g *GitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	api := r.Host == "api.github.com"
	if g.enterprise && strings.HasPrefix(path, "/api/v3/") {
		path, api = strings.TrimPrefix(path, "/api/v3"), true
	}
	switch {
	case !api && path == "/login/oauth/authorize" && r.Method == http.MethodGet:
		g.authorizePage(w, r)
	case !api && path == "/login/oauth/authorize" && r.Method == http.MethodPost:
		g.authorize(w, r)
	case !api && path == "/login/oauth/access_token" && r.Method == http.MethodPost:
		g.token(w, r)
	case api && path == "/user":
		if _, ok := g.auth(w, r); ok {
			writeJSON(w, githubUser)
		}
	case api && path == "/user/emails":
		if tok, ok := g.auth(w, r); ok {
			if !strings.Contains(" "+tok.scope+" ", " user:email ") && !strings.Contains(" "+tok.scope+" ", " user ") {
				w.WriteHeader(http.StatusNotFound)
				writeJSON(w, map[string]string{"message": "Not Found"})
				return
			}
			writeJSON(w, githubEmails)
		}
	case api && r.Method == http.MethodDelete && path == "/applications/"+g.clientID+"/token":
		g.revoke(w, r)
	default:
		http.NotFound(w, r)
	}
}

var ghAuthorizeTmpl = template.Must(template.New("").Parse(`<!doctype html><title>Authorize application</title>
<h1>Authorize {{.ClientID}}</h1><form method="post" action="/login/oauth/authorize">
{{range $k, $v := .Query}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<button id="authorize" name="decision" value="allow">Authorize</button>
<button id="cancel" name="decision" value="deny">Cancel</button></form>`))

func (g *GitHub) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != g.clientID {
		http.Error(w, "unknown client_id", http.StatusNotFound)
		return
	}
	if q.Get("redirect_uri") != "" && q.Get("redirect_uri") != g.redirect {
		http.Error(w, "The redirect_uri is not associated with this application.", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	ghAuthorizeTmpl.Execute(w, map[string]any{"ClientID": g.clientID, "Query": q})
}

func (g *GitHub) authorize(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	f := r.PostForm
	q := url.Values{}
	if s := f.Get("state"); s != "" {
		q.Set("state", s)
	}
	if f.Get("decision") != "allow" {
		q.Set("error", "access_denied")
		q.Set("error_description", "The user has denied your application access.")
		http.Redirect(w, r, g.redirect+"?"+q.Encode(), http.StatusFound)
		return
	}
	if f.Get("code_challenge") != "" && f.Get("code_challenge_method") != "S256" {
		http.Error(w, "unsupported code_challenge_method", http.StatusBadRequest)
		return
	}
	code := ghRandom("")[:20]
	devprovider.RecordIssued(code)
	g.mu.Lock()
	g.codes[code] = ghCode{redirect: f.Get("redirect_uri"), challenge: f.Get("code_challenge"), scope: f.Get("scope")}
	g.mu.Unlock()
	q.Set("code", code)
	http.Redirect(w, r, g.redirect+"?"+q.Encode(), http.StatusFound)
}

// Authorize runs the user's side for an HTTP client: it opens authURL and
// presses Authorize, returning the redirect to the app's callback.
func (g *GitHub) Authorize(hc *http.Client, authURL string) (*url.URL, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return nil, err
	}
	form := u.Query()
	form.Set("decision", "allow")
	noFollow := *hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.PostForm("https://"+g.Host+"/login/oauth/authorize", form)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return url.Parse(resp.Header.Get("Location"))
}

// tokenReply answers as GitHub does: JSON when asked, form-encoded
// otherwise, and errors with status 200.
func (g *GitHub) tokenReply(w http.ResponseWriter, r *http.Request, v map[string]any) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") && !g.FormOnly {
		writeJSON(w, v)
		return
	}
	form := url.Values{}
	for k, x := range v {
		switch x := x.(type) {
		case string:
			form.Set(k, x)
		case int:
			form.Set(k, strconv.Itoa(x))
		}
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w.Write([]byte(form.Encode()))
}

func ghError(code, desc string) map[string]any {
	return map[string]any{"error": code, "error_description": desc, "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#" + strings.ReplaceAll(code, "_", "-")}
}

func (g *GitHub) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tokenCalls++
	g.lastAccept = r.Header.Get("Accept")
	// "Exchange this code for an access token": client_id and
	// client_secret are parameters (docs.github.com, authorizing OAuth
	// apps); the emulator takes no other way.
	_, _, basic := r.BasicAuth()
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if basic || id != g.clientID || secret != g.secret {
		g.tokenReply(w, r, ghError("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect."))
		return
	}
	scope := ""
	switch r.PostForm.Get("grant_type") {
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		at, ok := g.refresh[rt]
		if !ok || g.usedRT[rt] {
			g.tokenReply(w, r, ghError("bad_refresh_token", "The refresh token passed is incorrect or expired."))
			return
		}
		g.usedRT[rt] = true // single use
		delete(g.refresh, rt)
		scope = g.tokens[at].scope
		delete(g.tokens, at)
	case "", "authorization_code":
		c, ok := g.codes[r.PostForm.Get("code")]
		delete(g.codes, r.PostForm.Get("code"))
		if !ok {
			g.tokenReply(w, r, ghError("bad_verification_code", "The code passed is incorrect or expired."))
			return
		}
		if c.redirect != "" && r.PostForm.Get("redirect_uri") != c.redirect {
			g.tokenReply(w, r, ghError("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application."))
			return
		}
		if c.challenge != "" {
			sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
			if base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
				g.tokenReply(w, r, ghError("bad_verification_code", "The code_verifier does not match the challenge."))
				return
			}
		}
		scope = strings.Join(strings.Fields(strings.ReplaceAll(c.scope, ",", " ")), ",")
	default:
		g.tokenReply(w, r, ghError("unsupported_grant_type", "The grant type is not supported."))
		return
	}
	at := ghRandom("gho_")
	t := ghToken{scope: strings.ReplaceAll(scope, ",", " ")}
	resp := map[string]any{"access_token": at, "token_type": "bearer", "scope": scope}
	if g.Expiring {
		at = ghRandom("ghu_")
		resp["access_token"] = at
		rt := ghRandom("ghr_")
		t.expires = time.Now().Add(g.Lifetime)
		g.refresh[rt] = at
		resp["expires_in"] = int(g.Lifetime / time.Second)
		resp["refresh_token"] = rt
		resp["refresh_token_expires_in"] = 15811200
	}
	g.tokens[at] = t
	g.tokenReply(w, r, resp)
}

func (g *GitHub) auth(w http.ResponseWriter, r *http.Request) (ghToken, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(h, "token ")
	}
	g.mu.Lock()
	t, known := g.tokens[tok]
	g.mu.Unlock()
	if !ok || !known || (!t.expires.IsZero() && time.Now().After(t.expires)) {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]string{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
		return t, false
	}
	return t, true
}

func (g *GitHub) revoke(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != g.clientID || secret != g.secret {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(r.Body).Decode(&body)
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.tokens[body.AccessToken]; !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	delete(g.tokens, body.AccessToken)
	for rt, at := range g.refresh {
		if at == body.AccessToken {
			delete(g.refresh, rt)
		}
	}
	g.revoked++
	w.WriteHeader(http.StatusNoContent)
}
