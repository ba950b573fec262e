package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/standin-dev/standin/server/app"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// count returns how many times sub occurs in what was written so far.
func (s *syncBuffer) count(sub string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Count(s.b.Bytes(), []byte(sub))
}

// records returns the JSON log records written so far.
func (s *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// TestLogsAPersonReads runs a whole process on SQLite with its logs, at
// DEBUG, in a buffer. A delivery fails once (503) and then succeeds: each
// attempt has one INFO line naming the delivery, webhook, event, attempt
// number, status, latency and outcome, the failed one its next retry in
// emulated and real time. The process logs one INFO line at start, and
// River's and the migrations' lines are all at DEBUG.
func TestLogsAPersonReads(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/hook" && calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
	}))
	defer receiver.Close()

	logs := &syncBuffer{}
	settled := make(chan string, 16)
	// linesAtCall holds, for each OnAttempt call, how many attempt lines
	// the log held then: a caller told of an attempt finds its line.
	var (
		callMu      sync.Mutex
		linesAtCall []int
	)
	srv, err := app.New(t.Context(), app.Config{
		DatabaseURL:  filepath.Join(t.TempDir(), "db"),
		TimeScale:    3600, // Fivetran's first retry, 6 emulated minutes, in 100 ms
		SkipURLCheck: true,
		Logger:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Version:      "v-test",
		OnAttempt: func(id, state string) {
			callMu.Lock()
			linesAtCall = append(linesAtCall, logs.count(`"msg":"delivery attempt"`))
			callMu.Unlock()
			if state != "retrying" {
				settled <- id
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, app.Listeners{HTTP: lis}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + lis.Addr().String()
	post := func(path, body string) map[string]any {
		t.Helper()
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env struct {
			Data map[string]any `json:"data"`
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 && resp.StatusCode != 201 || json.Unmarshal(b, &env) != nil {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
		return env.Data
	}
	wh := post("/v1/webhooks/account", `{"url":"`+receiver.URL+`/hook","events":["sync_end"],"active":true,"secret":"s"}`)
	ev := post("/standin/v1/events", `{"event":"sync_end"}`)
	deliveries := ev["deliveries"].([]any)
	if len(deliveries) != 1 {
		t.Fatalf("emitted %v, want one delivery", ev)
	}
	dID := deliveries[0].(map[string]any)["id"].(string)
	select {
	case id := <-settled:
		if id != dID {
			t.Fatalf("settled %s, want %s", id, dID)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the delivery did not settle in 30 s")
	}

	recs := logs.records(t)
	var attempts []map[string]any
	var started []map[string]any
	for _, r := range recs {
		switch r["msg"] {
		case "delivery attempt":
			attempts = append(attempts, r)
		case app.StartedMessage:
			started = append(started, r)
		}
	}
	if len(started) != 1 {
		t.Fatalf("%d start lines, want 1: %v", len(started), started)
	}
	s := started[0]
	if s["level"] != "INFO" || s["http"] != base || s["role"] != "all" || s["time_scale"] != 3600.0 ||
		s["auth"] != false || s["version"] != "v-test" || s["client_id"] == "" || !strings.HasPrefix(s["database"].(string), "sqlite:") {
		t.Errorf("start line %v: want INFO, http %s, role all, time_scale 3600, auth false, version, client_id, sqlite database", s, base)
	}
	if len(attempts) != 2 {
		t.Fatalf("%d attempt lines, want 2: %v", len(attempts), attempts)
	}
	callMu.Lock()
	defer callMu.Unlock()
	if len(linesAtCall) != 2 || linesAtCall[0] != 1 || linesAtCall[1] != 2 {
		t.Errorf("attempt lines written when OnAttempt was called: %v, want [1 2] (each line before its call)", linesAtCall)
	}
	for i, a := range attempts {
		want := map[string]any{
			"level": "INFO", "delivery": dID, "webhook": wh["id"], "event": "sync_end", "event_id": ev["id"],
			"attempt": float64(i + 1), "retry": float64(i), "manual": false,
		}
		for k, v := range want {
			if a[k] != v {
				t.Errorf("attempt %d: %s = %v, want %v (line %v)", i+1, k, a[k], v, a)
			}
		}
		if _, err := time.Parse(time.RFC3339Nano, a["time"].(string)); err != nil {
			t.Errorf("attempt %d: time %v: %v", i+1, a["time"], err)
		}
		if lat, ok := a["latency"].(float64); !ok || lat <= 0 {
			t.Errorf("attempt %d: latency %v, want a positive duration", i+1, a["latency"])
		}
	}
	first, second := attempts[0], attempts[1]
	if first["status"] != 503.0 || first["outcome"] != "retrying" || first["error"] != "receiver answered HTTP 503" ||
		first["next_retry_offset_emulated"] != float64(6*time.Minute) || first["next_retry_in_emulated"] != float64(6*time.Minute) {
		t.Errorf("failed attempt %v: want status 503, outcome retrying, its error, next retry in 6 emulated minutes", first)
	}
	if real, ok := first["next_retry_in_real"].(float64); !ok || real <= 0 || real > float64(100*time.Millisecond) {
		t.Errorf("failed attempt: next_retry_in_real %v, want (0, 100ms]", first["next_retry_in_real"])
	}
	if at, err := time.Parse(time.RFC3339Nano, first["next_retry_at"].(string)); err != nil || at.Before(mustTime(t, first["time"])) {
		t.Errorf("failed attempt: next_retry_at %v, want a time after the line's", first["next_retry_at"])
	}
	if second["status"] != 200.0 || second["outcome"] != "succeeded" || second["next_retry_at"] != nil || second["error"] != nil {
		t.Errorf("second attempt %v: want status 200, outcome succeeded, no next retry or error", second)
	}

	// What a person reads at INFO is standin's; River and the migrations
	// spoke, at DEBUG.
	standin := map[string]bool{app.StartedMessage: true, "delivery attempt": true}
	var riverDebug int
	for _, r := range recs {
		msg, _ := r["msg"].(string)
		if r["level"] == "INFO" && !standin[msg] {
			t.Errorf("INFO line that is not standin's start or attempt line: %v", r)
		}
		if r["level"] == "DEBUG" && (strings.Contains(strings.ToLower(msg), "river") || strings.Contains(msg, "migrat") ||
			strings.Contains(msg, "producer") || strings.Contains(msg, "elector")) {
			riverDebug++
		}
	}
	if riverDebug == 0 {
		t.Errorf("no River or migration line at DEBUG: they were dropped, not demoted")
	}
}

func mustTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestTimeScaleAgreement starts processes one after the other on one
// shared store (as on PostgreSQL, which standin reaches through the same
// code): the first records its time scale, a later one with another is
// refused, one without adopts it, and ResetTimeScale replaces it.
func TestTimeScaleAgreement(t *testing.T) {
	t.Parallel()
	st, err := app.OpenStore(t.Context(), filepath.Join(t.TempDir(), "db"), false, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := func(scale float64, reset bool, role app.Role) (*app.Server, error) {
		t.Helper()
		srv, err := app.New(t.Context(), app.Config{Store: st, TimeScale: scale, ResetTimeScale: reset, Role: role, Logger: slog.New(slog.DiscardHandler)})
		if err == nil {
			srv.Close()
		}
		return srv, err
	}
	srv, err := start(3600, false, app.RoleAPI)
	if err != nil || srv.TimeScale() != 3600 {
		t.Fatalf("first process: %v", err)
	}
	_, err = start(60, false, app.RoleWorker)
	var mm *app.TimeScaleMismatchError
	if !errors.As(err, &mm) || mm.Given != 60 || mm.Recorded != 3600 {
		t.Fatalf("a worker at 60 after an API at 3600: %v, want a TimeScaleMismatchError naming 60 and 3600", err)
	}
	if !strings.Contains(err.Error(), "60") || !strings.Contains(err.Error(), "3600") {
		t.Errorf("error %q names neither scale", err)
	}
	if srv, err = start(0, false, app.RoleWorker); err != nil || srv.TimeScale() != 3600 {
		t.Fatalf("a worker without a scale: %v, want it to adopt 3600", err)
	}
	if srv, err = start(3600, false, app.RoleWorker); err != nil || srv.TimeScale() != 3600 {
		t.Fatalf("a worker at the same scale: %v", err)
	}
	if srv, err = start(60, true, app.RoleAll); err != nil || srv.TimeScale() != 60 {
		t.Fatalf("ResetTimeScale to 60: %v", err)
	}
	if srv, err = start(0, false, app.RoleAPI); err != nil || srv.TimeScale() != 60 {
		t.Fatalf("after the reset, a process without a scale: %v, want 60", err)
	}
	if _, err = start(3600, false, app.RoleAPI); !errors.As(err, &mm) || mm.Recorded != 60 {
		t.Fatalf("after the reset, 3600: %v, want refused against 60", err)
	}
	if _, err := app.New(t.Context(), app.Config{Store: st, ResetTimeScale: true}); err == nil {
		t.Fatal("ResetTimeScale without a TimeScale was accepted")
	}
}

// TestTimeScaleSQLite restarts a process on one SQLite file, which serves
// one process at a time: the README's `make run` (scale 1) followed by
// `serve --time-scale 60` runs at 60, saying so, and a process given no
// scale then adopts 60.
func TestTimeScaleSQLite(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "db")
	start := func(scale float64) (*app.Server, string) {
		t.Helper()
		logs := &syncBuffer{}
		srv, err := app.New(t.Context(), app.Config{DatabaseURL: db, TimeScale: scale, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
		if err != nil {
			t.Fatalf("scale %v: %v", scale, err)
		}
		srv.Close()
		logs.mu.Lock()
		defer logs.mu.Unlock()
		return srv, logs.b.String()
	}
	if srv, _ := start(0); srv.TimeScale() != 1 {
		t.Fatalf("first start without a scale: %v, want 1", srv.TimeScale())
	}
	srv, logs := start(60)
	if srv.TimeScale() != 60 || !strings.Contains(logs, `"msg":"time scale changed","time_scale":60,"was":1`) {
		t.Fatalf("restart at 60: scale %v, logs %s; want 60 and a line saying it changed from 1", srv.TimeScale(), logs)
	}
	if srv, _ := start(0); srv.TimeScale() != 60 {
		t.Fatalf("restart without a scale: %v, want the recorded 60", srv.TimeScale())
	}
}
