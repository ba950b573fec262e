// Package postgres is standin's shared store: store.Store on PostgreSQL
// through a pgx/v5 pool, with River's riverpgxv5 driver on the same pool so
// that a delivery row and its River job commit together, and so that several
// standin processes can share one database and its work.
//
// Config.Schema, when set, puts standin's tables and River's in that schema
// (created by Migrate if missing): the pool's search_path is set to it and
// River clients get it as their Schema. Times are timestamptz (microsecond
// precision, read back in UTC); durations are bigint nanoseconds.
package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlq"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// schemaRE is what Config.Schema may look like: an identifier that needs no
// quoting and that River accepts (River also limits its length).
var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Config configures Open.
type Config struct {
	// URL is the connection string, "postgres://user:pass@host:port/db?...".
	// Required.
	URL string

	// Schema, when set, is the schema that holds standin's tables and
	// River's; Migrate creates it if missing. Lower-case letters, digits and
	// underscores only. Defaults to empty: the connection's default
	// search_path (usually "public").
	Schema string

	// SkipMigrate skips applying pending migrations on Open. Defaults to
	// false: Open migrates standin's and River's schema.
	SkipMigrate bool

	// Logger receives migration and River logs. Defaults to slog.Default().
	Logger *slog.Logger

	// MaxConns is the pool size, shared by the store and every River client
	// built by Queue. Defaults to pool_max_conns from the URL if given, else
	// DefaultMaxConns. Must be at least 2.
	MaxConns int32
}

// DefaultMaxConns is the pool size when neither Config.MaxConns nor the
// URL's pool_max_conns sets one. Every delivery attempt holds a connection
// for a few queries and one commit, so a pool far smaller than the workers
// (200 by default) keeps most of them waiting: on 2 CPUs, 16 delivered about
// twice as many per second as pgxpool's default of 4, at less CPU per
// delivery (cmd/standin-bench, drain and throughput scenarios), and leaves
// room for several processes under PostgreSQL's default max_connections of
// 100.
const DefaultMaxConns = 16

// fetchPollInterval is how often a River client built by Queue polls for
// jobs unless its config says otherwise: only a fallback to LISTEN/NOTIFY.
const fetchPollInterval = 50 * time.Millisecond

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	if c.URL == "" {
		return errors.New("postgres config: URL is empty")
	}
	if c.Schema != "" && !schemaRE.MatchString(c.Schema) {
		return fmt.Errorf("postgres config: Schema %q must match %s", c.Schema, schemaRE)
	}
	if c.MaxConns < 0 || c.MaxConns == 1 {
		// Migrate holds a lock on one connection while it migrates on another.
		return fmt.Errorf("postgres config: MaxConns %d must be 0 (default) or at least 2", c.MaxConns)
	}
	return nil
}

// tables embeds the shared statements in Store without exporting them as a
// field: their methods are Store's.
type tables = sqlq.Tables

// Store is store.Store on PostgreSQL. Create it with Open; it is safe for
// concurrent use.
type Store struct {
	tables // the statements PostgreSQL shares with SQLite, on pool

	pool       *pgxpool.Pool
	sqlDB      *sql.DB // the pool seen through database/sql, for goose
	schema     string
	logger     *slog.Logger
	inserter   *river.Client[pgx.Tx] // insert-only: no queues, never started
	migrations sqlq.Migrations
	notifier   *jobNotifier // wakes the workers after jobs commit (notify.go)
}

var _ store.Store = (*Store)(nil)

// Open connects to the database of cfg and, unless cfg.SkipMigrate, applies
// pending migrations.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// pgconn redacts the password in the connection string it quotes.
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	switch {
	case cfg.MaxConns > 0:
		pcfg.MaxConns = cfg.MaxConns
	case !strings.Contains(cfg.URL, "pool_max_conns"):
		pcfg.MaxConns = DefaultMaxConns
	}
	params := pcfg.ConnConfig.RuntimeParams
	params["timezone"] = "UTC"
	if _, ok := params["random_page_cost"]; !ok {
		// standin's rows are hot in cache: index lookups cost about what
		// sequential reads do. With PostgreSQL's default of 4, the batched
		// reads and writes of the worker (a join of a few hundred ids with
		// the delivery table) were planned as a hash join over a sequential
		// scan of the whole table, 10 times slower than index lookups at
		// 20,000 deliveries and growing with the table. A URL's
		// random_page_cost parameter still wins.
		params["random_page_cost"] = "1.1"
	}
	if cfg.Schema != "" {
		params["search_path"] = cfg.Schema
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	s, err := newStore(pool, cfg)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if !cfg.SkipMigrate {
		if err := s.Migrate(ctx); err != nil {
			_ = s.Close()
			return nil, err
		}
	}
	return s, nil
}

