package middleware

import (
	"net/http"
	"net/url"

	"golang.org/x/oauth2"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/internal/fail"
)

// SignedIn is a completed sign-in as Config.OnSignIn sees it, before the
// session is made.
type SignedIn struct {
	User    confidant.User // verified
	Token   *oauth2.Token  // the access and refresh tokens; do not keep them elsewhere
	IDToken string         // raw, verified; "" for plain OAuth 2.0
	// Values are kept in the session: set a few of the app's own (roles,
	// an account ID). They travel in the cookie with a cookie store.
	Values map[string]string
}

// SignInOptions say how Auth.SignIn starts a sign-in.
type SignInOptions struct {
	// Provider is the name of the provider to sign in with. Default: the
	// first configured.
	Provider string
	// ReturnTo is the local path to land on afterwards. Default: the
	// request's own path and query for a GET, else Config.AfterLogin.
	ReturnTo string
	// Params are authorization parameters for this sign-in (prompt,
	// login_hint, acr_values, max_age, organization, …). They are the
	// app's, so Config.LoginParams does not limit them; protocol
	// parameters (state, redirect_uri, …) cannot be set. acr_values and
	// max_age are verified in the ID token that comes back.
	Params url.Values
}

// SignIn sends the browser to the provider to sign in, as /auth/login does,
// from a handler of the app: for a sign-in with a login hint, a forced
// login (prompt=login) or a stronger authentication. An unknown provider
// goes to the ErrorHandler with ErrBadRequest.
func (a *Auth) SignIn(w http.ResponseWriter, r *http.Request, o SignInOptions) {
	c := a.clients[0]
	if o.Provider != "" {
		if c = a.byName[o.Provider]; c == nil {
			a.fail(w, r, fail.UnknownProvider)
			return
		}
	}
	raw := o.ReturnTo
	if raw == "" && r.Method == http.MethodGet {
		raw = r.URL.RequestURI()
	}
	a.startFlow(w, r, c, a.returnTo(raw), o.Params)
}
