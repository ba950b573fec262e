package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// standinProc is one `standin serve` process, started for one scenario so
// that its peak resident memory (VmHWM) belongs to that scenario alone.
type standinProc struct {
	cmd       *exec.Cmd
	URL       string // http://127.0.0.1:port
	PprofAddr string // set when started with --pprof-addr
	// WorkersStarted is when the process logged that its delivery workers
	// started (zero for --role api).
	WorkersStarted time.Time
	logPath        string
	exited         chan struct{}
	waitErr        error
}

// startStandin runs `bin serve` on databaseURL with random loopback ports
// and waits until its API answers /healthz (with --role worker: until its
// workers started). Its logs (JSON) go to logPath.
func startStandin(ctx context.Context, bin, databaseURL, logPath string, pprof bool, extra ...string) (*standinProc, error) {
	workerOnly := slices.Contains(extra, "worker")
	args := []string{"serve",
		"--database-url", databaseURL,
		"--http-addr", "127.0.0.1:0",
		"--grpc-addr", "127.0.0.1:0",
		"--skip-url-check",
		"--log-format", "json",
		"--log-level", "info",
	}
	if pprof {
		args = append(args, "--pprof-addr", "127.0.0.1:0")
	}
	args = append(args, extra...)
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = childEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	cmd.Stdout = logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &standinProc{cmd: cmd, logPath: logPath, exited: make(chan struct{})}

	addrs := make(chan [2]string, 1)
	go func() {
		// Copy the logs to the file, picking out the listen addresses.
		var httpAddr, pprofAddr string
		workers := false
		sent := false
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = logFile.Write(append(line, '\n'))
			if sent {
				continue
			}
			var rec struct {
				Msg      string `json:"msg"`
				Addr     string `json:"addr"`
				HTTP     string `json:"http"`
				ClientID string `json:"client_id"`
			}
			if json.Unmarshal(line, &rec) != nil {
				continue
			}
			switch rec.Msg {
			case "standin started": // the one start line: listening, workers started
				httpAddr = strings.TrimPrefix(rec.HTTP, "http://")
				if rec.ClientID != "" {
					workers = true
					p.WorkersStarted = time.Now()
				}
			case "pprof listening":
				pprofAddr = rec.Addr
			}
			if (httpAddr != "" || workerOnly && workers) && (!pprof || pprofAddr != "") {
				addrs <- [2]string{httpAddr, pprofAddr}
				sent = true
			}
		}
		_, _ = io.Copy(logFile, stderr)
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()

	startCtx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	select {
	case a := <-addrs:
		p.URL, p.PprofAddr = "http://"+a[0], a[1]
		if workerOnly {
			return p, nil
		}
	case <-p.exited:
		return nil, fmt.Errorf("standin exited at start (%v); log: %s\n%s", p.waitErr, logPath, tail(logPath, 20))
	case <-startCtx.Done():
		p.stop()
		return nil, fmt.Errorf("standin did not start listening: %w; log: %s", startCtx.Err(), logPath)
	}
	for {
		resp, err := http.Get(p.URL + "/healthz")
		if err == nil {
			discard(resp.Body)
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("standin exited at start (%v); log: %s", p.waitErr, logPath)
		case <-startCtx.Done():
			p.stop()
			return nil, fmt.Errorf("standin never became healthy: %w", startCtx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// childEnv is the environment without STANDIN_ variables, so that only the
// flags the benchmark passes configure the process.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STANDIN_") {
			env = append(env, kv)
		}
	}
	return env
}

// peakRSS returns the process's peak resident set size (VmHWM) in bytes.
func (p *standinProc) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// cpuSeconds returns the process's CPU time so far, user and system.
func (p *standinProc) cpuSeconds() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) in parentheses;
	// utime and stime are the 14th and 15th fields, in clock ticks (100/s
	// on Linux).
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, errors.New("short /proc stat")
	}
	var ticks float64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += float64(n)
	}
	return ticks / 100, nil
}

// stop sends SIGTERM and waits for a graceful exit, killing the process
// after 30 s.
func (p *standinProc) stop() error {
	select {
	case <-p.exited:
		return p.waitErr
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return errors.New("standin did not stop within 30 s of SIGTERM; killed")
	}
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
