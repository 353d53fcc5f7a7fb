package middleware

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/session"
)

// sessionWriter puts a changed session in the response by construction.
// A save (or a deletion) is placed in the response's header map at once,
// when it is asked for: the Set-Cookie lines are there before the first
// byte, whichever writer sends it (a framework such as gin writes through
// its own writer, not this one), and no early return of a handler can
// forget them. A later change replaces the lines the earlier one placed.
//
// An informational response (103 Early Hints, 100 Continue) written through
// this writer goes out without them, and they are put back for the final
// response (httputil.ReverseProxy clears the header map after a 1xx).
// Unwrap gives http.ResponseController the original writer.
//
// A refresh made while the handler runs places its cookie from the
// goroutine that called the API: like any header, that is not safe while
// another goroutine changes the header map (see HTTPClient).
type sessionWriter struct {
	http.ResponseWriter
	a *Auth
	r *http.Request

	mu      sync.Mutex
	started bool     // the final response has begun through this writer
	placed  []string // the Set-Cookie lines this writer placed
}

// setPending saves s into the response. It reports false when the response
// has already started, so the cookie can no longer reach the browser.
func (w *sessionWriter) setPending(s *session.Session, why string) bool {
	return w.place(func(rw http.ResponseWriter) {
		w.a.save(rw, w.r, s, why)
	})
}

// setDelete deletes the session, in the store and in the browser; it
// reports false when the response has already started.
func (w *sessionWriter) setDelete() bool {
	return w.place(func(rw http.ResponseWriter) {
		if err := w.a.cfg.Store.Delete(rw, w.r); err != nil {
			w.a.emit(w.r.Context(), event.Event{Kind: event.Rejected, Err: fmt.Errorf("%w: %w", ErrSessionStore, err)})
		}
	})
}

// place runs write against the response's header map, in place of what
// the last call placed, and remembers the Set-Cookie lines it added.
func (w *sessionWriter) place(write func(http.ResponseWriter)) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	started := w.started || writtenBelow(w.ResponseWriter)
	h := w.ResponseWriter.Header()
	if len(w.placed) > 0 {
		h["Set-Cookie"] = without(h["Set-Cookie"], w.placed)
	}
	before := len(h["Set-Cookie"])
	write(w.ResponseWriter)
	w.placed = slices.Clone(h["Set-Cookie"][before:])
	return !started
}

// final marks the start of the final response, with the placed lines in
// its header (put back if something cleared them).
func (w *sessionWriter) final() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return
	}
	w.started = true
	h := w.ResponseWriter.Header()
	for _, c := range w.placed {
		if !slices.Contains(h["Set-Cookie"], c) {
			h["Set-Cookie"] = append(h["Set-Cookie"], c)
		}
	}
}

// without returns lines less those in drop, in a new slice when it drops
// any.
func without(lines, drop []string) []string {
	if len(drop) == 0 {
		return lines
	}
	var kept []string
	for _, l := range lines {
		if !slices.Contains(drop, l) {
			kept = append(kept, l)
		}
	}
	return kept
}

// writtenBelow reports whether a writer this one wraps says it has started
// its response (gin's writer does, through Written), which a framework's
// handler may have done without this writer seeing it.
func writtenBelow(rw http.ResponseWriter) bool {
	for rw != nil {
		if x, ok := rw.(interface{ Written() bool }); ok && x.Written() {
			return true
		}
		u, ok := rw.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return false
		}
		rw = u.Unwrap()
	}
	return false
}

func (w *sessionWriter) WriteHeader(code int) {
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		// An informational response is not the response: the cookie goes
		// with the final one.
		w.mu.Lock()
		h := w.ResponseWriter.Header()
		kept := h["Set-Cookie"]
		if len(w.placed) > 0 && !w.started {
			if rest := without(kept, w.placed); len(rest) == 0 {
				delete(h, "Set-Cookie")
			} else {
				h["Set-Cookie"] = rest
			}
		}
		w.ResponseWriter.WriteHeader(code)
		if len(w.placed) > 0 && !w.started {
			h["Set-Cookie"] = kept
		}
		w.mu.Unlock()
		return
	}
	w.final()
	w.ResponseWriter.WriteHeader(code)
}

func (w *sessionWriter) Write(b []byte) (int, error) {
	w.final()
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps io.Copy's fast path (sendfile) of the underlying writer.
func (w *sessionWriter) ReadFrom(r io.Reader) (int64, error) {
	w.final()
	return io.Copy(w.ResponseWriter, r)
}

// Flush implements http.Flusher.
func (w *sessionWriter) Flush() {
	w.final()
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker when the underlying writer does.
func (w *sessionWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.final()
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the original ResponseWriter, for http.ResponseController.
func (w *sessionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
