package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/server/app"
)

type serveFlags struct {
	httpAddr, grpcAddr   string
	databaseURL          string
	skipMigrate          bool
	role                 string
	apiKey, apiSecret    string
	timeScale            float64
	clock                string
	resetTimeScale       bool
	strictHTTPS          bool
	skipURLCheck         bool
	urlCheckConnector    string
	insecureSkipVerify   bool
	caFile               string
	sendTimeout          time.Duration
	maxWorkers           int
	maxConnections       int
	readTimeout          time.Duration
	rescueStuckJobsAfter time.Duration
	shutdownTimeout      time.Duration
	logLevel             string
	logFormat            string
	pprofAddr            string
	metricsAddr          string
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the API and the delivery workers",
		Long: `Run standin: Fivetran's webhook management API over REST (--http-addr) and
gRPC (--grpc-addr), the emulator API under /standin/v1/, and the workers that
deliver events to your receivers with Fivetran's or Portable's retries.

With no --database-url, standin keeps its state in ./standin.db (embedded
SQLite, nothing to install). Give a postgres:// URL to share one database
between several standin processes.`,
		Example: `  # serve on embedded SQLite, retries 3600x faster (a 24 h schedule in 24 s)
  standin serve --time-scale 3600

  # require Fivetran-style Basic auth
  STANDIN_API_KEY=key STANDIN_API_SECRET=secret standin serve

  # one of several processes sharing PostgreSQL, delivering only
  standin serve --database-url postgres://localhost/standin --role worker`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.httpAddr, "http-addr", "127.0.0.1:8080", "REST API listen address")
	fl.StringVar(&f.grpcAddr, "grpc-addr", "127.0.0.1:9090", "gRPC API listen address")
	fl.StringVar(&f.databaseURL, "database-url", "", "database: a SQLite path, sqlite:///path, sqlite://:memory:, or postgres://… (default ./standin.db)")
	fl.BoolVar(&f.skipMigrate, "skip-migrate", false, "do not migrate the database on start")
	fl.StringVar(&f.role, "role", "all", "what this process does: all, api or worker")
	fl.StringVar(&f.apiKey, "api-key", "", "API key for HTTP Basic auth (auth is off unless key and secret are set)")
	fl.StringVar(&f.apiSecret, "api-secret", "", "API secret for HTTP Basic auth")
	fl.Float64Var(&f.timeScale, "time-scale", 1, fmt.Sprintf("emulated seconds per real second for retries and simulated syncs (%g..%g); recorded in the database: a later process without it adopts it; on PostgreSQL, where every process of a deployment must agree, one with another scale refuses to start", minTimeScale, maxTimeScale))
	fl.BoolVar(&f.resetTimeScale, "reset-time-scale", false, "record --time-scale in the database even when it records another (restart the deployment's other processes with the new scale)")
	fl.StringVar(&f.clock, "clock", "real", "real, or manual: time frozen at start, moved only by 'standin clock advance' (needs --time-scale 1 and --role all)")
	fl.BoolVar(&f.strictHTTPS, "strict-https", false, "refuse non-https webhook URLs, as Fivetran does")
	fl.BoolVar(&f.skipURLCheck, "skip-url-check", false, "do not POST test_event to a webhook URL when it is created active or activated")
	fl.StringVar(&f.urlCheckConnector, "url-check-connector", delivery.URLCheckConnectorID, "connector_id of the URL check's test_event (older docs: "+delivery.LegacyURLCheckConnectorID+")")
	fl.BoolVar(&f.insecureSkipVerify, "insecure-skip-verify", false, "accept any TLS certificate from receivers")
	fl.StringVar(&f.caFile, "ca-file", "", "PEM file of extra CA certificates to trust for receivers")
	fl.DurationVar(&f.sendTimeout, "send-timeout", 10*time.Second, fmt.Sprintf("timeout of one delivery request, %v..%v (Fivetran: 10s)", minSendTimeout, maxSendTimeout))
	fl.IntVar(&f.maxWorkers, "max-workers", 200, fmt.Sprintf("deliveries in flight at once in this process, half of them for the first attempts of deliveries emitted together (%d..%d)", minMaxWorkers, maxMaxWorkers))
	fl.IntVar(&f.maxConnections, "max-connections", server.DefaultMaxConnections, fmt.Sprintf("connections the HTTP and the gRPC API each hold open at once (%d..%d); past it, %d more answer /healthz and 503 for the rest", minMaxConnections, maxMaxConnections, server.ReserveConnections))
	fl.DurationVar(&f.readTimeout, "read-timeout", server.DefaultRequestReadTimeout, fmt.Sprintf("how long one HTTP request, headers and body, may take to arrive (%v..%v)", minReadTimeout, maxReadTimeout))
	fl.DurationVar(&f.rescueStuckJobsAfter, "rescue-after", time.Minute, "how long a delivery may stay in flight before another process takes it over (at least --send-timeout + 1s)")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long in-flight deliveries may finish on shutdown")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fl.StringVar(&f.pprofAddr, "pprof-addr", "", "serve net/http/pprof on this address (for profiling)")
	_ = fl.MarkHidden("pprof-addr")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "", "also serve GET /metrics, unauthenticated, on this address (any role; the REST port has /metrics too)")
	bindEnv(cmd, map[string]string{
		"http-addr":            "STANDIN_HTTP_ADDR",
		"grpc-addr":            "STANDIN_GRPC_ADDR",
		"database-url":         "STANDIN_DATABASE_URL",
		"skip-migrate":         "STANDIN_SKIP_MIGRATE",
		"role":                 "STANDIN_ROLE",
		"metrics-addr":         "STANDIN_METRICS_ADDR",
		"api-key":              "STANDIN_API_KEY",
		"api-secret":           "STANDIN_API_SECRET",
		"time-scale":           "STANDIN_TIME_SCALE",
		"clock":                "STANDIN_CLOCK",
		"reset-time-scale":     "STANDIN_RESET_TIME_SCALE",
		"strict-https":         "STANDIN_STRICT_HTTPS",
		"skip-url-check":       "STANDIN_SKIP_URL_CHECK",
		"url-check-connector":  "STANDIN_URL_CHECK_CONNECTOR",
		"insecure-skip-verify": "STANDIN_INSECURE_SKIP_VERIFY",
		"ca-file":              "STANDIN_CA_FILE",
		"send-timeout":         "STANDIN_SEND_TIMEOUT",
		"max-workers":          "STANDIN_MAX_WORKERS",
		"max-connections":      "STANDIN_MAX_CONNECTIONS",
		"read-timeout":         "STANDIN_READ_TIMEOUT",
		"rescue-after":         "STANDIN_RESCUE_AFTER",
		"shutdown-timeout":     "STANDIN_SHUTDOWN_TIMEOUT",
		"log-level":            "STANDIN_LOG_LEVEL",
		"log-format":           "STANDIN_LOG_FORMAT",
	})
	return cmd
}

