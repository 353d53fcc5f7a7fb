package testenv

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/confidant-go/confidant/event"
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

// ScanCollected returns the secrets among values that appear in any
// collected log line or event, and how many events were collected.
func ScanCollected(values []string) (leaked []string, events int, bytes int) {
	collected.mu.Lock()
	defer collected.mu.Unlock()
	all := collected.logs.String()
	for _, v := range values {
		if len(v) >= 8 && strings.Contains(all, v) {
			leaked = append(leaked, v)
		}
	}
	return leaked, collected.events, len(all)
}
