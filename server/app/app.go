package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/server/clock"
	"github.com/standin-dev/standin/server/internal/simulate"
	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/backend"
	"github.com/standin-dev/standin/worker"
)

// Role selects what a standin process does.
type Role string

const (
	// RoleAll serves the API and works deliveries (the default).
	RoleAll Role = "all"
	// RoleAPI serves the API only; deliveries are enqueued for other
	// processes on the same PostgreSQL database.
	RoleAPI Role = "api"
	// RoleWorker works deliveries only.
	RoleWorker Role = "worker"
)

func (r Role) api() bool    { return r == RoleAll || r == RoleAPI }
func (r Role) worker() bool { return r == RoleAll || r == RoleWorker }

// Config configures a whole standin process. It is the one configuration
// of a process: the standin binary and testkit both build a Server from it,
// and the API's and the delivery workers' settings are derived from it.
// The zero Config is valid: an all-role process on ./standin.db.
type Config struct {
	// DatabaseURL selects the backend: a SQLite path or sqlite:// URL, or a
	// postgres:// URL. Defaults to DefaultDatabaseURL (./standin.db,
	// embedded SQLite).
	DatabaseURL string
	// Store, when set, is used instead of opening DatabaseURL. The Server
	// does not close it. Defaults to nil: DatabaseURL is opened.
	Store store.Store
	// SkipMigrate leaves the database schema alone at start; New then
	// fails with a *NotMigratedError when a migration is pending. Defaults
	// to false: migrations run on start.
	SkipMigrate bool
	// Role is what this process does. Defaults to RoleAll.
	Role Role
	// APIKey and APISecret are the HTTP Basic credentials (user name and
	// password) required on every REST path but /healthz, and as
	// "authorization: Basic …" metadata on every gRPC call but health and
	// reflection. Set both or neither. Defaults to empty: authentication
	// off.
	APIKey, APISecret string
	// TimeScale is emulated seconds per real second for retry schedules and
	// simulated syncs; see delivery.ValidateTimeScale. Every process of one
	// deployment must use the same: the first to start records its scale
	// in the database. On PostgreSQL, which several processes share, New
	// refuses a different one with a *TimeScaleMismatchError (see
	// ResetTimeScale); an SQLite file serves one process, which records the
	// scale it is given. Defaults to 0: the scale the database records, or
	// delivery.DefaultTimeScale (1) when it records none.
	TimeScale float64
	// ResetTimeScale records TimeScale in the database even when it records
	// another scale; processes already running keep the old one until they
	// restart. Defaults to false: on PostgreSQL a different scale is
	// refused.
	ResetTimeScale bool
	// StrictHTTPS refuses webhook URLs that are not https://, as Fivetran
	// does. Defaults to false: http:// is allowed for local receivers.
	StrictHTTPS bool
	// SkipURLCheck turns off the test_event POST made when a webhook is
	// created active or activated. Defaults to false: the check runs.
	SkipURLCheck bool
	// URLCheckConnectorID is the connector_id of the URL check's test_event.
	// Defaults to delivery.URLCheckConnectorID ("_connection_1", current
	// docs); delivery.LegacyURLCheckConnectorID ("_connector_1") is older
	// docs'.
	URLCheckConnectorID string
	// SyncDuration is how long, in emulated time, a simulated sync or
	// Portable flow run lasts when the caller does not say. Defaults to
	// DefaultSyncDuration (5 minutes).
	SyncDuration time.Duration
	// SkipSeed leaves an empty registry empty at start. Defaults to false:
	// SeedGroups and SeedConnections are registered when there is no group.
	SkipSeed bool
	// DisableAfter is how long, in emulated time, a Fivetran webhook may
	// fail every delivery before it is deactivated; negative never
	// deactivates. Defaults to worker.DefaultDisableAfter (3 days, as
	// Fivetran).
	DisableAfter time.Duration
	// Sender makes every outgoing request (deliveries, URL checks, test
	// calls). Defaults to a zero delivery.Sender: delivery.DefaultTimeout
	// (10 s), redirects not followed.
	Sender *delivery.Sender
	// MaxWorkers bounds concurrent deliveries in this process. Defaults to
	// worker.DefaultMaxWorkers (200).
	MaxWorkers int
	// FetchPollInterval is how often idle workers poll for due deliveries.
	// Defaults to 0, the store's choice: 10 ms on SQLite, 50 ms on
	// PostgreSQL; with ManualClock, 10 ms on both.
	FetchPollInterval time.Duration
	// RescueStuckJobsAfter is how long a delivery may stay in flight before
	// another process takes it over (its process presumed dead). Defaults to
	// worker.DefaultRescueStuckJobsAfter (1 minute).
	RescueStuckJobsAfter time.Duration
	// OnAttempt, when set, is called after every recorded delivery attempt
	// in this process with the delivery id and its new state. It must not
	// block. Defaults to nil.
	OnAttempt func(deliveryID, state string)
	// ShutdownTimeout bounds a graceful shutdown: in-flight deliveries get
	// this long to finish before they are cancelled and left for a retry.
	// Defaults to DefaultShutdownTimeout (15 s).
	ShutdownTimeout time.Duration
	// MaxConnections bounds the connections the HTTP API and the gRPC API
	// each hold open at once; further ones wait in the listen backlog. The
	// HTTP API also accepts server.ReserveConnections more, on which only
	// /healthz is served (others get 503 at once). Defaults to
	// server.DefaultMaxConnections (1024).
	MaxConnections int
	// RequestReadTimeout bounds how long the HTTP API waits for one
	// request, headers (at most 10 s of it) and body: a client that sends
	// slower is answered 408 or cut off, freeing its connection. Defaults
	// to server.DefaultRequestReadTimeout (30 s).
	RequestReadTimeout time.Duration
	// Logger receives structured logs. Defaults to slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Defaults to time.Now. With ManualClock
	// it only gives the clock's start.
	Now func() time.Time
	// ManualClock starts the clock frozen at Now() (truncated to the
	// millisecond): it moves only through Server.Clock (the API's
	// ClockService, standin clock advance), which fires every delivery
	// attempt that comes due on the way. It requires TimeScale 1 and
	// RoleAll (the clock lives in this one process). Defaults to false:
	// the real clock, sped up by TimeScale.
	ManualClock bool
	// Version is the build's version, named in the line Serve logs at
	// start (StartedMessage). Defaults to empty: not named.
	Version string
}

