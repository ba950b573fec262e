package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server/app"
)

// TestStrictHTTPSAndSeed runs the composition root with StrictHTTPS: http://
// webhook URLs are refused on create and update, https:// accepted. It also
// checks the seed registry and SkipSeed.
func TestStrictHTTPSAndSeed(t *testing.T) {
	t.Parallel()
	serve := func(cfg app.Config) string {
		t.Helper()
		cfg.DatabaseURL = filepath.Join(t.TempDir(), "db")
		cfg.Logger = slog.New(slog.DiscardHandler)
		cfg.Role = app.RoleAPI
		srv, err := app.New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx, app.Listeners{HTTP: lis}) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
			srv.Close()
		})
		return "http://" + lis.Addr().String()
	}
	do := func(base, method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	strict := serve(app.Config{StrictHTTPS: true, SkipURLCheck: true})
	want := `{"code":"InvalidInput","message":"Field 'url' must be an absolute https URL"}`
	if status, b := do(strict, "POST", "/v1/webhooks/account", `{"url":"http://127.0.0.1:9/hook","events":["sync_end"]}`); status != 400 || b != want {
		t.Errorf("strict create http: %d %s", status, b)
	}
	status, b := do(strict, "POST", "/v1/webhooks/group/inappropriate_implode", `{"url":"https://receiver.example/hook","events":["sync_end"]}`)
	if status != 200 {
		t.Fatalf("strict create https: %d %s", status, b)
	}
	var env struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	decode(t, []byte(b), &env)
	if status, b := do(strict, "PATCH", "/v1/webhooks/"+env.Data.ID, `{"url":"http://receiver.example/hook"}`); status != 400 || b != want {
		t.Errorf("strict update http: %d %s", status, b)
	}
	if _, b := do(strict, "GET", "/v1/groups", ""); !strings.Contains(b, `"id":"inappropriate_implode","name":"Warehouse"`) || !strings.Contains(b, `"id":"elegant_canyon","name":"Staging"`) {
		t.Errorf("seed groups: %s", b)
	}
	if _, b := do(strict, "GET", "/v1/connections/assimilate_seem", ""); !strings.Contains(b, `"service":"google_cloud_postgresql","service_version":0,"schema":"ftar_pg"`) {
		t.Errorf("seed connection: %s", b)
	}

	lax := serve(app.Config{SkipURLCheck: true, SkipSeed: true})
	if status, b := do(lax, "POST", "/v1/webhooks/account", `{"url":"http://127.0.0.1:9/hook","events":["sync_end"]}`); status != 200 {
		t.Errorf("default mode refused http: %d %s", status, b)
	}
	if _, b := do(lax, "GET", "/v1/groups", ""); b != `{"code":"Success","data":{"items":[]}}` {
		t.Errorf("SkipSeed: %s", b)
	}
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// TestConfigValidate checks that New refuses a bad Config naming the
// field, before it opens anything.
func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg  app.Config
		want string
	}{
		{app.Config{Role: "both"}, `config: Role "both" is not one of all, api, worker`},
		{app.Config{APIKey: "k"}, "config: APISecret is required when APIKey is set"},
		{app.Config{APISecret: "s"}, "config: APIKey is required when APISecret is set"},
		{app.Config{TimeScale: -1}, "config: " + delivery.ValidateTimeScale(-1).Error()},
		{app.Config{SyncDuration: -time.Second}, "config: SyncDuration -1s: must not be negative"},
		{app.Config{MaxWorkers: -1}, "config: MaxWorkers -1: must not be negative"},
		{app.Config{FetchPollInterval: -time.Millisecond}, "config: FetchPollInterval -1ms: must not be negative"},
		{app.Config{RescueStuckJobsAfter: -time.Minute}, "config: RescueStuckJobsAfter -1m0s: must not be negative"},
		{app.Config{ShutdownTimeout: -time.Second}, "config: ShutdownTimeout -1s: must not be negative"},
		{app.Config{MaxConnections: -1}, "config: MaxConnections -1: must not be negative"},
		{app.Config{RequestReadTimeout: -time.Second}, "config: RequestReadTimeout -1s: must not be negative"},
		{app.Config{ManualClock: true, TimeScale: 60}, "config: TimeScale 60 contradicts ManualClock, which moves time only when told (leave TimeScale at 1)"},
		{app.Config{ManualClock: true, Role: app.RoleWorker}, `config: Role "worker" contradicts ManualClock, which needs Role "all": the clock lives in one process, which must serve the API and work deliveries`},
	} {
		if err := tt.cfg.Validate(); err == nil || err.Error() != tt.want {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
		// A directory that does not exist: New must fail on the config,
		// not on opening the database.
		tt.cfg.DatabaseURL = filepath.Join(t.TempDir(), "missing", "dir", "db")
		if _, err := app.New(t.Context(), tt.cfg); err == nil || err.Error() != tt.want {
			t.Errorf("New(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	var zero app.Config
	if err := zero.Validate(); err != nil {
		t.Errorf("the zero Config: %v", err)
	}
}