// The allowed ranges of serve's numeric flags. A time scale outside them
// either stalls retries for ages or runs a 24-hour schedule in an instant
// (1e-300 ran the whole schedule in 8 s); a send timeout under 10 ms fails
// every delivery; a worker count of 0 or below sends nothing.
const (
	minTimeScale   = delivery.MinTimeScale
	maxTimeScale   = delivery.MaxTimeScale
	minSendTimeout = 10 * time.Millisecond
	maxSendTimeout = time.Hour
	minMaxWorkers  = 1
	maxMaxWorkers  = 10000

	minMaxConnections = 1
	maxMaxConnections = 1000000
	minReadTimeout    = time.Second
	maxReadTimeout    = time.Hour
)

// checkRanges refuses flag values outside their ranges, naming the flag (and
// its environment variable when that is where the value came from) and the
// range allowed.
func (f serveFlags) checkRanges(cmd *cobra.Command) error {
	name := func(flag, env string) string {
		if !cmd.Flags().Changed(flag) {
			if v, ok := os.LookupEnv(env); ok {
				return fmt.Sprintf("%s=%q", env, v)
			}
		}
		return "--" + flag
	}
	// NaN fails both comparisons, so test for the range, not its outside.
	if !(f.timeScale >= minTimeScale && f.timeScale <= maxTimeScale) {
		return fmt.Errorf("%s: time scale %v is out of range: want %g..%g", name("time-scale", "STANDIN_TIME_SCALE"), f.timeScale, minTimeScale, maxTimeScale)
	}
	if f.sendTimeout < minSendTimeout || f.sendTimeout > maxSendTimeout {
		return fmt.Errorf("%s: send timeout %v is out of range: want %v..%v", name("send-timeout", "STANDIN_SEND_TIMEOUT"), f.sendTimeout, minSendTimeout, maxSendTimeout)
	}
	if f.maxWorkers < minMaxWorkers || f.maxWorkers > maxMaxWorkers {
		return fmt.Errorf("%s: %d workers is out of range: want %d..%d", name("max-workers", "STANDIN_MAX_WORKERS"), f.maxWorkers, minMaxWorkers, maxMaxWorkers)
	}
	if f.maxConnections < minMaxConnections || f.maxConnections > maxMaxConnections {
		return fmt.Errorf("%s: %d connections is out of range: want %d..%d", name("max-connections", "STANDIN_MAX_CONNECTIONS"), f.maxConnections, minMaxConnections, maxMaxConnections)
	}
	if f.readTimeout < minReadTimeout || f.readTimeout > maxReadTimeout {
		return fmt.Errorf("%s: read timeout %v is out of range: want %v..%v", name("read-timeout", "STANDIN_READ_TIMEOUT"), f.readTimeout, minReadTimeout, maxReadTimeout)
	}
	return nil
}

