package middleware

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/session"
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
		var pe *ProviderError
		switch {
		case errors.As(err, &pe) && pe.Code == "access_denied":
			title, reason = "Access denied", "The sign-in was cancelled or access was not granted."
		case errors.As(err, &pe):
			reason = "The identity provider reported an error: " + pe.Code + "."
		case errors.Is(err, ErrFlowCookieMissing):
			reason = "Your browser did not send back the sign-in cookie. Open the app at the address it is configured for (not another name for the same machine, such as 127.0.0.1 for localhost) and sign in again."
		case errors.Is(err, ErrStateMissing), errors.Is(err, ErrStateMismatch):
			reason = "This sign-in link is not valid for this browser or was already used."
		case errors.Is(err, ErrStateExpired):
			reason = "The sign-in took too long and expired."
		case errors.Is(err, ErrCodeMissing):
			reason = "The identity provider sent no authorization code."
		case errors.Is(err, ErrMethodNotAllowed):
			title, reason = "Method not allowed", "This endpoint does not accept that request method."
		case errors.Is(err, ErrCrossOrigin):
			title, reason = "Request refused", "Another site asked your browser to do this; nothing was changed."
		case errors.Is(err, ErrDistributedClaim):
			title, reason = "Not allowed", "Your account belongs to more groups than the sign-in can list, so this app cannot tell whether you may open this page."
		case errors.Is(err, ErrForbidden):
			title, reason = "Not allowed", "You are signed in, but your account may not open this page."
		case errors.Is(err, ErrSignInRefused):
			title, reason = "Sign-in refused", "This app does not accept this account."
		case errors.Is(err, ErrRefreshUnavailable):
			title, reason = "Service unavailable", "Your session could not be renewed because the identity provider is unreachable. Please try again shortly."
		case errors.Is(err, ErrConfig):
			title, reason = "Sign-in is not set up", "This app's sign-in is not set up correctly; its log says how to fix it."
			if dev {
				reason += " " + err.Error()
			}
		case errors.Is(err, session.ErrTooLarge):
			title, reason = "Sign-in failed", "Your session is too large to be kept by this app. This is a problem with the app's configuration; retrying will not help."
		case errors.Is(err, ErrSessionStore):
			title, reason = "Service unavailable", "Sessions cannot be stored right now. Please try again shortly."
		case errors.Is(err, client.ErrProviderUnavailable), errors.Is(err, client.ErrDiscovery):
			reason = "The identity provider could not be reached. Please try again shortly."
		case errors.Is(err, client.ErrTokenRequest):
			reason = "The identity provider refused to complete the sign-in."
		case status == http.StatusUnauthorized:
			reason = "The identity provider's answer could not be verified."
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
