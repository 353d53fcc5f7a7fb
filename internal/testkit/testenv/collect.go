package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/confidant-go/confidant/event"
	"github.com/confidant-go/confidant/internal/devprovider"
)

// collected holds every log line and event of the environments of this
// test process, to be scanned for leaked secrets at the end.
var collected struct {
	mu     sync.Mutex
	logs   bytes.Buffer
	events int
	apps   int // apps started with the collector installed
}

func noteApp() {
	collected.mu.Lock()
	collected.apps++
	collected.mu.Unlock()
}

// AppsStarted reports how many apps were started with the collector.
func AppsStarted() int {
	collected.mu.Lock()
	defer collected.mu.Unlock()
	return collected.apps
}

type collectWriter struct{}

func (collectWriter) Write(p []byte) (int, error) {
	collected.mu.Lock()
	defer collected.mu.Unlock()
	return collected.logs.Write(p)
}

// Collected is w that also writes into the collector: a test that reads
// its own log lines keeps them in the secret scan.
func Collected(w io.Writer) io.Writer { return io.MultiWriter(w, collectWriter{}) }

// CollectLogger is a Debug-level logger into the collector.
func CollectLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(collectWriter{}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// CollectEvent records an event, every field and attribute written out.
func CollectEvent(_ context.Context, e event.Event) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s %s %d %v %v", e.Kind, e.Provider, e.Session, e.Flow, e.Status, e.Duration, e.Err)
	for _, a := range e.Attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	collected.mu.Lock()
	defer collected.mu.Unlock()
	collected.events++
	collected.logs.WriteString(b.String() + "\n")
}

// privateKeyMarks are what any private key looks like written out: a PEM
// block, or a JWK's private members (a DPoP key, a private_key_jwt key).
var privateKeyMarks = []string{"PRIVATE KEY-----", `"d":"`, `"p":"`, `"dp":"`}

// ScanCollected returns the secrets among values that appear in any
// collected log line or event (and any written-out private key), and how
// many events were collected.
func ScanCollected(values []string) (leaked []string, events int, bytes int) {
	collected.mu.Lock()
	defer collected.mu.Unlock()
	all := collected.logs.String()
	for _, v := range values {
		if len(v) >= 8 && strings.Contains(all, v) {
			leaked = append(leaked, v)
		}
	}
	for _, m := range privateKeyMarks {
		if strings.Contains(all, m) {
			leaked = append(leaked, "a private key ("+m+")")
		}
	}
	return leaked, collected.events, len(all)
}

// ScanAfter runs the tests of m, then scans every log line and event they
// collected for every value the providers and emulators of the process
// issued or were given (devprovider.AllIssued, oidc-provider's and GitHub's
// included), the fixed secrets, and any private key: one found fails the
// run. It returns the exit code for os.Exit.
func ScanAfter(m interface{ Run() int }, fixed ...string) int {
	code := m.Run()
	if code != 0 {
		return code
	}
	secrets := append(devprovider.AllIssued(), fixed...)
	leaked, events, size := ScanCollected(secrets)
	switch {
	case len(leaked) > 0:
		fmt.Fprintf(os.Stderr, "FAIL: %d of %d secrets appear in the logs or events, e.g. one of %d characters\n", len(leaked), len(secrets), len(leaked[0]))
		return 1
	case events == 0 && AppsStarted() > 1:
		fmt.Fprintln(os.Stderr, "FAIL: no events were collected: the secret scan would pass vacuously")
		return 1
	}
	fmt.Printf("secret scan: %d secrets issued, %d events and %d bytes of logs scanned, none found\n", len(secrets), events, size)
	return 0
}

// Buffer is a bytes.Buffer safe for concurrent writers (handlers, a
// process's output) and a test reading it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
