// Package proctest runs the standin binary as real operating-system
// processes, for the tests that an in-process standin (testkit) cannot
// express: a process killed with SIGKILL in the middle of a delivery,
// several processes sharing one PostgreSQL database, PostgreSQL itself
// restarting underneath them.
//
// Binary builds cmd/standin once per test binary; Start runs it and records
// its output, and Process.AwaitLog waits for a log line instead of sleeping.
// DatabaseURL and NewDatabase give each test an empty database on the
// PostgreSQL server of STANDIN_TEST_DATABASE_URL, and StartPostgres a
// private PostgreSQL server that a test may stop and start at will.
//
// Tests that need PostgreSQL are skipped when it is not available, except
// under CI=true, where that is a failure.
package proctest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// ModulePath is the import path of the standin command Binary builds.
const ModulePath = "github.com/standin-dev/standin/cmd/standin"

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

// Main runs the tests and then removes the binary Binary built. Call it from
// TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	return code
}

// Binary returns the path of a standin binary built from the module this
// test belongs to, with the race detector when the test runs with it. The
// first call builds it (once per test binary: later calls, from any test,
// reuse it); a build failure fails every caller.
func Binary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("find the go command: %w", err)
			return
		}
		if buildDir, err = os.MkdirTemp("", "standin-proctest-"); err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(buildDir, "standin")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		args := []string{"build", "-o", buildPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.CommandContext(ctx, goTool, append(args, ModulePath)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build %s: %w\n%s", ModulePath, err, out.Bytes())
		}
	})
	if buildErr != nil {
		tb.Fatalf("proctest: %v", buildErr)
	}
	return buildPath
}

// inCI reports whether the tests run under CI, where a missing dependency
// (PostgreSQL, its binaries) is a failure instead of a reason to skip.
func inCI() bool { return os.Getenv("CI") == "true" }

// skipOrFail skips the test, or fails it under CI.
func skipOrFail(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if inCI() {
		tb.Fatalf("proctest: "+format+" (required under CI=true)", args...)
	}
	tb.Skipf("proctest: "+format, args...)
}

// errExited is returned by waits on a process that exited first.
var errExited = errors.New("process exited")
