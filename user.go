package confidant

import (
	"encoding/json"
	"errors"

	"github.com/confidant-go/confidant/internal/fail"
)

// User is a signed-in user as their provider described them. It is the one
// description of a user in this module: client.Result carries it from the
// sign-in, session.Session embeds it, and middleware.UserFrom returns it.
//
// Key your own records on (Provider, Subject), never on Email alone: an
// e-mail address can change hands, and only a verified one (EmailVerified)
// says that the user controls it.
type User struct {
	// Provider is the name of the provider that signed the user in
	// (client.Provider.Name).
	Provider string
	// Subject is the user's stable ID at Provider (the "sub" claim, or
	// GitHub's numeric user ID).
	Subject string
	// Name is the display name: "name", or "preferred_username" when the
	// provider sent no name.
	Name string
	// Email is the e-mail address ("email"), and EmailVerified whether the
	// provider verified it ("email_verified").
	Email         string
	EmailVerified bool
	// Picture is the URL of the user's picture ("picture").
	Picture string
	// Claims holds every claim of the ID token (and userinfo) as JSON.
	// For a plain OAuth 2.0 provider it is what the provider's user API
	// returned.
	Claims json.RawMessage
}

// DecodeClaims unmarshals u.Claims into v (a struct with json tags, or a
// map). A user without claims leaves v as it is.
func (u *User) DecodeClaims(v any) error {
	if len(u.Claims) == 0 {
		return nil
	}
	if err := json.Unmarshal(u.Claims, v); err != nil {
		return errors.Join(ErrClaims, err)
	}
	return nil
}

// ErrClaims is returned by DecodeClaims when the claims do not fit v.
var ErrClaims error = fail.Claims
