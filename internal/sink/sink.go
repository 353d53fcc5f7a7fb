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
	// Log, when set, picks the events the Logger gets (the default
	// logger's: failures only); the Hook gets every event.
	Log func(event.Event) bool
}

// Enabled reports whether anything receives events.
func (s Sink) Enabled() bool { return s.Logger != nil || s.Hook != nil }

// Detailed reports whether anything receives the per-request (Debug)
// events: a hook, or a logger that logs Debug. A caller builds such an
// event only then, so that the default logger, which logs failures only,
// costs the hot path nothing.
func (s Sink) Detailed() bool {
	return s.Hook != nil || (s.Logger != nil && s.Logger.Enabled(context.Background(), slog.LevelDebug))
}

// Wants reports whether anything receives an event of this level: a
// hook, or a logger that logs the level. A caller builds such an event
// only then (the default logger, Warn and above, takes no Info event).
func (s Sink) Wants(ctx context.Context, level slog.Level) bool {
	return s.Hook != nil || (s.Logger != nil && s.Logger.Enabled(ctx, level))
}

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
	if s.Logger != nil && (s.Log == nil || s.Log(e)) {
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

// Failures is the logger of a Config that sets none: slog's default logger
// (looked up at each record, so slog.SetDefault after New counts), Warn and
// above only.
func Failures() *slog.Logger { return slog.New(failures{}) }

type failures struct{ h slog.Handler }

func (f failures) handler() slog.Handler {
	if f.h != nil {
		return f.h
	}
	return slog.Default().Handler()
}

func (f failures) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && f.handler().Enabled(ctx, l)
}

func (f failures) Handle(ctx context.Context, r slog.Record) error { return f.handler().Handle(ctx, r) }

func (f failures) WithAttrs(as []slog.Attr) slog.Handler {
	return failures{f.handler().WithAttrs(as)}
}

func (f failures) WithGroup(name string) slog.Handler { return failures{f.handler().WithGroup(name)} }
