package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// This file holds the helpers of the tests that run the real standin
// binary: build it, start `standin serve` with JSON logs, wait on its log
// lines, and talk to its REST API.

// hardenBinary builds ./cmd/standin into a temporary directory and returns
// the binary's path.
func hardenBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the standin binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to build the binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "standin")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// logLine is one JSON log record of a standin process.
type logLine map[string]any

func (l logLine) str(key string) string {
	s, _ := l[key].(string)
	return s
}

// logWatch collects the log records of one or more processes and lets a
// test wait for a record without polling.
type logWatch struct {
	mu      sync.Mutex
	lines   []logLine
	changed chan struct{}
}

func newLogWatch() *logWatch { return &logWatch{changed: make(chan struct{})} }

func (w *logWatch) add(l logLine) {
	w.mu.Lock()
	w.lines = append(w.lines, l)
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
}

// all returns the records seen so far.
func (w *logWatch) all() []logLine {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]logLine(nil), w.lines...)
}

// await waits until done reports true for the records seen so far.
func (w *logWatch) await(ctx context.Context, what string, done func([]logLine) bool) error {
	for {
		w.mu.Lock()
		lines, ch := w.lines, w.changed
		w.mu.Unlock()
		if done(lines) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

// awaitMsg waits for a record with the given message and returns it.
func (w *logWatch) awaitMsg(ctx context.Context, msg string) (logLine, error) {
	var found logLine
	err := w.await(ctx, fmt.Sprintf("log %q", msg), func(lines []logLine) bool {
		for _, l := range lines {
			if l.str("msg") == msg {
				found = l
				return true
			}
		}
		return false
	})
	return found, err
}

// hardenProc is a running `standin serve`.
type hardenProc struct {
	t           *testing.T
	cmd         *exec.Cmd
	url         string // REST base URL
	key, secret string // API credentials, when set
	logs        *logWatch
	raw         *bytes.Buffer // every line written to stderr
	rawMu       sync.Mutex
	done        chan struct{}
	err         error // cmd.Wait's result, once done is closed
}

// startServe runs `standin serve` on db with extra flags, JSON debug logs
// collected into logs (a fresh watch when nil), listening on random ports,
// and waits until its REST API listens. key and secret, when set, are the
// API credentials, passed in the environment as an operator would. The
// process is killed at cleanup if the test left it running.
func startServe(t *testing.T, bin, db string, logs *logWatch, key, secret string, flags ...string) *hardenProc {
	t.Helper()
	if logs == nil {
		logs = newLogWatch()
	}
	args := append([]string{"serve", "--database-url", db, "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0",
		"--log-format", "json", "--log-level", "debug"}, flags...)
	p := &hardenProc{t: t, cmd: exec.Command(bin, args...), key: key, secret: secret, logs: logs, raw: &bytes.Buffer{}, done: make(chan struct{})}
	p.cmd.Env = append(p.cmd.Environ(), "STANDIN_API_KEY="+key, "STANDIN_API_SECRET="+secret)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			p.rawMu.Lock()
			p.raw.Write(sc.Bytes())
			p.raw.WriteByte('\n')
			p.rawMu.Unlock()
			var l logLine
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				l["pid"] = float64(p.cmd.Process.Pid)
				logs.add(l)
			}
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("standin (pid %d) stderr, last lines:\n%s", p.cmd.Process.Pid, tailLines(p.stderr(), 40))
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var addr string
	err = logs.await(ctx, "http api listening", func(lines []logLine) bool {
		for _, l := range lines {
			if l.str("msg") == "http api listening" && l["pid"] == float64(p.cmd.Process.Pid) {
				addr = l.str("addr")
				return true
			}
		}
		select {
		case <-p.done:
			return true
		default:
			return false
		}
	})
	if err != nil || addr == "" {
		t.Fatalf("standin serve did not start (%v): exit %v", err, p.err)
	}
	p.url = "http://" + addr
	return p
}

// stderr returns everything the process wrote to stderr so far.
func (p *hardenProc) stderr() string {
	p.rawMu.Lock()
	defer p.rawMu.Unlock()
	return p.raw.String()
}

// tail returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// signal sends sig to the process.
func (p *hardenProc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *hardenProc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("standin did not exit within %v", timeout)
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	}
	p.t.Fatalf("wait: %v", p.err)
	return -1
}

// procAPIClient is the client of the tests' API calls.
var procAPIClient = &http.Client{Timeout: 30 * time.Second}

// call makes a JSON API call and decodes the envelope's data into out.
func (p *hardenProc) call(method, path, body string, out any) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, p.url+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if p.key != "" {
		req.SetBasicAuth(p.key, p.secret)
	}
	resp, err := procAPIClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s %s: HTTP %d %s", method, path, resp.StatusCode, raw)
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return err
	}
	if out != nil {
		return json.Unmarshal(env.Data, out)
	}
	return nil
}

// mustCall is call that fails the test on error.
func (p *hardenProc) mustCall(method, path, body string, out any) {
	p.t.Helper()
	if err := p.call(method, path, body, out); err != nil {
		p.t.Fatal(err)
	}
}

// procEmit is the data of an emit answer.
type procEmit struct {
	ID         string `json:"id"`
	Deliveries []struct {
		ID        string `json:"id"`
		WebhookID string `json:"webhook_id"`
	} `json:"deliveries"`
}

// hookReceipt is one request a hookReceiver got.
type hookReceipt struct {
	id string // webhook-id: the delivery id under Standard Webhooks signing
	at time.Time
}

// hookReceiver records the webhook-id of every request and answers with
// answer (200 when nil), which may block. Any path under url is served.
type hookReceiver struct {
	url     string
	answer  func(r *http.Request, n int) int // n: 1 for the first request of this id
	mu      sync.Mutex
	got     []hookReceipt
	byID    map[string]int
	changed chan struct{}
}

func newHookReceiver(t *testing.T, answer func(r *http.Request, n int) int) *hookReceiver {
	t.Helper()
	h := &hookReceiver{answer: answer, byID: make(map[string]int), changed: make(chan struct{})}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ln := listenLocal(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	h.url = "http://" + ln.Addr().String()
	return h
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	id := r.Header.Get("Webhook-Id")
	h.mu.Lock()
	h.got = append(h.got, hookReceipt{id: id, at: time.Now()})
	h.byID[id]++
	n := h.byID[id]
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
	status := http.StatusOK
	if h.answer != nil {
		status = h.answer(r, n)
	}
	w.WriteHeader(status)
}

// receipts returns every request received so far.
func (h *hookReceiver) receipts() []hookReceipt {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookReceipt(nil), h.got...)
}

// await waits until done reports true for the requests received so far.
func (h *hookReceiver) await(ctx context.Context, what string, done func(byID map[string]int) bool) error {
	for {
		h.mu.Lock()
		ok, ch := done(h.byID), h.changed
		h.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("receiver: waiting for %s: %w", what, ctx.Err())
		}
	}
}

// listenLocal listens on a random port of 127.0.0.1.
func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
