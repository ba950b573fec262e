package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/standin-dev/standin/testkit"
)

// testTimeout bounds every wait of these tests.
const testTimeout = 30 * time.Second

// result is what one run of the command tree produced.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// cli runs the command tree with args, as main does, and returns what it
// printed and its exit code.
func cli(t testing.TB, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// ok runs the command tree and fails the test unless it exits 0.
func ok(t testing.TB, args ...string) result {
	t.Helper()
	r := cli(t, args...)
	if r.code != exitOK {
		t.Fatalf("standin %s: want exit 0, got %s", strings.Join(args, " "), r)
	}
	return r
}

// api appends --api-url for st to args.
func api(st *testkit.Standin, args ...string) []string {
	return append(args, "--api-url", st.URL)
}

// decodeJSON parses a command's -o json output into out.
func decodeJSON(t testing.TB, r result, out any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), out); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r)
	}
}

// fast starts a standin whose retry schedule runs 10,000 times faster than
// real time: Fivetran's first three retries come within 0.7 s, and a run of
// failures still takes seconds to reach the 3 emulated days after which
// standin, like Fivetran, deactivates a failing webhook.
func fast(t testing.TB) *testkit.Standin {
	t.Helper()
	return testkit.Start(t, testkit.Config{TimeScale: 1e4})
}

// fastest starts a standin whose retry schedule runs a million times faster
// than real time, for Portable webhooks that fail their whole 24-hour
// schedule (about 41 ms): Portable has no deactivation rule, while a
// Fivetran webhook would be deactivated by the first slow retry.
func fastest(t testing.TB) *testkit.Standin {
	t.Helper()
	return testkit.Start(t, testkit.Config{TimeScale: 1e6})
}

// newWebhook creates an account webhook through the command line and
// returns its id.
func newWebhook(t testing.TB, st *testkit.Standin, url, secret string, extra ...string) string {
	t.Helper()
	args := api(st, "webhooks", "create", "--url", url, "--events", "sync_start,sync_end", "--secret", secret, "-o", "json")
	r := ok(t, append(args, extra...)...)
	var wh struct {
		ID string `json:"id"`
	}
	decodeJSON(t, r, &wh)
	if wh.ID == "" {
		t.Fatalf("no webhook id in %s", r)
	}
	return wh.ID
}

// await returns a context for one wait of a test.
func await(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// syncBuffer is an io.Writer safe for concurrent use whose content can be
// waited on.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{})} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	close(b.changed)
	b.changed = make(chan struct{})
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// awaitMatch waits until the content matches re and returns the first
// match's submatches.
func (b *syncBuffer) awaitMatch(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	for {
		b.mu.Lock()
		m := re.FindStringSubmatch(b.buf.String())
		ch := b.changed
		b.mu.Unlock()
		if m != nil {
			return m, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("waited for %q in output:\n%s\n%w", re, b.String(), ctx.Err())
		}
	}
}

// awaitCount waits until sub occurs at least n times.
func (b *syncBuffer) awaitCount(ctx context.Context, sub string, n int) error {
	for {
		b.mu.Lock()
		got := strings.Count(b.buf.String(), sub)
		ch := b.changed
		b.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waited for %d× %q in output, got %d:\n%s\n%w", n, sub, got, b.String(), ctx.Err())
		}
	}
}

// background runs the command tree in a goroutine with a cancellable
// context. stop cancels it (Ctrl-C) and returns its exit code.
type background struct {
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan int
}

func startCLI(t testing.TB, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	bg := &background{stdout: newSyncBuffer(), stderr: newSyncBuffer(), cancel: cancel, done: make(chan int, 1)}
	go func() { bg.done <- run(ctx, args, bg.stdout, bg.stderr) }()
	t.Cleanup(func() {
		cancel()
		<-bg.done
	})
	return bg
}

// stop cancels the command and returns its exit code.
func (bg *background) stop(t testing.TB) int {
	t.Helper()
	bg.cancel()
	select {
	case code := <-bg.done:
		bg.done <- code // for Cleanup
		return code
	case <-time.After(testTimeout):
		t.Fatalf("command did not stop after cancel; stdout:\n%s", bg.stdout)
		return -1
	}
}

var listeningRE = regexp.MustCompile(`Listening on (http://127\.0\.0\.1:\d+)`)

// startListen runs `standin listen --port 0 args…` and returns it with its
// URL once it listens.
func startListen(t testing.TB, args ...string) (*background, string) {
	t.Helper()
	bg := startCLI(t, append([]string{"listen", "--port", "0"}, args...)...)
	m, err := bg.stdout.awaitMatch(await(t), listeningRE)
	if err != nil {
		t.Fatal(err)
	}
	return bg, m[1]
}

// answering starts a recording receiver whose every answer is resp (unless
// scripted with Respond), checking signatures with secret.
func answering(t testing.TB, secret string, resp testkit.Response) *testkit.Receiver {
	t.Helper()
	r := &testkit.Receiver{Secret: secret, Default: resp}
	r.Start(t)
	return r
}
