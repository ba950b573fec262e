package store_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/standin-dev/standin/store"
)

// TestLibraryLogger checks that a library's INFO lines become DEBUG (hidden
// at the default level, shown at DEBUG) while its WARN and ERROR lines keep
// their level, also through With and WithGroup.
func TestLibraryLogger(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var buf bytes.Buffer
		base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))
		lib := store.LibraryLogger(base).With("lib", "river").WithGroup("g")
		lib.Info("producer: job counts")
		lib.Debug("very chatty")
		lib.Warn("leader lost")
		lib.Error("migration failed")
		base.Info("standin's own")
		out := buf.String()
		for _, want := range []string{"level=WARN msg=\"leader lost\" lib=river", "level=ERROR msg=\"migration failed\"", "level=INFO msg=\"standin's own\""} {
			if !strings.Contains(out, want) {
				t.Errorf("at %v: output lacks %s:\n%s", level, want, out)
			}
		}
		if strings.Contains(out, "level=INFO msg=\"producer") {
			t.Errorf("at %v: a library's INFO line stayed INFO:\n%s", level, out)
		}
		shown := strings.Contains(out, "level=DEBUG msg=\"producer: job counts\"")
		if shown != (level == slog.LevelDebug) {
			t.Errorf("at %v: library INFO shown as DEBUG = %v:\n%s", level, shown, out)
		}
	}
	if l := store.LibraryLogger(nil); l == nil || store.LibraryLogger(l) != l {
		t.Error("LibraryLogger(nil) is nil, or wrapping twice wraps again")
	}
}
