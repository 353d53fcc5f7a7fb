package middleware

import (
	"crypto/rand"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
)

// response_mode=form_post: the provider's page POSTs the authorization
// response to the callback. That POST comes from the provider's site, and
// browsers send no SameSite=Lax or Strict cookie with a cross-site POST:
// the flow cookie that holds the attempt's state would not arrive. So the
// callback answers such a POST with a page of the app's that POSTs the
// same fields to the callback again, now from the app's own origin, with
// the cookies. That first answer reads no cookie, checks nothing and
// changes nothing: the state is checked, before any token request, on the
// second POST, as on a GET callback. No other route accepts a cross-site
// POST, and neither does the callback of a client without form_post.

// callbackParams returns the authorization response's parameters: the
// query of a GET, or the form of a form_post POST from the app's own
// origin. A form_post POST from elsewhere gets the re-submitting page
// (ok false), any other method 405.
func (a *Auth) callbackParams(w http.ResponseWriter, r *http.Request, c *client.Client) (url.Values, bool) {
	formPost := strings.HasPrefix(plumbingOf(c).ResponseMode(), "form_post")
	switch {
	case r.Method == http.MethodGet:
		return r.URL.Query(), true
	case r.Method == http.MethodPost && formPost:
	default:
		w.Header().Set("Allow", "GET")
		if formPost {
			w.Header().Set("Allow", "GET, POST")
		}
		a.fail(w, r, fail.MethodNotAllowed)
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, netx.SmallBody)
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, fail.BadCallback)
		return nil, false
	}
	params := url.Values{}
	for _, k := range responseFields {
		if v := r.PostForm.Get(k); v != "" {
			params.Set(k, v)
		}
	}
	if !a.fromOwnOrigin(r) {
		resubmit(w, plumbingOf(c).RedirectURL(), params)
		return nil, false
	}
	return params, true
}

// responseFields are the authorization response's parameters (RFC 6749
// 4.1.2 and 4.1.2.1, RFC 9207's iss; Apple's user, its first sign-in's
// name; JARM's response): nothing else is carried over.
var responseFields = []string{"code", "state", "iss", "error", "error_description", "error_uri", "user", "response"}

// fromOwnOrigin reports whether r was sent by a page of the app's origin:
// by Fetch Metadata, or by Origin where a browser sends no Fetch Metadata.
func (a *Auth) fromOwnOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	return r.Header.Get("Origin") == netx.Origin(a.origin)
}

// resubmit answers with a page that POSTs params to action (the callback)
// at once, from the app's origin. Its one script runs by a nonce; it
// frames in nothing, sends no Referer and is not stored.
func resubmit(w http.ResponseWriter, action string, params url.Values) {
	b := make([]byte, 16)
	rand.Read(b)
	nonce := base64.RawStdEncoding.EncodeToString(b)
	h := w.Header()
	netx.NoStore(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	var f strings.Builder
	for _, k := range responseFields {
		if v := params.Get(k); v != "" {
			f.WriteString(`<input type="hidden" name="` + k + `" value="` + html.EscapeString(v) + `">`)
		}
	}
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signing in</title></head><body>`+
		`<form id="resubmit" method="post" action="`+html.EscapeString(action)+`">`+f.String()+
		`<noscript><button id="continue">Continue</button></noscript></form>`+
		`<script nonce="`+nonce+`">document.getElementById("resubmit").submit()</script></body></html>`)
}
