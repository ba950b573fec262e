package proctest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stopTimeout is how long a process stopped at the end of a test may take
// to exit after SIGTERM before it is killed.
const stopTimeout = 15 * time.Second

// Process is a running standin process. Its stdout and stderr are recorded
// together, line by line.
type Process struct {
	// Name identifies the process in failure messages and logs.
	Name string

	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited and its output is read
	state  *os.ProcessState

	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced on every new line and on exit
}

// Start starts the standin binary with args (a subcommand and its flags)
// and stops it when the test ends: SIGTERM, then SIGKILL after 15 s. A data
// race the race detector reported in the process fails the test; when the
// test failed, the process's output is logged.
func Start(tb testing.TB, name string, args ...string) *Process {
	tb.Helper()
	return StartEnv(tb, name, nil, args...)
}

// StartEnv is Start with env ("KEY=value" pairs) added to the process's
// environment, for settings an operator passes that way, such as
// STANDIN_API_SECRET.
func StartEnv(tb testing.TB, name string, env []string, args ...string) *Process {
	tb.Helper()
	p, err := start(Binary(tb), name, env, args...)
	if err != nil {
		tb.Fatalf("proctest: start %s: %v", name, err)
	}
	tb.Cleanup(func() {
		p.stop()
		if strings.Contains(p.Output(), "WARNING: DATA RACE") {
			tb.Errorf("proctest: %s: the race detector found a data race", p.Name)
		}
		if tb.Failed() {
			tb.Logf("output of %s (%s):\n%s", p.Name, strings.Join(args, " "), p.Output())
		}
	})
	return p
}

func start(bin, name string, env []string, args ...string) (*Process, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = w, w
	// Keep the parent's environment but not a database URL or role meant
	// for someone else: tests say what they want on the command line.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STANDIN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	w.Close() // the child has its copy; EOF comes when it exits
	p := &Process{Name: name, cmd: cmd, exited: make(chan struct{}), changed: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
		}
		r.Close()
		_ = cmd.Wait()
		p.mu.Lock()
		p.state = cmd.ProcessState
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
		close(p.exited)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Output returns everything the process wrote so far, stdout and stderr
// interleaved.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Kill sends SIGKILL, as a crash or an out-of-memory kill would, and waits
// until the process is gone.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// Signal sends sig to the process without waiting for it to exit.
func (p *Process) Signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("%s: signal %v: %w", p.Name, sig, err)
	}
	return nil
}

// Stop sends SIGTERM (a graceful shutdown) and returns the exit code, or an
// error when the process has not exited by the end of ctx.
func (p *Process) Stop(ctx context.Context) (int, error) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	return p.Wait(ctx)
}

// Wait waits for the process to exit and returns its exit code (-1 when a
// signal ended it).
func (p *Process) Wait(ctx context.Context) (int, error) {
	select {
	case <-p.exited:
		return p.state.ExitCode(), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("%s has not exited: %w", p.Name, ctx.Err())
	}
}

func (p *Process) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if _, err := p.Stop(ctx); err != nil {
		p.Kill()
	}
}

// AwaitLine waits until the process writes a line for which match is true
// and returns it. It fails when the process exits first or ctx ends, with
// the last lines of output in the error.
func (p *Process) AwaitLine(ctx context.Context, match func(line string) bool) (string, error) {
	seen := 0
	for {
		p.mu.Lock()
		lines, ch, done := p.lines[seen:], p.changed, p.state != nil
		seen = len(p.lines)
		p.mu.Unlock()
		for _, l := range lines {
			if match(l) {
				return l, nil
			}
		}
		if done {
			return "", fmt.Errorf("%s: %w (%s) before the awaited line; output:\n%s", p.Name, errExited, p.state, p.tail(40))
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return "", fmt.Errorf("%s: awaited line not written: %w; output:\n%s", p.Name, ctx.Err(), p.tail(40))
		}
	}
}

// LogEntry is one line of standin's JSON log (serve --log-format json).
type LogEntry map[string]any

// String returns the attribute key as a string, or "" when it is absent or
// not a string.
func (e LogEntry) String(key string) string {
	s, _ := e[key].(string)
	return s
}

// AwaitLog waits for a JSON log entry whose "msg" is msg and whose other
// attributes include attrs (compared as strings), and returns it. The
// process must run with --log-format json.
func (p *Process) AwaitLog(ctx context.Context, msg string, attrs ...string) (LogEntry, error) {
	if len(attrs)%2 != 0 {
		return nil, errors.New("proctest: AwaitLog attrs must be key, value pairs")
	}
	e, err := p.AwaitEntry(ctx, func(e LogEntry) bool {
		if e.String("msg") != msg {
			return false
		}
		for i := 0; i < len(attrs); i += 2 {
			if fmt.Sprint(e[attrs[i]]) != attrs[i+1] {
				return false
			}
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("log %q: %w", msg, err)
	}
	return e, nil
}

// AwaitEntry waits for a JSON log entry for which match is true and returns
// it. match sees every entry once, in order, so it may keep state across
// calls. The process must run with --log-format json.
func (p *Process) AwaitEntry(ctx context.Context, match func(LogEntry) bool) (LogEntry, error) {
	var found LogEntry
	_, err := p.AwaitLine(ctx, func(line string) bool {
		e := parseEntry(line)
		if e == nil || !match(e) {
			return false
		}
		found = e
		return true
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// Logs returns the JSON log entries written so far whose "msg" is msg.
func (p *Process) Logs(msg string) []LogEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []LogEntry
	for _, l := range p.lines {
		if e := parseEntry(l); e != nil && e.String("msg") == msg {
			out = append(out, e)
		}
	}
	return out
}

func parseEntry(line string) LogEntry {
	if !strings.HasPrefix(line, "{") {
		return nil
	}
	var e LogEntry
	if json.Unmarshal([]byte(line), &e) != nil {
		return nil
	}
	return e
}

func (p *Process) tail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	lines := p.lines
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Result is the outcome of a command run to completion by Run.
type Result struct {
	Stdout, Stderr string
	// Code is the exit code.
	Code int
}

// Run runs the standin binary with args to completion (at most a minute)
// and returns its output and exit code; it fails the test only when the
// binary cannot be run.
func Run(tb testing.TB, args ...string) Result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary(tb), args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STANDIN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		tb.Fatalf("proctest: run standin %s: %v", strings.Join(args, " "), err)
	}
	return Result{Stdout: stdout.String(), Stderr: stderr.String(), Code: cmd.ProcessState.ExitCode()}
}
