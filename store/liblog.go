package store

import (
	"context"
	"log/slog"
)

// LibraryLogger returns the logger to give the libraries standin runs on
// (River, its migrator and goose): their INFO lines (River's producer job
// counts, scheduler runs, elections, "applied migration") become DEBUG, so
// that at the default level a person reads standin's own lines; their WARN
// and ERROR lines pass unchanged. A nil l is slog.Default().
func LibraryLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		l = slog.Default()
	}
	if _, ok := l.Handler().(demoteInfo); ok {
		return l
	}
	return slog.New(demoteInfo{l.Handler()})
}

// demoteInfo is a slog.Handler that logs records below WARN at DEBUG.
type demoteInfo struct{ h slog.Handler }

func demote(l slog.Level) slog.Level {
	if l < slog.LevelWarn {
		return min(l, slog.LevelDebug)
	}
	return l
}

func (d demoteInfo) Enabled(ctx context.Context, l slog.Level) bool {
	return d.h.Enabled(ctx, demote(l))
}

func (d demoteInfo) Handle(ctx context.Context, r slog.Record) error {
	r.Level = demote(r.Level)
	return d.h.Handle(ctx, r)
}

func (d demoteInfo) WithAttrs(attrs []slog.Attr) slog.Handler {
	return demoteInfo{d.h.WithAttrs(attrs)}
}

func (d demoteInfo) WithGroup(name string) slog.Handler {
	return demoteInfo{d.h.WithGroup(name)}
}
