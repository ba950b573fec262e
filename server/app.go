package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server/clock"
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

// Config configures a whole standin process. It is the one composition root:
// the standin binary and testkit both build a Server from it.
type Config struct {
	// DatabaseURL selects the backend: a SQLite path or sqlite:// URL, or a
	// postgres:// URL. Defaults to ./standin.db (embedded SQLite).
	DatabaseURL string
	// Store, when set, is used instead of opening DatabaseURL. The Server
	// does not close it.
	Store store.Store
	// SkipMigrate leaves the database schema alone at start; New then
	// fails with a *NotMigratedError when a migration is pending. Defaults
	// to false: migrations run on start.
	SkipMigrate bool
	// Role is what this process does. Defaults to RoleAll.
	Role Role
	// APIKey and APISecret enable HTTP Basic (and gRPC) authentication when
	// both are set. Defaults to empty: authentication off.
	APIKey, APISecret string
	// TimeScale is emulated seconds per real second for retry schedules and
	// simulated syncs. Defaults to 1.
	TimeScale float64
	// StrictHTTPS refuses webhook URLs that are not https://, as Fivetran
	// does. Defaults to false: http:// is allowed for local receivers.
	StrictHTTPS bool
	// SkipURLCheck turns off the test_event POST made when a webhook is
	// created active or activated. Defaults to false: the check runs.
	SkipURLCheck bool
	// SyncDuration is how long, in emulated time, a simulated sync or
	// Portable flow run lasts when the caller does not say. Defaults to
	// DefaultSyncDuration (5 minutes).
	SyncDuration time.Duration
	// SkipSeed leaves an empty registry empty at start. Defaults to false:
	// SeedGroups and SeedConnections are registered when there is no group.
	SkipSeed bool
	// DisableAfter is how long, in emulated time, a Fivetran webhook may
	// fail every delivery before it is deactivated. Defaults to the worker
	// package's default (3 days, as Fivetran); negative never deactivates.
	DisableAfter time.Duration
	// Sender makes every outgoing request (deliveries, URL checks, test
	// calls). Defaults to a zero delivery.Sender: 10 s timeout, redirects not
	// followed.
	Sender *delivery.Sender
	// MaxWorkers bounds concurrent deliveries in this process. Defaults to
	// the worker package's default.
	MaxWorkers int
	// FetchPollInterval is how often idle workers poll for due deliveries.
	// Defaults to the worker package's default (the store's choice: 10 ms
	// on SQLite, 50 ms on PostgreSQL).
	FetchPollInterval time.Duration
	// RescueStuckJobsAfter is how long a delivery may stay in flight before
	// another process takes it over (its process presumed dead). Defaults to
	// the worker package's default (1 minute).
	RescueStuckJobsAfter time.Duration
	// OnAttempt, when set, is called after every recorded delivery attempt
	// in this process with the delivery id and its new state. It must not
	// block. Defaults to nil.
	OnAttempt func(deliveryID, state string)
	// ShutdownTimeout bounds a graceful shutdown: in-flight deliveries get
	// this long to finish before they are cancelled and left for a retry.
	// Defaults to 15 s.
	ShutdownTimeout time.Duration
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
}

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.Role == "" {
		out.Role = RoleAll
	}
	if !out.Role.api() && !out.Role.worker() {
		return out, fmt.Errorf("config: Role %q is not one of all, api, worker", out.Role)
	}
	timeline, err := delivery.NewTimeline(out.TimeScale)
	if err != nil {
		return out, fmt.Errorf("config: %w", err)
	}
	out.TimeScale = timeline.Scale
	if out.Sender == nil {
		out.Sender = &delivery.Sender{}
	}
	if out.ShutdownTimeout <= 0 {
		out.ShutdownTimeout = 15 * time.Second
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	if out.ManualClock {
		if out.TimeScale != delivery.DefaultTimeScale {
			return out, fmt.Errorf("config: ManualClock moves time only when told; TimeScale %v would contradict it (leave it at 1)", out.TimeScale)
		}
		if out.Role != RoleAll {
			return out, fmt.Errorf("config: ManualClock needs Role %q: the clock lives in one process, which must serve the API and work deliveries", RoleAll)
		}
	}
	return out, nil
}

// Server is a running standin: store, API and delivery workers.
type Server struct {
	cfg       Config
	store     store.Store
	ownsStore bool
	api       *API
	queue     store.Queue
	clock     *clock.Stepper
}

// New opens the store (migrating it unless told not to) and builds the API
// and the delivery workers for cfg.Role. Nothing listens until Serve.
func New(ctx context.Context, cfg Config) (*Server, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: c, store: c.Store}
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
		s.clock = &clock.Stepper{Clock: clock.NewManual(c.Now()), Store: s.store}
		c.Now = s.clock.Clock.Now
		s.cfg.Now = c.Now
		if c.FetchPollInterval <= 0 {
			c.FetchPollInterval = manualFetchPollInterval
		}
	}
	if c.Role.api() {
		s.api, err = NewAPI(APIConfig{
			Clock:        s.clock,
			Store:        s.store,
			Sender:       c.Sender,
			Now:          c.Now,
			APIKey:       c.APIKey,
			APISecret:    c.APISecret,
			StrictHTTPS:  c.StrictHTTPS,
			SkipURLCheck: c.SkipURLCheck,
			TimeScale:    c.TimeScale,
			SyncDuration: c.SyncDuration,
			Logger:       c.Logger,
		})
		if err != nil {
			s.Close()
			return nil, err
		}
		if !c.SkipSeed {
			if _, err := s.api.Seed(ctx); err != nil {
				s.Close()
				return nil, err
			}
		}
	}
	if c.Role.worker() {
		rc, err := worker.RiverConfig(worker.Config{
			Store:                s.store,
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
		})
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

// Store returns the server's store.
func (s *Server) Store() store.Store { return s.store }

// API returns the API layer, or nil when the role does not serve it.
func (s *Server) API() *API { return s.api }

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
		log.Info("delivery workers started", slog.Float64("time_scale", s.cfg.TimeScale),
			slog.String("client_id", s.queue.ID()))
	}

	var httpSrv *http.Server
	if s.api != nil && lis.HTTP != nil {
		httpSrv = &http.Server{Handler: s.api.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second}
		// Shutdown closes the listeners before it calls this.
		httpSrv.RegisterOnShutdown(func() { log.Info("http api closed: no new requests are accepted") })
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := httpSrv.Serve(lis.HTTP); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve http: %w", err)
			}
		}()
		log.Info("http api listening", slog.String("addr", lis.HTTP.Addr().String()))
	}
	if s.api != nil && lis.GRPC != nil {
		g := s.api.GRPCServer()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Serve(lis.GRPC); err != nil {
				errc <- fmt.Errorf("serve grpc: %w", err)
			}
		}()
		log.Info("grpc api listening", slog.String("addr", lis.GRPC.Addr().String()))
	}
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