// StartedMessage is the message of the one INFO line Serve logs once the
// process serves: its role, what listens where (http, grpc), the store
// (database), the deployment's time scale, whether auth is on, and the
// River client id of its workers (client_id).
const StartedMessage = "standin started"

// Defaults of Config that belong to no other package.
const (
	// DefaultDatabaseURL is Config.DatabaseURL when empty: an SQLite file
	// in the working directory.
	DefaultDatabaseURL = backend.DefaultURL
	// DefaultShutdownTimeout is Config.ShutdownTimeout when zero.
	DefaultShutdownTimeout = 15 * time.Second
	// DefaultSyncDuration is Config.SyncDuration when zero: 5 minutes.
	DefaultSyncDuration = simulate.DefaultSyncDuration
)

// Validate reports the first field of c that is invalid, naming it. Zero
// values are valid: they select the defaults.
func (c *Config) Validate() error {
	switch {
	case c.Role != "" && !c.Role.api() && !c.Role.worker():
		return fmt.Errorf("config: Role %q is not one of all, api, worker", c.Role)
	case c.APIKey != "" && c.APISecret == "":
		return errors.New("config: APISecret is required when APIKey is set")
	case c.APIKey == "" && c.APISecret != "":
		return errors.New("config: APIKey is required when APISecret is set")
	case c.SyncDuration < 0:
		return fmt.Errorf("config: SyncDuration %v: must not be negative", c.SyncDuration)
	case c.MaxWorkers < 0:
		return fmt.Errorf("config: MaxWorkers %d: must not be negative", c.MaxWorkers)
	case c.FetchPollInterval < 0:
		return fmt.Errorf("config: FetchPollInterval %v: must not be negative", c.FetchPollInterval)
	case c.RescueStuckJobsAfter < 0:
		return fmt.Errorf("config: RescueStuckJobsAfter %v: must not be negative", c.RescueStuckJobsAfter)
	case c.ShutdownTimeout < 0:
		return fmt.Errorf("config: ShutdownTimeout %v: must not be negative", c.ShutdownTimeout)
	case c.ResetTimeScale && c.TimeScale == 0:
		return errors.New("config: ResetTimeScale needs a TimeScale")
	case c.MaxConnections < 0:
		return fmt.Errorf("config: MaxConnections %d: must not be negative", c.MaxConnections)
	case c.RequestReadTimeout < 0:
		return fmt.Errorf("config: RequestReadTimeout %v: must not be negative", c.RequestReadTimeout)
	case c.ManualClock && c.TimeScale != 0 && c.TimeScale != delivery.DefaultTimeScale:
		return fmt.Errorf("config: TimeScale %v contradicts ManualClock, which moves time only when told (leave TimeScale at %v)", c.TimeScale, delivery.DefaultTimeScale)
	case c.ManualClock && c.Role != "" && c.Role != RoleAll:
		return fmt.Errorf("config: Role %q contradicts ManualClock, which needs Role %q: the clock lives in one process, which must serve the API and work deliveries", c.Role, RoleAll)
	}
	if c.TimeScale != 0 {
		if err := delivery.ValidateTimeScale(c.TimeScale); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	return nil
}

// withDefaults returns c with every default filled in: the one place the
// defaults of a process are set.
func (c Config) withDefaults() Config {
	c.DatabaseURL = cmp.Or(c.DatabaseURL, DefaultDatabaseURL)
	c.Role = cmp.Or(c.Role, RoleAll)
	c.URLCheckConnectorID = cmp.Or(c.URLCheckConnectorID, delivery.URLCheckConnectorID)
	c.SyncDuration = cmp.Or(c.SyncDuration, DefaultSyncDuration)
	c.DisableAfter = cmp.Or(c.DisableAfter, worker.DefaultDisableAfter)
	c.Sender = cmp.Or(c.Sender, &delivery.Sender{})
	c.MaxWorkers = cmp.Or(c.MaxWorkers, worker.DefaultMaxWorkers)
	c.RescueStuckJobsAfter = cmp.Or(c.RescueStuckJobsAfter, worker.DefaultRescueStuckJobsAfter)
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, DefaultShutdownTimeout)
	c.MaxConnections = cmp.Or(c.MaxConnections, server.DefaultMaxConnections)
	c.RequestReadTimeout = cmp.Or(c.RequestReadTimeout, server.DefaultRequestReadTimeout)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	if c.ManualClock {
		c.FetchPollInterval = cmp.Or(c.FetchPollInterval, manualFetchPollInterval)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// apiConfig derives the API's settings from c, whose defaults are set; clk
// is the manual clock's stepper, nil when the clock is real.
func (c *Config) apiConfig(st store.Store, clk *clock.Stepper) server.APIConfig {
	return server.APIConfig{
		Clock:               clk,
		Store:               st,
		Sender:              c.Sender,
		Now:                 c.Now,
		APIKey:              c.APIKey,
		APISecret:           c.APISecret,
		StrictHTTPS:         c.StrictHTTPS,
		SkipURLCheck:        c.SkipURLCheck,
		URLCheckConnectorID: c.URLCheckConnectorID,
		TimeScale:           c.TimeScale,
		SyncDuration:        c.SyncDuration,
		Logger:              c.Logger,
	}
}

// workerConfig derives the delivery workers' settings from c, whose
// defaults are set.
func (c *Config) workerConfig(st store.Store) worker.Config {
	return worker.Config{
		Store:                st,
		Sender:               c.Sender,
		TimeScale:            c.TimeScale,
		Now:                  c.Now,
		Logger:               c.Logger,
		MaxWorkers:           c.MaxWorkers,
		FetchPollInterval:    c.FetchPollInterval,
		RescueStuckJobsAfter: c.RescueStuckJobsAfter,
		OnAttempt:            c.OnAttempt,
		DisableAfter:         c.DisableAfter,
		ManualClock:          c.ManualClock,
	}
}

// Server is a running standin: store, API and delivery workers.
type Server struct {
	cfg       Config
	store     store.Store
	ownsStore bool
	api       *server.API
	queue     store.Queue
	clock     *clock.Stepper
}

// New opens the store (migrating it unless told not to) and builds the API
// and the delivery workers for cfg.Role. Nothing listens until Serve.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	s := &Server{cfg: c, store: c.Store}
	var err error
	if s.store == nil {
		st, err := backend.Open(ctx, backend.Config{URL: c.DatabaseURL, SkipMigrate: c.SkipMigrate, Logger: c.Logger})
		if err != nil {
			return nil, err
		}
		s.store, s.ownsStore = st, true
		if c.SkipMigrate {
			if err := requireMigrated(ctx, st); err != nil {
				s.Close()
				return nil, err
			}
		}
	}
	if c.ManualClock {
		// One process owns a manual clock: it runs at scale 1 and records
		// nothing for other processes to agree with.
		s.clock = &clock.Stepper{Clock: clock.NewManual(c.Now()), Store: s.store}
		c.Now = s.clock.Clock.Now
		s.cfg.Now = c.Now
		s.cfg.TimeScale = delivery.DefaultTimeScale
	} else if err := s.agreeTimeScale(ctx); err != nil {
		s.Close()
		return nil, err
	}
	c = s.cfg
	if c.Role.api() {
		s.api, err = server.NewAPI(c.apiConfig(s.store, s.clock))
		if err != nil {
			s.Close()
			return nil, err
		}
		if !c.SkipSeed {
			if _, err := simulate.New(simulate.Config{Store: s.api.Store(), Now: c.Now}).Seed(ctx); err != nil {
				s.Close()
				return nil, err
			}
		}
	}
	if c.Role.worker() {
		workStore := s.store
		if s.api != nil {
			workStore = s.api.Store() // attempts reach the inspector's stream
		}
		rc, err := worker.RiverConfig(c.workerConfig(workStore))
		if err != nil {
			s.Close()
			return nil, err
		}
		if s.queue, err = s.store.Queue(rc); err != nil {
			s.Close()
			return nil, fmt.Errorf("build river client: %w", err)
		}
	}
	return s, nil
}

// manualFetchPollInterval is how often idle workers poll under a manual
// clock when not told otherwise: each advance waits for the jobs it
// enqueues, so they should be picked up promptly on both backends.
const manualFetchPollInterval = 10 * time.Millisecond

// Clock returns the manual clock's stepper, or nil when the clock is real.
func (s *Server) Clock() *clock.Stepper { return s.clock }

// TimeScaleMismatchError is New's error when the process was given a time
// scale other than the one its database records: the deployment's, which
// the first process to start recorded and its workers schedule retries with.
type TimeScaleMismatchError struct {
	// Given is the process's Config.TimeScale; Recorded the database's.
	Given, Recorded float64
}

func (e *TimeScaleMismatchError) Error() string {
	return fmt.Sprintf("time scale %g disagrees with %g, the time scale this database records (the first process that started on it set it; every process of one deployment must use the same)",
		e.Given, e.Recorded)
}

// agreeTimeScale makes s.cfg.TimeScale the deployment's: it records the
// given scale when the database records none (or ResetTimeScale is set, or
// the database is an SQLite file, which serves this process alone), adopts
// the recorded one when none was given, and refuses a different one.
func (s *Server) agreeTimeScale(ctx context.Context) error {
	given := s.cfg.TimeScale
	want := cmp.Or(given, delivery.DefaultTimeScale)
	if s.cfg.ResetTimeScale {
		if err := s.store.SettingPut(ctx, store.SettingTimeScale, formatScale(want)); err != nil {
			return fmt.Errorf("record time scale: %w", err)
		}
		s.cfg.TimeScale = want
		return nil
	}
	stored, err := s.store.SettingInit(ctx, store.SettingTimeScale, formatScale(want))
	if err != nil {
		return fmt.Errorf("record time scale: %w", err)
	}
	recorded, err := strconv.ParseFloat(stored, 64)
	if err != nil || delivery.ValidateTimeScale(recorded) != nil {
		return fmt.Errorf("the database records time scale %q, which is not valid: start with a time scale and ResetTimeScale to replace it", stored)
	}
	if given != 0 && given != recorded {
		if s.cfg.Store != nil || backend.Shared(s.cfg.DatabaseURL) {
			return &TimeScaleMismatchError{Given: given, Recorded: recorded}
		}
		// The process is the deployment: the scale it is given is the one.
		if err := s.store.SettingPut(ctx, store.SettingTimeScale, formatScale(given)); err != nil {
			return fmt.Errorf("record time scale: %w", err)
		}
		s.cfg.Logger.Info("time scale changed", slog.Float64("time_scale", given), slog.Float64("was", recorded))
		recorded = given
	}
	s.cfg.TimeScale = recorded
	return nil
}

// formatScale is the stored form of a time scale (store.SettingTimeScale).
func formatScale(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// TimeScale returns the time scale the process runs at: the deployment's
// (see Config.TimeScale).
func (s *Server) TimeScale() float64 { return s.cfg.TimeScale }

// startAttrs are the fields of the StartedMessage line.
func (s *Server) startAttrs(lis Listeners) []any {
	var attrs []any
	if s.cfg.Version != "" {
		attrs = append(attrs, slog.String("version", s.cfg.Version))
	}
	attrs = append(attrs, slog.String("role", string(s.cfg.Role)))
	if s.api != nil && lis.HTTP != nil {
		attrs = append(attrs, slog.String("http", "http://"+lis.HTTP.Addr().String()))
	}
	if s.api != nil && lis.GRPC != nil {
		attrs = append(attrs, slog.String("grpc", lis.GRPC.Addr().String()))
	}
	db := DescribeDatabase(s.cfg.DatabaseURL)
	if s.cfg.Store != nil {
		db = "given store"
	}
	attrs = append(attrs, slog.String("database", db), slog.Float64("time_scale", s.cfg.TimeScale))
	if s.api != nil {
		attrs = append(attrs, slog.Bool("auth", s.cfg.APIKey != ""))
	}
	if s.queue != nil {
		attrs = append(attrs, slog.Int("max_workers", s.cfg.MaxWorkers), slog.String("client_id", s.queue.ID()))
	}
	return attrs
}

// Workers reports whether the process works deliveries (its role).
func (s *Server) Workers() bool { return s.queue != nil }

// Store returns the server's store.
func (s *Server) Store() store.Store { return s.store }

// API returns the API layer, or nil when the role does not serve it.
func (s *Server) API() *server.API { return s.api }

// Listeners are the sockets Serve answers on. Either may be nil to leave that
// protocol off; both are ignored for RoleWorker.
type Listeners struct {
	HTTP net.Listener
	GRPC net.Listener
}

// Serve runs the API on the given listeners and the delivery workers until
// ctx is done, then shuts down gracefully: listeners close first, so no new
// event is accepted; in-flight deliveries get ShutdownTimeout to finish and
// are otherwise cancelled and left for a retry. Serve returns nil after a
// clean shutdown.
func (s *Server) Serve(ctx context.Context, lis Listeners) error {
	log := s.cfg.Logger
	errc := make(chan error, 3)
	var wg sync.WaitGroup

	// Workers first: if they cannot start, nothing is listening yet.
	if s.queue != nil {
		if err := s.queue.Start(context.WithoutCancel(ctx)); err != nil {
			return fmt.Errorf("start workers: %w", err)
		}
		log.Debug("delivery workers started", slog.Float64("time_scale", s.cfg.TimeScale),
			slog.String("client_id", s.queue.ID()))
	}

	var httpSrv *http.Server
	if s.api != nil && lis.HTTP != nil {
		httpSrv = s.api.HTTPServer(s.cfg.MaxConnections, s.cfg.RequestReadTimeout)
		httpLis := server.LimitListener(lis.HTTP, s.cfg.MaxConnections, server.ReserveConnections)
		// Shutdown closes the listeners before it calls this.
		httpSrv.RegisterOnShutdown(func() { log.Info("http api closed: no new requests are accepted") })
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := httpSrv.Serve(httpLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve http: %w", err)
			}
		}()
		log.Debug("http api listening", slog.String("addr", lis.HTTP.Addr().String()))
	}
	if s.api != nil && lis.GRPC != nil {
		g := s.api.GRPCServer()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Serve(server.LimitListener(lis.GRPC, s.cfg.MaxConnections, 0)); err != nil {
				errc <- fmt.Errorf("serve grpc: %w", err)
			}
		}()
		log.Debug("grpc api listening", slog.String("addr", lis.GRPC.Addr().String()))
	}
	log.Info(StartedMessage, s.startAttrs(lis)...)
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	log.Info("shutting down")
	if s.api != nil {
		s.api.SetServing(false)
	}

	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if httpSrv != nil {
		if err := httpSrv.Shutdown(shutdownCtx); err != nil {
			httpSrv.Close()
		}
	}
	if s.api != nil && lis.GRPC != nil {
		stopped := make(chan struct{})
		go func() { s.api.GRPCServer().GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-shutdownCtx.Done():
			s.api.GRPCServer().Stop()
		}
	}
	if s.queue != nil {
		if err := s.queue.Stop(shutdownCtx); err != nil {
			log.Warn("deliveries still in flight at the shutdown deadline; cancelling them for a retry")
			hardCtx, hardCancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := s.queue.StopAndCancel(hardCtx); err != nil {
				log.Error("workers did not stop", slog.String("error", err.Error()))
			}
			hardCancel()
		}
	}
	wg.Wait()
	return serveErr
}

// Close releases the store when the Server opened it.
func (s *Server) Close() error {
	if s.ownsStore && s.store != nil {
		return s.store.Close()
	}
	return nil
}
