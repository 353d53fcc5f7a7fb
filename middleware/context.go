package middleware

import (
	"context"
	"net/http"

	"github.com/confidant-go/confidant"
	"github.com/confidant-go/confidant/session"
)

type ctxKey struct{}

// UserFrom returns the signed-in user of a request that went through
// Require or Optional, or nil.
func UserFrom(ctx context.Context) *confidant.User {
	if st, ok := ctx.Value(ctxKey{}).(*reqSession); ok {
		return &st.user
	}
	return nil
}

// SessionFrom returns a copy of the request's session (with its tokens), or
// nil when not signed in. Changing it changes nothing stored.
func SessionFrom(ctx context.Context) *session.Session {
	if st, ok := ctx.Value(ctxKey{}).(*reqSession); ok {
		if s := st.current(); s != nil {
			cp := *s
			return &cp
		}
	}
	return nil
}

// withSession puts the signed-in user and the session state in r's context.
func withSession(r *http.Request, st *reqSession) *http.Request {
	s := st.sess
	st.user = s.User
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
}
