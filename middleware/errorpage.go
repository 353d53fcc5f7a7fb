package middleware

import (
	"cmp"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"

	"github.com/confidant-go/confidant/internal/fail"
)

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Sign-in problem</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}
code{background:#f3f3f3;padding:.1rem .3rem}</style></head>
<body><h1>{{.Title}}</h1><p id="reason">{{.Reason}}</p><p><small>Status {{.Status}}</small></p>
<p><a id="login" href="{{.Login}}">Sign in again</a></p></body></html>`))

// defaultErrorPage is the ErrorHandler used when Config has none: a small
// page with a human reason. The error text is not shown verbatim: it is
// safe (no secrets) but written for developers; only a configuration
// mistake's is, and only to an app in development (dev: its RedirectURL
// is on loopback), whose developer is the one reading.
func defaultErrorPage(loginPath string, dev bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := FailureReason(r)
		status := StatusCode(err)
		title, reason := "Sign-in failed", "Something went wrong while signing you in."
		if status == http.StatusUnauthorized {
			reason = "The identity provider's answer could not be verified."
		}
		var pe *ProviderError
		row := fail.Find(err)
		switch {
		// The provider's own reason first, also beside a state that
		// matches no sign-in (the status says which was reported first).
		case errors.As(err, &pe) && pe.Code == "access_denied":
			title, reason = "Access denied", "The sign-in was cancelled or access was not granted."
		case errors.As(err, &pe):
			reason = "The identity provider reported an error: " + pe.Code + "."
		case row != nil:
			title, reason = cmp.Or(row.Title, title), cmp.Or(row.Message, reason)
			if dev && errors.Is(row.Err, fail.Config) {
				reason += " " + err.Error()
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if !isNavigation(r) {
			// API clients get JSON they can act on.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]string{"error": errorCode(status), "error_description": reason, "login_url": loginPath})
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		errorTmpl.Execute(w, map[string]any{"Title": title, "Reason": reason, "Status": status, "Login": loginPath})
	}
}

func errorCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "access_denied"
	case http.StatusServiceUnavailable:
		return "temporarily_unavailable"
	case http.StatusBadGateway:
		return "provider_error"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	}
	return "bad_request"
}
