package middleware

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/session"
)

// sessionWriter commits a changed session (Set-Cookie, or a store write)
// before the first byte of the response: at the first WriteHeader (of a
// final status: never in a 1xx), Write, ReadFrom, Flush or Hijack, or when
// the handler returns having written nothing. Unwrap gives http.ResponseController the original writer.
type sessionWriter struct {
	http.ResponseWriter
	a *Auth
	r *http.Request

	mu      sync.Mutex
	started bool
	pending *session.Session
	del     bool
	why     string // for the session.saved event
}

// setPending asks for s to be saved. It reports false when the response has
// already started, so the cookie can no longer be written.
func (w *sessionWriter) setPending(s *session.Session, why string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return false
	}
	w.pending, w.del, w.why = s, false, why
	return true
}

// setDelete asks for the session to be deleted; it reports false when the
// response has already started.
func (w *sessionWriter) setDelete() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return false
	}
	w.pending, w.del = nil, true
	return true
}

func (w *sessionWriter) commit() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return
	}
	w.started = true
	switch {
	case w.del:
		if err := w.a.cfg.Store.Delete(w.ResponseWriter, w.r); err != nil {
			w.a.emit(w.r.Context(), event.Event{Kind: event.Rejected, Err: fmt.Errorf("%w: %w", ErrSessionStore, err)})
		}
	case w.pending != nil:
		w.a.save(w.ResponseWriter, w.r, w.pending, w.why)
	}
}

func (w *sessionWriter) WriteHeader(code int) {
	if code < 100 || code > 199 || code == http.StatusSwitchingProtocols {
		// An informational response (103 Early Hints, 100 Continue) is
		// not the response: committing in it would send the cookie in the
		// 1xx only (httputil.ReverseProxy then clears the header map),
		// and a refresh's cookie would never reach the browser.
		w.commit()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *sessionWriter) Write(b []byte) (int, error) {
	w.commit()
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps io.Copy's fast path (sendfile) of the underlying writer.
func (w *sessionWriter) ReadFrom(r io.Reader) (int64, error) {
	w.commit()
	return io.Copy(w.ResponseWriter, r)
}

// Flush implements http.Flusher.
func (w *sessionWriter) Flush() {
	w.commit()
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker when the underlying writer does.
func (w *sessionWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.commit()
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the original ResponseWriter, for http.ResponseController.
func (w *sessionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
