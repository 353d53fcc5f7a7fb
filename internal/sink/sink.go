// Package sink delivers confidant's events to a Config's Logger and
// OnEvent hook.
package sink

import (
	"context"
	"log/slog"
	"time"

	"github.com/confidant-go/confidant/event"
)

// Sink delivers events to a logger and a hook, both optional.
type Sink struct {
	Logger *slog.Logger
	Hook   event.Hook
}

// Enabled reports whether anything receives events.
func (s Sink) Enabled() bool { return s.Logger != nil || s.Hook != nil }

// Emit delivers e (with Time set when zero).
func (s Sink) Emit(ctx context.Context, e event.Event) {
	if !s.Enabled() {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if s.Hook != nil {
		s.Hook(ctx, e)
	}
	if s.Logger != nil {
		level := e.Level()
		if !s.Logger.Enabled(ctx, level) {
			return
		}
		attrs := make([]slog.Attr, 0, len(e.Attrs)+6)
		attrs = append(attrs, slog.String("event", string(e.Kind)))
		if e.Provider != "" {
			attrs = append(attrs, slog.String("provider", e.Provider))
		}
		if e.Session != "" {
			attrs = append(attrs, slog.String("session", e.Session))
		}
		if e.Flow != "" {
			attrs = append(attrs, slog.String("flow", e.Flow))
		}
		if e.Status != 0 {
			attrs = append(attrs, slog.Int("status", e.Status))
		}
		if e.Duration != 0 {
			attrs = append(attrs, slog.Duration("duration", e.Duration))
		}
		attrs = append(attrs, e.Attrs...)
		if e.Err != nil {
			attrs = append(attrs, slog.String("error", e.Err.Error()))
		}
		s.Logger.LogAttrs(ctx, level, "confidant: "+string(e.Kind), attrs...)
	}
}
