// Package webapp is the small app every example serves: a public home page,
// a protected profile, and a protected /api route that calls an API with
// the signed-in user's access token.
package webapp

import (
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"strings"

	"github.com/confidant-go/confidant/middleware"
)

// Config configures the app.
type Config struct {
	Title  string           // page title, e.g. "confidant demo"
	Auth   *middleware.Auth // required
	APIURL string           // called by /api with the user's token; empty disables it
	// APIURLs, when set, give the API to call per provider name.
	APIURLs map[string]string
	// Providers, when there are several, are offered on /signin.
	Providers []ProviderLink
	Note      template.HTML // optional HTML shown on the home page
}

// ProviderLink is a provider offered on the sign-in page.
type ProviderLink struct{ Name, Label string }

// New returns the app's routes: /, /profile, /api and the Auth under /auth/.
func New(cfg Config) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", cfg.Auth)
	mux.Handle("/{$}", cfg.Auth.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		render(w, http.StatusOK, "home", cfg, map[string]any{"User": middleware.UserFrom(r.Context())})
	})))
	mux.HandleFunc("/signin", func(w http.ResponseWriter, r *http.Request) {
		rt := r.URL.Query().Get("return_to")
		if rt == "" {
			rt = "/profile"
		}
		render(w, http.StatusOK, "signin", cfg, map[string]any{"ReturnTo": rt})
	})
	mux.Handle("/profile", cfg.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := middleware.UserFrom(r.Context())
		if wantsJSON(r) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(u.Claims)
			return
		}
		var pretty strings.Builder
		var claims any
		json.Unmarshal(u.Claims, &claims)
		enc := json.NewEncoder(&pretty)
		enc.SetIndent("", "  ")
		enc.Encode(claims)
		render(w, http.StatusOK, "profile", cfg, map[string]any{"User": u, "Claims": pretty.String()})
	})))
	mux.Handle("/api", cfg.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, body := 0, ""
		apiURL := cfg.APIURL
		if u, ok := cfg.APIURLs[middleware.UserFrom(r.Context()).Provider]; ok && u != "" {
			apiURL = u
		}
		if apiURL == "" {
			body = "no API_URL configured"
		} else if resp, err := cfg.Auth.HTTPClient(r).Get(apiURL); err != nil {
			body = err.Error()
		} else {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			status, body = resp.StatusCode, string(b)
		}
		if wantsJSON(r) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"status": status, "body": body})
			return
		}
		render(w, http.StatusOK, "api", cfg, map[string]any{"User": middleware.UserFrom(r.Context()),
			"Status": status, "Body": body, "URL": apiURL})
	})))
	return mux
}

func wantsJSON(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/json") && !strings.Contains(a, "text/html")
}

func render(w http.ResponseWriter, status int, page string, cfg Config, data map[string]any) {
	data["Title"], data["Note"], data["Page"], data["Providers"] = cfg.Title, cfg.Note, page, cfg.Providers
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	pages.ExecuteTemplate(w, "layout", data)
}

var pages = template.Must(template.New("").Parse(`
{{define "layout"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
nav{display:flex;gap:1rem;align-items:center;border-bottom:1px solid #ddd;padding-bottom:.5rem}
nav form{margin-left:auto}pre{background:#f6f6f6;padding:.8rem;overflow:auto}
button,.button{font:inherit;padding:.3rem .8rem}
</style></head><body>
<nav><b>{{.Title}}</b><a href="/">Home</a><a id="nav-profile" href="/profile">Profile</a><a id="nav-api" href="/api">Call the API</a>
{{if .User}}<form method="post" action="/auth/logout"><span id="who">{{.User.Name}}</span> <button id="logout" type="submit">Sign out</button></form>{{end}}</nav>
{{if eq .Page "home"}}{{template "home" .}}{{else if eq .Page "profile"}}{{template "profile" .}}{{else if eq .Page "signin"}}{{template "signin" .}}{{else}}{{template "api" .}}{{end}}
</body></html>{{end}}

{{define "home"}}
{{if .User}}<p id="status">Signed in as <b>{{.User.Name}}</b> ({{.User.Email}}).</p>
{{else}}<p id="status">You are signed out.</p>
{{if gt (len .Providers) 1}}{{range .Providers}}<p><a id="login-{{.Name}}" class="button" href="/auth/login?provider={{.Name}}&amp;return_to=/profile">Sign in with {{.Label}}</a></p>{{end}}
{{else}}<p><a id="login" class="button" href="/auth/login?return_to=/profile">Sign in</a></p>{{end}}{{end}}
{{.Note}}
{{end}}

{{define "profile"}}<h1 id="profile-name">{{.User.Name}}</h1>
<p>Subject <code id="sub">{{.User.Subject}}</code> at <code>{{.User.Provider}}</code>, e-mail <span id="email">{{.User.Email}}</span>.</p>
<h2>Claims</h2><pre id="claims">{{.Claims}}</pre>
<p><a id="call-api" class="button" href="/api">Call the API with my access token</a></p>{{end}}

{{define "signin"}}<h1>Sign in</h1>{{$rt := .ReturnTo}}
{{range .Providers}}<p><a id="login-{{.Name}}" class="button" href="/auth/login?provider={{.Name}}&amp;return_to={{$rt}}">Sign in with {{.Label}}</a></p>{{end}}{{end}}

{{define "api"}}<h1>API call</h1><p>GET <code>{{.URL}}</code> with the access token as a Bearer header answered:</p>
<p>Status <b id="api-status">{{.Status}}</b></p><pre id="api-body">{{.Body}}</pre>{{end}}
`))
