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
	"github.com/confidant-go/confidant/internal/fail"
	"github.com/confidant-go/confidant/internal/netx"
	"github.com/confidant-go/confidant/session"
)

// sessionWriter puts a changed session in the response by construction.
//
// A change (a save or a deletion) is recorded as the Set-Cookie lines it
// makes. The lines reach the response's header map only at moments the SDK
// sees, on the goroutine that writes the response:
//
//   - before the handler runs (prepare), at once: the SDK's own answers (a
//     redirect to sign in, 401) are written to the writer below;
//   - when the final response starts through this writer (WriteHeader,
//     Write, ReadFrom, Flush, Hijack), put back if something cleared them
//     (httputil.ReverseProxy clears the header map after a 1xx);
//   - after the handler returns, when it wrote nothing (settle).
//
// Whenever they are placed, the response is marked Cache-Control: no-store
// and Vary: Cookie, over whatever caching the handler asked for: a sealed
// session never rides a response a shared cache may store. Any response of
// a handler (behind Require or Optional) gets Vary: Cookie, since it
// depends on who is signed in; its Cache-Control is the handler's when no
// cookie rides it.
//
// While the handler runs (after hand), the lines are kept out of the header
// map: a refresh made on another goroutine (a handler that calls APIs from
// an errgroup while it sets its own headers) only records its change, and
// a writer this one does not see (a framework's own, written to directly)
// sends no cookie rather than one marked cacheable. A change that could
// not be sent is reported to lost, so the rotated tokens wait for the old
// cookie's next request.
//
// An informational response (103 Early Hints, 100 Continue) goes out
// without the lines. Unwrap gives http.ResponseController the original
// writer.
type sessionWriter struct {
	http.ResponseWriter
	a *Auth
	r *http.Request
	// lost is called when a save may not have reached the browser (a
	// writer below started the response, a hijack, a panic, a client that
	// went away); more than one call is harmless.
	lost func()

	mu      sync.Mutex
	handed  bool     // the handler runs: changes wait for the response to start
	started bool     // the final response has begun, or the handler returned
	saved   bool     // the latest change is a save (not a deletion)
	placed  []string // the Set-Cookie lines of the latest change
	inMap   []string // the lines of this writer now in the header map
	tokened bool     // AccessToken handed the handler a token: no-store, as a cookie
}

// handedToken marks the response as one that may carry a token the
// handler was handed (AccessToken): like a session cookie, it is
// Cache-Control: no-store (RFC 6749 5.1) over the handler's own caching.
func (w *sessionWriter) handedToken() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tokened = true
}

// setPending saves s into the response. It reports false when the response
// has already started, so the cookie can no longer reach the browser.
func (w *sessionWriter) setPending(s *session.Session, why string) bool {
	return w.place(true, func(rw http.ResponseWriter) {
		w.a.save(rw, w.r, s, why)
	})
}

// setDelete deletes the session, in the store and in the browser; it
// reports false when the response has already started.
func (w *sessionWriter) setDelete() bool {
	return w.place(false, func(rw http.ResponseWriter) {
		if err := w.a.cfg.Store.Delete(rw, w.r); err != nil {
			w.a.emit(w.r.Context(), event.Event{Kind: event.Rejected, Err: fmt.Errorf("%w: %w", fail.SessionStore, err)})
		}
	})
}

// place runs write (a store's Save or Delete) against a header of its own
// and records the Set-Cookie lines it made, in place of the last change's.
func (w *sessionWriter) place(saved bool, write func(http.ResponseWriter)) bool {
	rec := headerOnly{}
	write(rec)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return false
	}
	w.placed, w.saved = rec["Set-Cookie"], saved
	if !w.handed {
		w.applyLocked()
	}
	return true
}

// applyLocked puts the latest change's lines in the header map, in place
// of those of an earlier one, and marks the response not to be stored.
// Called with w.mu held, on the goroutine that writes the response.
func (w *sessionWriter) applyLocked() {
	if w.tokened {
		netx.NoStore(w.ResponseWriter.Header())
	}
	if len(w.placed) == 0 && len(w.inMap) == 0 {
		return
	}
	h := w.ResponseWriter.Header()
	lines := without(h["Set-Cookie"], w.inMap)
	lines = append(lines, w.placed...)
	if len(lines) == 0 {
		delete(h, "Set-Cookie")
	} else {
		h["Set-Cookie"] = lines
	}
	w.inMap = w.placed
	if len(w.placed) > 0 {
		netx.NoStore(h)
	}
}

