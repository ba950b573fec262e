// Command standin-bench measures standin end to end, side by side with bare
// River on the same database: delivery throughput, emit-to-receipt latency
// at a steady load, fan-out to many webhooks, a retry storm, and the peak
// resident memory of the standin process in each. It runs the built standin
// binary (`standin serve` on 127.0.0.1 random ports, one process and one
// fresh database per scenario) against a fast receiver in its own process,
// emits events through the real API (POST /standin/v1/events:batch, --emit-batch
// events per request, from several goroutines; throughput_single sends one
// POST /standin/v1/events per event from 32; the latency scenario emits each
// event alone, at its scheduled time), prints a table and the goals of issue
// #18 with the ratio of each to bare River in the same run, and writes the
// same figures as JSON.
//
//	make bench
//	go run ./cmd/standin-bench --standin ./bin/standin --backends sqlite --events 5000
//
// PostgreSQL comes from --database-url (default $STANDIN_TEST_DATABASE_URL);
// every scenario gets its own database (CREATE DATABASE, dropped after).
// All traffic stays on loopback.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

type config struct {
	standinBin      string
	databaseURL     string
	backends        []string
	scenarios       []string
	events          int
	emitters        int
	emitBatch       int
	singleEmitters  int
	latencyRatePG   float64
	latencyRateLite float64
	latencyDuration time.Duration
	latencyEmitters int
	fanout          int
	retryDeliveries int
	retryTimeScale  float64
	scenarioTimeout time.Duration
	serveArgs       []string
	out             string
	workDir         string
	keepLogs        bool
	profileDir      string
	profileSeconds  int
}

var allScenarios = []string{"bare_river", "drain", "throughput", "throughput_single", "latency", "river_latency", "fanout", "retry"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg config
	var backends, scenarios, serveArgs string
	fs := flag.NewFlagSet("standin-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.standinBin, "standin", "./bin/standin", "the standin binary to benchmark")
	fs.StringVar(&cfg.databaseURL, "database-url", os.Getenv("STANDIN_TEST_DATABASE_URL"), "PostgreSQL server URL; each scenario creates (and drops) its own database there (default $STANDIN_TEST_DATABASE_URL)")
	fs.StringVar(&backends, "backends", "sqlite,postgres", "backends to run, comma-separated")
	fs.StringVar(&scenarios, "scenarios", strings.Join(allScenarios, ","), "scenarios to run, comma-separated")
	fs.IntVar(&cfg.events, "events", 20000, "events (one delivery each) in the throughput, throughput_single and drain scenarios, and jobs in bare River's")
	fs.IntVar(&cfg.emitters, "emitters", 8, "goroutines emitting concurrently in the throughput and retry scenarios")
	fs.IntVar(&cfg.emitBatch, "emit-batch", 100, "events per emit request in the throughput, retry and drain scenarios, 1 to 1000 (POST /standin/v1/events:batch; 1 is POST /standin/v1/events)")
	fs.IntVar(&cfg.singleEmitters, "single-emitters", 32, "goroutines emitting concurrently in the throughput_single scenario, one event per request (POST /standin/v1/events)")
	fs.Float64Var(&cfg.latencyRatePG, "latency-rate-postgres", 500, "offered load of the latency scenario on PostgreSQL, events/s")
	fs.Float64Var(&cfg.latencyRateLite, "latency-rate-sqlite", 200, "offered load of the latency scenario on SQLite, events/s")
	fs.DurationVar(&cfg.latencyDuration, "latency-duration", 20*time.Second, "measured duration of the latency scenario (after a 1 s warm-up)")
	fs.IntVar(&cfg.latencyEmitters, "latency-emitters", 32, "goroutines sending the latency scenario's scheduled emits")
	fs.IntVar(&cfg.fanout, "fanout", 1000, "webhooks receiving the fan-out scenario's one event")
	fs.IntVar(&cfg.retryDeliveries, "retry-deliveries", 5000, "deliveries in the retry scenario (each fails once)")
	fs.Float64Var(&cfg.retryTimeScale, "retry-time-scale", 1e5, "standin --time-scale in the retry scenario")
	fs.DurationVar(&cfg.scenarioTimeout, "scenario-timeout", 2*time.Minute, "how long a scenario may wait for its deliveries")
	fs.StringVar(&serveArgs, "serve-args", "", "extra flags for `standin serve`, space-separated (to compare settings)")
	fs.StringVar(&cfg.out, "out", "bench-results.json", "where to write the results as JSON")
	fs.BoolVar(&cfg.keepLogs, "keep-logs", false, "keep standin's logs (their directory is printed)")
	fs.StringVar(&cfg.profileDir, "profile-dir", "", "when set, save a CPU profile of standin's first --profile-seconds in each scenario here (serve --pprof-addr)")
	fs.IntVar(&cfg.profileSeconds, "profile-seconds", 5, "length of each CPU profile")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if cfg.emitBatch < 1 || cfg.emitBatch > 1000 {
		fmt.Fprintf(stderr, "standin-bench: --emit-batch %d: want 1 to 1000\n", cfg.emitBatch)
		return 2
	}
	cfg.backends = split(backends)
	cfg.scenarios = split(scenarios)
	cfg.serveArgs = strings.Fields(serveArgs)
	for _, s := range cfg.scenarios {
		if !slices.Contains(allScenarios, s) {
			fmt.Fprintf(stderr, "standin-bench: unknown scenario %q (want %s)\n", s, strings.Join(allScenarios, ", "))
			return 2
		}
	}
	if err := benchmark(ctx, &cfg, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "standin-bench:", err)
		return 1
	}
	return 0
}

