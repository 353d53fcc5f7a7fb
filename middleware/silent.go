package middleware

import (
	"net/http"

	"github.com/gorilla/sessions"

	"github.com/confidant-go/confidant/internal/cookies"
)

// silentMark is the cookie that says a silent sign-in was tried in this
// browser session (or the user signed out): no second attempt, so a user
// who is not signed in at the provider never loops through it.
const silentMark = "confidant_silent"

// trySilently tells whether an Optional request without a session should
// try a silent sign-in (Config.SilentSignIn): a browser navigation, a
// default provider that speaks OpenID Connect, and no attempt yet.
func (a *Auth) trySilently(r *http.Request) bool {
	if !a.cfg.SilentSignIn || !isNavigation(r) || r.Method != http.MethodGet || !providerOf(a.clients[0].Provider()).IsOIDC() {
		return false
	}
	_, err := r.Cookie(a.silentName())
	return err != nil
}

func (a *Auth) silentName() string {
	return cookies.Name(silentMark, a.cookies.Secure, &sessions.Options{Path: "/"})
}

// setSilentMark sets the mark for the rest of the browser session.
func (a *Auth) setSilentMark(w http.ResponseWriter) {
	cookies.Write(w, a.silentName(), "1", &sessions.Options{Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}, a.cookies.Secure, 0, a.cfg.Now())
}
