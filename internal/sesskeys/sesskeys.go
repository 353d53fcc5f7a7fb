// Package sesskeys names groups of sessions, for deny lists and for the
// indexes of server-side stores: one session, all sessions of a user at a
// provider, the sessions of one provider session. The keys are opaque to a
// store; only their makers are shared by package session and the
// middleware.
package sesskeys

// ID names one session (its ID): denied at sign-out, so that a copy of the
// cookie taken before cannot bring the session back.
func ID(id string) string { return "id\x00" + id }

// User names all sessions of subject at provider.
func User(provider, subject string) string { return "sub\x00" + provider + "\x00" + subject }

// SID names the sessions of one provider session (the ID token's iss and
// sid).
func SID(issuer, sid string) string { return "sid\x00" + issuer + "\x00" + sid }
