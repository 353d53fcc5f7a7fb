// Package sesskeys names groups of sessions, for deny lists and for the
// indexes of server-side stores: one session, all sessions of a user at a
// provider, the sessions of one provider session. The keys are opaque to a
// store; only their makers are shared by package session and the
// middleware.
package sesskeys

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// ID names one session (its ID): denied at sign-out, so that a copy of the
// cookie taken before cannot bring the session back.
func ID(id string) string { return "id\x00" + id }

// User names all sessions of subject at provider.
func User(provider, subject string) string { return "sub\x00" + provider + "\x00" + subject }

// SID names the sessions of one provider session (the ID token's iss and
// sid).
func SID(issuer, sid string) string { return "sid\x00" + issuer + "\x00" + sid }

// Email names the sessions at provider of users whose verified email is
// email, compared case-insensitively (a Shared Signals subject in the
// email format).
func Email(provider, email string) string {
	return "email\x00" + provider + "\x00" + strings.ToLower(email)
}

// SIDUser names the session of one provider session (iss, sid) of
// subject at provider: a Shared Signals subject that names both the
// session and its user ends it only when both match.
func SIDUser(issuer, sid, provider, subject string) string {
	return "sidsub\x00" + issuer + "\x00" + sid + "\x00" + provider + "\x00" + subject
}

// Ref is the public name of session id: the hex of the first 16 bytes of
// its SHA-256, which lists of a user's sessions show and server-side
// stores key the session by. It does not work as a cookie.
func Ref(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:16])
}

// RefKey names the one session whose Ref is ref.
func RefKey(ref string) string { return "ref\x00" + ref }