func newStore(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	inserter, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: store.LibraryLogger(cfg.Logger), Schema: cfg.Schema})
	if err != nil {
		return nil, fmt.Errorf("create river insert client: %w", err)
	}
	migrations, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("open migrations: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations,
		goose.WithTableName(sqlq.GooseTable),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(store.LibraryLogger(cfg.Logger)),
	)
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("create migration provider: %w", err)
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: store.LibraryLogger(cfg.Logger), Schema: cfg.Schema})
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("create river migrator: %w", err)
	}
	st := &Store{
		tables:   sqlq.Tables{D: dialect, Q: conn{pool}},
		pool:     pool,
		sqlDB:    sqlDB,
		schema:   cfg.Schema,
		logger:   cfg.Logger,
		inserter: inserter,
		migrations: sqlq.Migrations{
			Goose:       provider,
			River:       migrator,
			TableExists: `SELECT to_regclass($1) IS NOT NULL`,
			RiverAt:     "created_at",
		},
		notifier: startJobNotifier(pool, cfg.Schema, cfg.Logger),
	}
	st.tables.WithEvents = st.withEvents
	return st, nil
}

// Close closes the pool. Clients returned by Queue must be stopped first.
func (s *Store) Close() error {
	s.notifier.stop()
	err := s.sqlDB.Close()
	s.pool.Close()
	if err != nil {
		return fmt.Errorf("close postgres: %w", err)
	}
	return nil
}

// Queue returns a River client on this database with a copy of config whose
// Schema, when empty, is the store's and whose Logger, when nil, is the
// store's. While started, the client also watches for jobs left running by
// a dead process and gets River's rescuer to take them over as soon as they
// have run for config.RescueStuckJobsAfter, instead of at its next 30 s tick
// (see rescue.go); a zero RescueStuckJobsAfter leaves River's defaults. A
// zero config.FetchPollInterval is 50 ms, or the fetch cooldown if that is
// longer.
func (s *Store) Queue(config *river.Config) (store.Queue, error) {
	var cfg river.Config
	if config != nil {
		cfg = *config
	}
	if cfg.FetchPollInterval == 0 {
		// River requires it to be at least the fetch cooldown.
		cfg.FetchPollInterval = max(fetchPollInterval, cmp.Or(cfg.FetchCooldown, river.FetchCooldownDefault))
	}
	if cfg.Schema == "" {
		cfg.Schema = s.schema
	}
	if cfg.Logger == nil {
		cfg.Logger = store.LibraryLogger(s.logger)
	}
	client, err := river.NewClient(riverpgxv5.New(s.pool), &cfg)
	if err != nil {
		return nil, fmt.Errorf("create river client: %w", err)
	}
	// The queue's own lines (the rescue watch) are standin's, not River's.
	return &queue{Client: client, rescueAfter: cfg.RescueStuckJobsAfter, logger: s.logger}, nil
}

// Migrate creates the schema if missing and applies standin's pending
// migrations, then River's, holding a session advisory lock (one per schema)
// so that processes starting together migrate one at a time.
func (s *Store) Migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	lockKey := "standin_migrate:" + s.schema
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext($1))`, lockKey); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext($1))`, lockKey)
	}()
	if s.schema != "" {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{s.schema}.Sanitize()); err != nil {
			return fmt.Errorf("migrate: create schema %s: %w", s.schema, err)
		}
	}
	return s.migrations.Up(ctx)
}

// MigrationStatus lists standin's migrations, then River's. It only reads:
// on a database standin never migrated, every migration is pending.
func (s *Store) MigrationStatus(ctx context.Context) ([]store.MigrationStatus, error) {
	return s.migrations.Status(ctx, s.tables.Q)
}

// mapErr turns a unique violation into store.ErrConflict and no rows into
// store.ErrNotFound.
func mapErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// rollback ends tx when it was not committed, even if ctx is done.
func rollback(ctx context.Context, tx pgx.Tx) { _ = tx.Rollback(context.WithoutCancel(ctx)) }