// hand is called just before the handler runs: from now on changes wait
// for the response to start, and the lines placed so far leave the header
// map until then.
func (w *sessionWriter) hand() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.handed = true
	w.withdrawLocked()
	w.inMap = nil
}

// withdrawLocked takes this writer's lines out of the header map (which
// keeps w.inMap's record of them). Called with w.mu held.
func (w *sessionWriter) withdrawLocked() {
	if len(w.inMap) == 0 {
		return
	}
	h := w.ResponseWriter.Header()
	if rest := without(h["Set-Cookie"], w.inMap); len(rest) == 0 {
		delete(h, "Set-Cookie")
	} else {
		h["Set-Cookie"] = rest
	}
}

// serve runs the handler next with this writer: changes wait for the
// response to start while it runs, and settle after it returns. A handler
// that panics leaves a response nobody may send: the change is put in the
// header map (a recovering middleware's 500 carries it) and a save is
// reported lost, so its rotated tokens are not lost with it.
func (w *sessionWriter) serve(next http.Handler, r *http.Request) {
	w.hand()
	returned := false
	defer func() {
		if !returned {
			w.abandon()
		}
	}()
	next.ServeHTTP(w, r)
	returned = true
	w.settle()
}

// final marks the start of the final response through this writer, with
// the latest change's lines in its header.
func (w *sessionWriter) final() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return
	}
	w.started = true
	w.applyLocked()
	if w.handed {
		netx.VaryCookie(w.ResponseWriter.Header())
	}
}

// settle is called when the handler has returned. A response it did not
// start is sent by the server from the header map: the lines go there. A
// response a writer below this one started (a framework's own, written to
// directly) could not carry them, and a client that went away will not
// read them: a save is then reported to lost.
func (w *sessionWriter) settle() {
	w.mu.Lock()
	gone := w.r.Context().Err() != nil
	if w.started {
		lost := gone && w.saved && len(w.placed) > 0
		w.mu.Unlock()
		if lost && w.lost != nil {
			w.lost()
		}
		return
	}
	w.started = true
	lost := false
	if writtenBelow(w.ResponseWriter) {
		lost = w.saved && len(w.placed) > 0
	} else {
		w.applyLocked()
		netx.VaryCookie(w.ResponseWriter.Header())
		lost = gone && w.saved && len(w.placed) > 0
	}
	w.mu.Unlock()
	if lost && w.lost != nil {
		w.lost()
	}
}

// abandon is settle for a handler that panicked: the lines go in the header
// map for whoever answers instead, and a save is reported lost, since
// nothing says that answer is sent.
func (w *sessionWriter) abandon() {
	w.mu.Lock()
	if !w.started && !writtenBelow(w.ResponseWriter) {
		w.applyLocked()
	}
	w.started = true
	lost := w.saved && len(w.placed) > 0
	w.mu.Unlock()
	if lost && w.lost != nil {
		w.lost()
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

// headerOnly is a ResponseWriter that only has a header: what a store's
// Save or Delete writes its cookie to before the writer places it.
type headerOnly http.Header

func (h headerOnly) Header() http.Header       { return http.Header(h) }
func (headerOnly) Write(b []byte) (int, error) { return len(b), nil }
func (headerOnly) WriteHeader(int)             {}

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
		w.withdrawLocked()
		w.ResponseWriter.WriteHeader(code)
		if len(w.inMap) > 0 {
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

// Hijack implements http.Hijacker when the underlying writer does. The
// lines go in the header map, which httputil.ReverseProxy writes with the
// 101 it sends itself; a WebSocket library writes its own header instead,
// so a save is reported lost as well: its rotated tokens wait for the old
// cookie's next request.
func (w *sessionWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.mu.Lock()
	first := !w.started
	lost := first && w.saved && len(w.placed) > 0
	w.mu.Unlock()
	w.final()
	if lost && w.lost != nil {
		w.lost()
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the original ResponseWriter, for http.ResponseController.
func (w *sessionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