func newLogger(cmd *cobra.Command, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func senderFromFlags(f serveFlags) (*delivery.Sender, error) {
	s := &delivery.Sender{Timeout: f.sendTimeout}
	if f.insecureSkipVerify || f.caFile != "" {
		tc := &tls.Config{InsecureSkipVerify: f.insecureSkipVerify} //nolint:gosec // asked for by the user
		if f.caFile != "" {
			pem, err := os.ReadFile(f.caFile)
			if err != nil {
				return nil, fmt.Errorf("--ca-file: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--ca-file %s: no PEM certificates found", f.caFile)
			}
			tc.RootCAs = pool
		}
		s.TLSConfig = tc
	}
	return s, nil
}

// serveGCPercent and serveMemoryLimit are the garbage collector's settings
// for `standin serve` unless GOGC and GOMEMLIMIT are set. A delivery
// allocates mostly short-lived request and row buffers: collecting half as
// often cut about a tenth of the CPU per delivery in `make bench`. The soft
// limit makes the collector work harder once the heap nears it, which keeps
// peak RSS at 80-85 MB in the benchmarks (100 MiB let it reach 99 MB, for no
// measurable CPU gain), well within the 150 MB they hold standin to.
const (
	serveGCPercent   = 200
	serveMemoryLimit = 64 << 20
)

func runServe(cmd *cobra.Command, f serveFlags) error {
	ctx := cmd.Context()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
	logger, err := newLogger(cmd, f.logLevel, f.logFormat)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if err := f.checkRanges(cmd); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	manualClock, err := clockFlag(f)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if (f.apiKey == "") != (f.apiSecret == "") {
		return &exitError{code: 2, err: fmt.Errorf("set both --api-key and --api-secret, or neither")}
	}
	sender, err := senderFromFlags(f)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	// An unset --time-scale adopts the scale the database records.
	timeScale := f.timeScale
	if _, env := os.LookupEnv("STANDIN_TIME_SCALE"); !cmd.Flags().Changed("time-scale") && !env {
		timeScale = 0
	}
	if f.resetTimeScale && timeScale == 0 {
		return &exitError{code: exitUsage, err: errors.New("--reset-time-scale: give the new scale with --time-scale")}
	}
	srv, err := app.New(ctx, app.Config{
		DatabaseURL:          f.databaseURL,
		SkipMigrate:          f.skipMigrate,
		Role:                 app.Role(strings.ToLower(f.role)),
		APIKey:               f.apiKey,
		APISecret:            f.apiSecret,
		TimeScale:            timeScale,
		ResetTimeScale:       f.resetTimeScale,
		ManualClock:          manualClock,
		StrictHTTPS:          f.strictHTTPS,
		SkipURLCheck:         f.skipURLCheck,
		URLCheckConnectorID:  f.urlCheckConnector,
		Sender:               sender,
		MaxWorkers:           f.maxWorkers,
		MaxConnections:       f.maxConnections,
		RequestReadTimeout:   f.readTimeout,
		RescueStuckJobsAfter: f.rescueStuckJobsAfter,
		ShutdownTimeout:      f.shutdownTimeout,
		Logger:               logger,
		Version:              buildVersion(),
	})
	if err != nil {
		if nm := (*app.NotMigratedError)(nil); errors.As(err, &nm) {
			return fmt.Errorf("--skip-migrate: %w: run \"standin migrate up\" with the same --database-url first, or start without --skip-migrate", err)
		}
		if tm := (*app.TimeScaleMismatchError)(nil); errors.As(err, &tm) {
			return &exitError{code: exitUsage, err: fmt.Errorf("--time-scale %g: this deployment runs at time scale %g, recorded in its database by the first process that started on it, and every process must use the same: "+
				"start with --time-scale %g (or without --time-scale), or change the deployment's scale with --time-scale %g --reset-time-scale and restart its other processes with it", tm.Given, tm.Recorded, tm.Recorded, tm.Given)}
		}
		return err
	}
	defer srv.Close()
	if f.pprofAddr != "" {
		stopPprof, err := servePprof(ctx, f.pprofAddr, logger)
		if err != nil {
			return fmt.Errorf("--pprof-addr: %w", err)
		}
		defer stopPprof()
	}
	if f.metricsAddr != "" {
		stopMetrics, err := serveMetrics(ctx, f.metricsAddr, srv.MetricsHandler(), logger)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		defer stopMetrics()
	}
	var lis app.Listeners
	if srv.API() != nil {
		if lis.HTTP, err = net.Listen("tcp", f.httpAddr); err != nil {
			return fmt.Errorf("--http-addr: %w", err)
		}
		if lis.GRPC, err = net.Listen("tcp", f.grpcAddr); err != nil {
			lis.HTTP.Close()
			return fmt.Errorf("--grpc-addr: %w", err)
		}
	}
	if f.apiKey == "" && srv.API() != nil {
		logger.Warn("authentication is off: set --api-key and --api-secret (or STANDIN_API_KEY/STANDIN_API_SECRET) to require HTTP Basic auth")
	}
	if err := srv.Serve(ctx, lis); err != nil {
		return err
	}
	logger.Info("standin stopped")
	return nil
}
