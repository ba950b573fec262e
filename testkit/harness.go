package testkit

import (
	"context"
	"fmt"
	"os"
	"sync"
)

// TB is the part of testing.TB that testkit uses: Start and NewReceiver
// register their shutdown with Cleanup, keep their files in TempDir, call
// the API with Context and report failures with Errorf and Fatalf.
// *testing.T, *testing.B, *testing.F and every testing.TB satisfy it, and so
// does *Harness, for code that runs outside a test function.
type TB interface {
	Helper()
	Cleanup(f func())
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	TempDir() string
	Context() context.Context
}

// Harness is a TB for running testkit outside a test function: in a
// runnable Example (which has no *testing.T), in a TestMain that shares one
// standin among a package's tests, or in a small program. Create it with
// NewHarness and Close it when done, typically with defer:
//
//	h := testkit.NewHarness()
//	defer h.Close()
//	sd := testkit.Start(h)
//
// Close cancels the harness's Context, then runs the Cleanup functions,
// last registered first; directories made by TempDir are removed after
// them. Errorf prints to standard error and marks the harness failed.
// Fatalf panics with the message: there is no test goroutine to stop, and a
// panic fails an Example or a TestMain loudly. A Harness is safe for
// concurrent use.
type Harness struct {
	ctx      context.Context
	cancel   context.CancelFunc
	mu       sync.Mutex
	cleanups []func()
	dirs     []string
	failed   bool
	closed   bool
}

var _ TB = (*Harness)(nil)

// NewHarness returns a Harness with nothing registered.
func NewHarness() *Harness { return &Harness{} }

// Context returns a context cancelled when Close begins, as
// testing.TB.Context is cancelled before the test's cleanups run.
func (h *Harness) Context() context.Context {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ctx == nil {
		h.ctx, h.cancel = context.WithCancel(context.Background())
		if h.closed {
			h.cancel()
		}
	}
	return h.ctx
}

// Helper does nothing; it is part of TB.
func (*Harness) Helper() {}

// Cleanup registers f to run in Close.
func (h *Harness) Cleanup(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cleanups = append(h.cleanups, f)
}

// Errorf prints the message to standard error and marks the harness failed.
func (h *Harness) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "testkit harness: "+format+"\n", args...)
	h.mu.Lock()
	h.failed = true
	h.mu.Unlock()
}

// Fatalf marks the harness failed and panics with the message.
func (h *Harness) Fatalf(format string, args ...any) {
	h.mu.Lock()
	h.failed = true
	h.mu.Unlock()
	panic(fmt.Sprintf(format, args...))
}

// TempDir returns a new temporary directory, removed by Close. It panics
// when the directory cannot be made.
func (h *Harness) TempDir() string {
	dir, err := os.MkdirTemp("", "testkit-")
	if err != nil {
		h.Fatalf("testkit: temp dir: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dirs = append(h.dirs, dir)
	return dir
}

// Failed reports whether Errorf or Fatalf was called.
func (h *Harness) Failed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failed
}

// Close runs the registered cleanups, last first, then removes the
// temporary directories. Calling it again does nothing.
func (h *Harness) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	if h.cancel != nil {
		h.cancel()
	}
	h.mu.Unlock()
	for {
		h.mu.Lock()
		n := len(h.cleanups)
		if n == 0 {
			h.mu.Unlock()
			break
		}
		f := h.cleanups[n-1]
		h.cleanups = h.cleanups[:n-1]
		h.mu.Unlock()
		f() // may register more cleanups, as testing's do
	}
	h.mu.Lock()
	dirs := h.dirs
	h.dirs = nil
	h.mu.Unlock()
	for _, dir := range dirs {
		if err := os.RemoveAll(dir); err != nil {
			h.Errorf("testkit: remove temp dir: %v", err)
		}
	}
}
