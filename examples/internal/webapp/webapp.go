// Package webapp has the pages every example serves: a public home page,
// a sign-in page for several providers, the profile, and the result of an
// API call made with the user's access token. Which page needs a signed-in
// user, and how the API is called, is each example's main.go.
package webapp

import (
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"strings"

	"github.com/confidant-go/confidant/middleware"
)

// Pages are the example app's pages. They read the user with
// middleware.UserFrom, so they are served behind Auth.Require or
// Auth.Optional (main.go shows which).
type Pages struct {
	Title string // page title, e.g. "confidant demo"
	// Providers, when there are several, are offered on the sign-in page.
	Providers []ProviderLink
	Note      template.HTML // optional HTML shown on the home page
}

// ProviderLink is a provider offered on the sign-in page.
type ProviderLink struct{ Name, Label string }

// Home is the public home page: who is signed in, or a sign-in button.
func (p Pages) Home() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.render(w, "home", map[string]any{"User": middleware.UserFrom(r.Context())})
	})
}

// SignIn offers each provider, for Config.LoginPage.
func (p Pages) SignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt := r.URL.Query().Get("return_to")
		if rt == "" {
			rt = "/profile"
		}
		p.render(w, "signin", map[string]any{"ReturnTo": rt})
	})
}

// Profile shows the user and their claims (the claims as JSON when asked).
func (p Pages) Profile() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := middleware.UserFrom(r.Context())
		if wantsJSON(r) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(u.Claims)
			return
		}
		var pretty strings.Builder
		var claims any
		u.DecodeClaims(&claims)
		enc := json.NewEncoder(&pretty)
		enc.SetIndent("", "  ")
		enc.Encode(claims)
		p.render(w, "profile", map[string]any{"User": u, "Claims": pretty.String()})
	})
}

// API shows what call answered: call makes the request with the user's
// token (auth.HTTPClient(r)) and says which URL it called.
func (p Pages) API(call func(r *http.Request) (string, *http.Response, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, body := 0, ""
		apiURL, resp, err := call(r)
		switch {
		case apiURL == "":
			body = "no API_URL configured"
		case err != nil:
			body = err.Error()
		default:
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			status, body = resp.StatusCode, string(b)
		}
		if wantsJSON(r) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"status": status, "body": body})
			return
		}
		p.render(w, "api", map[string]any{"User": middleware.UserFrom(r.Context()), "Status": status, "Body": body, "URL": apiURL})
	})
}

func wantsJSON(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/json") && !strings.Contains(a, "text/html")
}

func (p Pages) render(w http.ResponseWriter, page string, data map[string]any) {
	data["Title"], data["Note"], data["Page"], data["Providers"] = p.Title, p.Note, page, p.Providers
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
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
