package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// runServeBriefly runs `standin serve` with args on an in-memory database
// and ephemeral ports; a serve that starts is stopped after a few seconds
// (and then exits 0, as on Ctrl-C), so a value that should have been
// refused shows as exit 0.
func runServeBriefly(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	full := append([]string{"serve", "--database-url", "sqlite://:memory:", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--log-level", "error"}, args...)
	var stdout, stderr bytes.Buffer
	code := run(ctx, full, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// TestServeRefusesOutOfRangeFlags: NaN, infinite, huge and tiny time
// scales, zero and negative send timeouts and worker counts are refused with
// exit 2 and a message naming the flag and its range, from the command line
// and from the environment.
func TestServeRefusesOutOfRangeFlags(t *testing.T) {
	cases := []struct {
		flag, env, value, want string
	}{
		{"time-scale", "STANDIN_TIME_SCALE", "NaN", "want 0.001..1e+06"},
		{"time-scale", "STANDIN_TIME_SCALE", "Inf", "want 0.001..1e+06"},
		{"time-scale", "STANDIN_TIME_SCALE", "-Inf", "want 0.001..1e+06"},
		{"time-scale", "STANDIN_TIME_SCALE", "1e308", "want 0.001..1e+06"},
		{"time-scale", "STANDIN_TIME_SCALE", "1e-300", "want 0.001..1e+06"},
		{"time-scale", "STANDIN_TIME_SCALE", "0", "want 0.001..1e+06"},
		{"send-timeout", "STANDIN_SEND_TIMEOUT", "0", "want 10ms..1h0m0s"},
		{"send-timeout", "STANDIN_SEND_TIMEOUT", "-1s", "want 10ms..1h0m0s"},
		{"send-timeout", "STANDIN_SEND_TIMEOUT", "2h", "want 10ms..1h0m0s"},
		{"max-workers", "STANDIN_MAX_WORKERS", "0", "want 1..10000"},
		{"max-workers", "STANDIN_MAX_WORKERS", "-5", "want 1..10000"},
		{"max-connections", "STANDIN_MAX_CONNECTIONS", "0", "want 1..1000000"},
		{"read-timeout", "STANDIN_READ_TIMEOUT", "0", "want 1s..1h0m0s"},
	}
	for _, c := range cases {
		r := runServeBriefly(t, "--"+c.flag, c.value)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--"+c.flag) || !strings.Contains(r.stderr, c.want) {
			t.Errorf("serve --%s %s: want exit 2 naming --%s and %q, got %s", c.flag, c.value, c.flag, c.want, r)
		}
		t.Run(c.env+"="+c.value, func(t *testing.T) {
			t.Setenv(c.env, c.value)
			r := runServeBriefly(t)
			if r.code != exitUsage || !strings.Contains(r.stderr, c.env) || !strings.Contains(r.stderr, c.want) {
				t.Errorf("%s=%s serve: want exit 2 naming %s and %q, got %s", c.env, c.value, c.env, c.want, r)
			}
		})
	}
	// The bounds themselves are allowed.
	for _, args := range [][]string{
		{"--time-scale", "0.001", "--send-timeout", "10ms", "--max-workers", "1"},
		{"--time-scale", "1e6", "--send-timeout", "1h", "--rescue-after", "2h", "--max-workers", "10000"},
	} {
		if r := runServeBriefly(t, args...); r.code != exitOK {
			t.Errorf("serve %v: want exit 0 after the context ends, got %s", args, r)
		}
	}
}
