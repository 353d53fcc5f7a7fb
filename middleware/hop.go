package middleware

import (
	"html"
	"io"
	"net/http"

	"github.com/confidant-go/confidant/internal/netx"
)

// SameSite=Strict session cookies are not sent on a navigation that another
// site started, nor on any redirect of it: the redirect from the provider
// to the callback and on to the return-to page is such a chain, and so is a
// link to the app from another site. Browsers send them again on a
// navigation that a page of the app itself starts. A store whose cookies
// are Strict therefore gets a same-site hop where a cross-site chain would
// otherwise lose the session: the response is a small page of the app that
// moves on to target at once, and the browser's next request carries the
// cookie.

// strict reports whether the session cookie is SameSite=Strict.
func (a *Auth) strict() bool { return a.cookies.SameSite == http.SameSiteStrictMode }

// crossSiteNavigation reports whether r is a page load that another site
// started (a link, a redirect from the provider), which a Strict cookie
// does not come with. Browsers without Fetch Metadata are not detected:
// they fall back to a sign-in.
func crossSiteNavigation(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Site") == "cross-site" && isNavigation(r)
}

// hopTo answers with a page that navigates to target, a local path that
// sanitizeReturnTo accepted. The page runs no script (a meta refresh, and a
// link for browsers that do not follow it) and sends no Referer, so the
// callback's code and state stay out of the next request.
func hopTo(w http.ResponseWriter, target string) {
	h := w.Header()
	netx.NoStore(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'")
	u := html.EscapeString(target)
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=`+u+
		`"><title>Continuing</title></head><body><p><a id="continue" href="`+u+`">Continue</a></p></body></html>`)
}
