// Package sqlite is standin's embedded store: store.Store on SQLite through
// the pure-Go modernc.org/sqlite driver, with River's riversqlite driver on
// the same database so that a delivery row and its River job commit together.
//
// The store uses a single connection (database/sql pool of one), as River's
// SQLite driver recommends: SQLite runs one writer at a time anyway, and a
// single connection means concurrent callers queue inside the pool instead
// of failing with SQLITE_BUSY. It also lets ":memory:" work, since an
// in-memory database lives exactly as long as its one connection. The
// connection runs in WAL mode with synchronous=NORMAL (file databases: a
// power loss may drop the last commits but never corrupts the file), with
// foreign keys on, a busy timeout for other processes that open the same
// file, and transactions that begin IMMEDIATE so that a second process
// waits for the write lock instead of failing mid-transaction.
//
// Times are stored as INTEGER microseconds since the Unix epoch (UTC), the
// precision PostgreSQL keeps too; durations as INTEGER nanoseconds.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlq"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// MemoryPath is the Config.Path of a private in-memory database.
const MemoryPath = ":memory:"

// DefaultPath is the database file used when Config.Path is empty.
const DefaultPath = "standin.db"

// FetchPollInterval is how often a River client built by Queue polls for
// jobs unless its config says otherwise. SQLite has no LISTEN/NOTIFY, so a
// new delivery waits for the next poll (River adds up to 10 ms of jitter to
// the interval); a poll that finds nothing is one cheap indexed query on the
// local file.
const FetchPollInterval = 10 * time.Millisecond

// busyTimeout is how long a statement waits for another process's lock on
// the file before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// Config configures Open.
type Config struct {
	// Path is the database file, created if missing, or MemoryPath
	// (":memory:") for an in-memory database that lives until Close.
	// Defaults to DefaultPath ("standin.db") in the working directory.
	Path string

	// SkipMigrate skips applying pending migrations on Open. Defaults to
	// false: Open migrates standin's and River's schema.
	SkipMigrate bool

	// Logger receives migration and River logs. Defaults to slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// tables embeds the shared statements in Store without exporting them as a
// field: their methods are Store's.
type tables = sqlq.Tables

// Store is store.Store on SQLite. Create it with Open; it is safe for
// concurrent use.
type Store struct {
	tables // the statements SQLite shares with PostgreSQL, on db

	db         *sql.DB
	path       string
	logger     *slog.Logger
	inserter   *river.Client[*sql.Tx] // insert-only: no queues, never started
	migrations sqlq.Migrations
	lock       *os.File // held while this store is the file's only user; see orphans.go
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the SQLite database of cfg and, unless
// cfg.SkipMigrate, applies pending migrations.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()

	connector, err := sqlite.NewConnector(dsn(cfg.Path))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
	}
	// Keep statements prepared: see stmtcache.go.
	db := sql.OpenDB(cachingConnector{connector})
	// One connection: see the package documentation. Never recycle it, or
	// an in-memory database would vanish with it.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)

	s, err := newStore(db, cfg)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
	}
	if !cfg.SkipMigrate {
		if err := s.Migrate(ctx); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	if cfg.Path != MemoryPath {
		s.lock = s.releaseOrphans(ctx)
	}
	return s, nil
}

func newStore(db *sql.DB, cfg Config) (*Store, error) {
	inserter, err := river.NewClient(riversqlite.New(db), &river.Config{Logger: store.LibraryLogger(cfg.Logger)})
	if err != nil {
		return nil, fmt.Errorf("create river insert client: %w", err)
	}
	migrations, err := fs.Sub(migrationsFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("open migrations: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectSQLite3, db, migrations,
		goose.WithTableName(sqlq.GooseTable),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(store.LibraryLogger(cfg.Logger)),
	)
	if err != nil {
		return nil, fmt.Errorf("create migration provider: %w", err)
	}
	migrator, err := rivermigrate.New(riversqlite.New(db), &rivermigrate.Config{Logger: store.LibraryLogger(cfg.Logger)})
	if err != nil {
		return nil, fmt.Errorf("create river migrator: %w", err)
	}
	st := &Store{
		tables:   sqlq.Tables{D: dialect, Q: conn{db}},
		db:       db,
		path:     cfg.Path,
		logger:   cfg.Logger,
		inserter: inserter,
		migrations: sqlq.Migrations{
			Goose:       provider,
			River:       migrator,
			TableExists: `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?`,
			// River's SQLite created_at is text: to the second.
			RiverAt: "coalesce(unixepoch(created_at), 0) * 1000000",
		},
	}
	st.tables.WithEvents = st.withEvents
	return st, nil
}

// dsn returns the modernc.org/sqlite data source name of path: a file: URI
// (so that any character in the path is safe) with the connection's pragmas.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)") // an in-memory database keeps "memory"
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	if path == MemoryPath {
		return "file::memory:?" + q.Encode()
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs // a relative path would read as a URI authority
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// Close closes the database. Clients returned by Queue must be stopped
// first.
func (s *Store) Close() error {
	if s.lock != nil {
		defer s.lock.Close() // releases the lock
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close sqlite %s: %w", s.path, err)
	}
	return nil
}

// Queue returns a River client on this database with a copy of config whose
// Logger, when nil, is the store's. On SQLite River polls for jobs (there is
// no LISTEN/NOTIFY), so config.FetchPollInterval bounds how soon a new
// delivery is picked up; when zero it is FetchPollInterval (10 ms), or the
// fetch cooldown if that is longer.
func (s *Store) Queue(config *river.Config) (store.Queue, error) {
	var cfg river.Config
	if config != nil {
		cfg = *config
	}
	if cfg.Logger == nil {
		cfg.Logger = store.LibraryLogger(s.logger)
	}
	if cfg.FetchPollInterval == 0 {
		// River requires it to be at least the fetch cooldown.
		cfg.FetchPollInterval = max(FetchPollInterval, cmp.Or(cfg.FetchCooldown, river.FetchCooldownDefault))
	}
	client, err := river.NewClient(riversqlite.New(s.db), &cfg)
	if err != nil {
		return nil, fmt.Errorf("create river client: %w", err)
	}
	return client, nil
}

// Migrate applies standin's pending migrations, then River's.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrations.Up(ctx)
}

// MigrationStatus lists standin's migrations, then River's. It only reads:
// on a database standin never migrated, every migration is pending.
func (s *Store) MigrationStatus(ctx context.Context) ([]store.MigrationStatus, error) {
	return s.migrations.Status(ctx, s.tables.Q)
}

// mapErr turns SQLite's constraint violations into store sentinels.
func mapErr(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// rollback ends tx when it was not committed.
func rollback(tx *sql.Tx) { _ = tx.Rollback() }