// emitPath describes how the throughput, retry and drain scenarios emit.
func emitPath(batch int) string {
	if batch == 1 {
		return "POST /standin/v1/events, one event per request"
	}
	return fmt.Sprintf("POST /standin/v1/events:batch, %d events per request", batch)
}

func split(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func benchmark(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	if _, err := os.Stat(cfg.standinBin); err != nil {
		return fmt.Errorf("--standin: %w (run `make build` first)", err)
	}
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			return err
		}
	}
	dir, err := os.MkdirTemp("", "standin-bench-")
	if err != nil {
		return err
	}
	cfg.workDir = dir
	if cfg.keepLogs {
		fmt.Fprintln(stderr, "standin-bench: logs in", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	recv, err := startReceiver()
	if err != nil {
		return err
	}
	defer recv.Close()

	logf := func(format string, args ...any) {
		fmt.Fprintf(stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	rep := &Report{
		StartedAt: time.Now().UTC(),
		Machine:   machine(),
		Settings: Settings{
			Events:            cfg.events,
			Emitters:          cfg.emitters,
			LatencyRates:      []string{fmt.Sprintf("postgres %g/s", cfg.latencyRatePG), fmt.Sprintf("sqlite %g/s", cfg.latencyRateLite)},
			LatencySeconds:    cfg.latencyDuration.Seconds(),
			LatencyEmitters:   cfg.latencyEmitters,
			LatencyWarmupSecs: latencyWarmup.Seconds(),
			Fanout:            cfg.fanout,
			RetryDeliveries:   cfg.retryDeliveries,
			RetryTimeScale:    cfg.retryTimeScale,
			ServeArgs:         cfg.serveArgs,
			EmitBatch:         cfg.emitBatch,
			EmitPath:          emitPath(cfg.emitBatch),
		},
	}
	for _, name := range cfg.backends {
		var db database
		rate := cfg.latencyRateLite
		switch name {
		case "sqlite":
			db = sqliteDB{dir: dir}
		case "postgres":
			if cfg.databaseURL == "" {
				return errors.New("postgres: set --database-url or STANDIN_TEST_DATABASE_URL (or --backends sqlite)")
			}
			db = &postgresDB{base: cfg.databaseURL}
			rate = cfg.latencyRatePG
			rep.Machine.Postgres = postgresVersion(ctx, cfg.databaseURL)
		default:
			return fmt.Errorf("unknown backend %q: want sqlite or postgres", name)
		}
		b := &bench{cfg: cfg, db: db, recv: recv, log: logf}
		var riverPerSecond float64
		for _, sc := range cfg.scenarios {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			logf("%s: %s ...", name, sc)
			var r Result
			switch sc {
			case "bare_river":
				r = b.bareRiver(ctx)
			case "drain":
				r = b.drain(ctx)
			case "throughput":
				r = b.withStandin(ctx, sc, nil, b.throughput(cfg.emitters, cfg.emitBatch))
			case "throughput_single":
				r = b.withStandin(ctx, sc, nil, b.throughput(cfg.singleEmitters, 1))
			case "river_latency":
				r = b.riverLatency(ctx, rate)
			case "latency":
				r = b.withStandin(ctx, sc, nil, b.latency(rate))
			case "fanout":
				r = b.withStandin(ctx, sc, nil, b.fanout)
			case "retry":
				r = b.withStandin(ctx, sc, []string{"--time-scale", fmt.Sprint(cfg.retryTimeScale)}, b.retry)
			}
			rep.Results = append(rep.Results, r)
			if sc == "bare_river" && r.OK {
				riverPerSecond = r.PerSecond
			}
			if (sc == "throughput" || sc == "throughput_single" || sc == "drain") && riverPerSecond > 0 && r.OK {
				rep.Results[len(rep.Results)-1].RiverRatio = r.PerSecond / riverPerSecond
			}
			if r.Error != "" {
				logf("%s: %s: %s", name, sc, r.Error)
			} else {
				logf("%s: %s done", name, sc)
			}
		}
	}
	rep.Seconds = time.Since(rep.StartedAt).Seconds()
	rep.Targets = targets(rep.Results)
	printTable(stdout, rep)
	if cfg.out != "" {
		if err := writeJSON(cfg.out, rep); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "results written to %s (%.0f s)\n", cfg.out, rep.Seconds)
	}
	for _, r := range rep.Results {
		if !r.OK {
			return errors.New("some scenarios failed")
		}
	}
	return nil
}

func postgresVersion(ctx context.Context, url string) string {
	conn, err := pgx.Connect(ctx, withoutPoolParams(url))
	if err != nil {
		return ""
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, `SHOW server_version`).Scan(&v); err != nil {
		return ""
	}
	return "PostgreSQL " + v
}
