package middleware_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/confidant-go/confidant/internal/testenv"
)

// TestWrappedWriterKeepsFeatures: inside Require, handlers can still use
// http.ResponseController (which needs Unwrap), Flush, Hijack and
// io.Copy's ReadFrom.
func TestWrappedWriterKeepsFeatures(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	mux := http.NewServeMux()
	mux.Handle("/deadline", env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline through the wrapper: %v", err)
		}
		if _, ok := w.(io.ReaderFrom); !ok {
			t.Error("wrapper hides io.ReaderFrom")
		}
		io.Copy(w, strings.NewReader("copied"))
	})))
	mux.Handle("/hijack", env.Auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Error("wrapper hides http.Hijacker")
			return
		}
		conn, brw, err := hj.Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		brw.Flush()
	})))
	mux.Handle("/", env.App.Config.Handler)
	env.App.Config.Handler = mux
	hc := testenv.Browser()
	env.SignIn(t, hc, "/profile")
	if _, body := env.Get(t, hc, "/deadline"); body != "copied" {
		t.Errorf("/deadline: %q", body)
	}
	if _, body := env.Get(t, hc, "/hijack"); body != "hijacked" {
		t.Errorf("/hijack: %q", body)
	}
}
