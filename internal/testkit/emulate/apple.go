package emulate

import (
	"bytes"
	"crypto"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/devprovider"
)

// Apple emulates Sign in with Apple at https://appleid.apple.com as
// "Authenticating users with Sign in with Apple" and "Creating a client
// secret" (developer.apple.com/documentation/signinwithapple) describe it:
// endpoints under /auth (authorize, token, revoke, keys), client secrets
// that are ES256 JWTs (AppleSecrets) sent client_secret_post, the scopes
// name and email, the response by form_post, and the user's name never in
// the ID token but in the form_post's user field, on a user's first
// authorization of the app only. There is no userinfo endpoint.
type Apple struct {
	OP      *devprovider.Provider
	Secrets *AppleSecrets
	Server  *httptest.Server

	mu    sync.Mutex
	names map[string][2]string // username → first and last name
	seen  map[string]bool      // users who authorized the app before
	last  string               // the user of the sign-in in progress
}

// AppleUser is a user of the emulator: Name is left empty, as Apple's ID
// tokens have none; First and Last are what the first sign-in's form
// carries.
type AppleUser struct {
	devprovider.User
	First, Last string
}

// NewApple starts the emulator, mapped in hosts, for the Services ID
// clientID (redirect to redirect), whose secrets must be signed by key
// (keyID, teamID).
func NewApple(t testing.TB, hosts *Hosts, now func() time.Time, clientID, redirect string, key crypto.PublicKey, keyID, teamID string, users []AppleUser) *Apple {
	t.Helper()
	a := &Apple{names: map[string][2]string{}, seen: map[string]bool{}}
	var us []devprovider.User
	for _, u := range users {
		u.User.Name = ""
		us = append(us, u.User)
		a.names[u.Username] = [2]string{u.First, u.Last}
	}
	op, err := devprovider.New("https://appleid.apple.com", devprovider.Config{Users: us, Now: now,
		Clients: []devprovider.Client{{ID: clientID, Secret: "registered", Redirects: []string{redirect}, TokenAuth: "client_secret_post"}}})
	if err != nil {
		t.Fatal(err)
	}
	a.OP = op
	a.Secrets = &AppleSecrets{Key: key, KeyID: keyID, TeamID: teamID, ClientID: clientID, Audience: "https://appleid.apple.com",
		Registered: "registered", Now: now, Next: op, Paths: []string{devprovider.PathToken, devprovider.PathRevoke}}
	a.Server = httptest.NewServer(a)
	t.Cleanup(a.Server.Close)
	hosts.Map("appleid.apple.com", a.Server.URL)
	return a
}

func (a *Apple) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	to := func(h http.Handler, path string) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = path
		h.ServeHTTP(w, r2)
	}
	switch r.URL.Path {
	case devprovider.PathDiscovery:
		doc := discovery(a.OP, r)
		doc["authorization_endpoint"] = "https://appleid.apple.com/auth/authorize"
		doc["token_endpoint"] = "https://appleid.apple.com/auth/token"
		doc["revocation_endpoint"] = "https://appleid.apple.com/auth/revoke"
		doc["jwks_uri"] = "https://appleid.apple.com/auth/keys"
		doc["response_modes_supported"] = []string{"query", "fragment", "form_post"}
		doc["scopes_supported"] = []string{"openid", "email", "name"}
		doc["token_endpoint_auth_methods_supported"] = []string{"client_secret_post"}
		delete(doc, "userinfo_endpoint")
		delete(doc, "end_session_endpoint")
		writeJSON(w, doc)
	case "/auth/authorize":
		q := r.URL.Query()
		scopes := strings.Fields(q.Get("scope"))
		if (slices.Contains(scopes, "name") || slices.Contains(scopes, "email")) && q.Get("response_mode") != "form_post" {
			http.Error(w, "invalid_request: response_mode must be form_post when name or email scope is requested", http.StatusBadRequest)
			return
		}
		// The OP knows no "name" scope: Apple's name comes in the form.
		// Apple issues a refresh token with every code, without
		// offline_access: the OP is asked for one.
		scopes = slices.DeleteFunc(scopes, func(s string) bool { return s == "name" })
		q.Set("scope", strings.Join(append(scopes, "offline_access"), " "))
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawQuery = devprovider.PathAuthorize, q.Encode()
		a.OP.ServeHTTP(w, r2)
	case "/auth/token":
		to(a.Secrets, devprovider.PathToken)
	case "/auth/revoke":
		to(a.Secrets, devprovider.PathRevoke)
	case "/auth/keys":
		to(a.OP, devprovider.PathKeys)
	case "/login":
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			form, _ := url.ParseQuery(string(body))
			a.mu.Lock()
			a.last = form.Get("username")
			a.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		a.OP.ServeHTTP(w, r)
	default:
		if !strings.HasPrefix(r.URL.Path, devprovider.PathAuthorize+"/callback") {
			a.OP.ServeHTTP(w, r)
			return
		}
		// The OP's form_post page: the first authorization adds the user.
		rec := httptest.NewRecorder()
		a.OP.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		a.mu.Lock()
		user := a.last
		first := !a.seen[user] && bytes.Contains(body, []byte(`name="code"`))
		if first {
			a.seen[user] = true
		}
		a.mu.Unlock()
		if n, ok := a.names[user]; ok && first {
			u, _ := json.Marshal(map[string]any{"name": map[string]string{"firstName": n[0], "lastName": n[1]}})
			body = bytes.Replace(body, []byte("</form>"), []byte(`<input type="hidden" name="user" value="`+html.EscapeString(string(u))+`"/></form>`), 1)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		w.Write(body)
	}
}
