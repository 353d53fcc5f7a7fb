package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/confidant-go/confidant/client"
	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/session"
)

// sessionClient is the client of s's provider; nil for no session.
func (a *Auth) sessionClient(s *session.Session) *client.Client {
	if s == nil {
		return nil
	}
	return a.clientFor(s)
}

// save stores s and reports it.
func (a *Auth) save(w http.ResponseWriter, r *http.Request, s *session.Session, why string) error {
	before := len(w.Header()["Set-Cookie"])
	err := a.cfg.Store.Save(w, r, s)
	if a.sink.Enabled() {
		// What the browser is sent: the session's Set-Cookie lines (a
		// server-side store's is only its ID, and only when new).
		set := w.Header()["Set-Cookie"]
		n := 0
		for _, c := range set[min(before, len(set)):] {
			n += len(c)
		}
		a.emit(r.Context(), event.Event{Kind: event.SessionSaved, Provider: s.Provider, Session: sessionRef(s), Err: err,
			Attrs: []slog.Attr{slog.String("why", why), slog.Int("set_cookie_bytes", n), slog.Int("cookies", len(set)-min(before, len(set)))}})
	}
	return err
}

// load reads the session. A missing or untrustworthy one is (nil, nil); a
// tampered cookie is deleted so the browser stops sending it.
func (a *Auth) load(w http.ResponseWriter, r *http.Request) (*session.Session, error) {
	s, err := a.cfg.Store.Load(r)
	if err == nil {
		return s, nil
	}
	if errors.Is(err, session.ErrNoSession) {
		if errors.Is(err, session.ErrInvalidSession) {
			a.cfg.Store.Delete(w, r)
		}
		return nil, nil
	}
	return nil, fmt.Errorf("%w: %w", ErrSessionStore, err)
}
