// Package backend opens the store a database URL names: SQLite (the embedded
// default) or PostgreSQL. It is the one place that chooses between
// store/sqlite and store/postgres, so callers deal only in store.Store.
//
// Accepted URLs:
//
//	""                          SQLite file ./standin.db
//	sqlite:///abs/path/x.db     SQLite file at an absolute path
//	sqlite://relative/x.db      SQLite file relative to the working directory
//	sqlite://:memory:           SQLite in memory, gone on Close
//	/abs/path/x.db, x.db, ...   a bare path: an SQLite file
//	postgres://… postgresql://… PostgreSQL
package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/postgres"
	"github.com/standin-dev/standin/store/sqlite"
)

// DefaultURL is the database used when Config.URL is empty.
const DefaultURL = "./standin.db"

// Config configures Open.
type Config struct {
	// URL names the database; see the package documentation. Defaults to
	// DefaultURL, an SQLite file in the working directory.
	URL string

	// SkipMigrate skips applying pending migrations on Open. Defaults to
	// false: Open migrates standin's and River's schema.
	SkipMigrate bool

	// Logger receives migration and River logs. Defaults to slog.Default().
	Logger *slog.Logger
}

// Open opens the store cfg.URL names.
func Open(ctx context.Context, cfg Config) (store.Store, error) {
	t, err := parse(cfg.URL)
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case kindPostgres:
		s, err := postgres.Open(ctx, postgres.Config{URL: cfg.URL, SkipMigrate: cfg.SkipMigrate, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		return s, nil
	default:
		s, err := sqlite.Open(ctx, sqlite.Config{Path: t.path, SkipMigrate: cfg.SkipMigrate, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// Shared reports whether the database rawURL names is one several standin
// processes share at once (PostgreSQL); an SQLite file serves one process.
func Shared(rawURL string) bool {
	t, err := parse(rawURL)
	return err == nil && t.kind == kindPostgres
}

// Describe returns a form of a database URL fit for logs: passwords (in the
// user info or a password query parameter) are replaced by "xxxxx", and an
// SQLite URL is shown as "sqlite:" and its path. A URL Open would reject is
// described without repeating it, since it may hold a secret.
func Describe(rawURL string) string {
	t, err := parse(rawURL)
	if err != nil {
		return "invalid database URL"
	}
	if t.kind == kindSQLite {
		return "sqlite:" + t.path
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "postgres (unparsable URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

type kind int

const (
	kindSQLite kind = iota
	kindPostgres
)

type target struct {
	kind kind
	path string // SQLite only
}

// schemeRE matches a URL scheme of two or more characters, so that a
// Windows drive letter ("C:\x.db") still reads as a bare path.
var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]+):`)

var errEmptySQLitePath = errors.New("sqlite URL has no path")

func parse(raw string) (target, error) {
	if raw == "" {
		raw = DefaultURL
	}
	if raw == sqlite.MemoryPath {
		return target{kind: kindSQLite, path: sqlite.MemoryPath}, nil
	}
	m := schemeRE.FindStringSubmatch(raw)
	if m == nil {
		return target{kind: kindSQLite, path: raw}, nil
	}
	switch strings.ToLower(m[1]) {
	case "postgres", "postgresql":
		return target{kind: kindPostgres}, nil
	case "sqlite", "sqlite3":
		rest, ok := strings.CutPrefix(raw[len(m[0]):], "//")
		if !ok {
			return target{}, fmt.Errorf("sqlite URL %q: want sqlite:///abs/path, sqlite://rel/path, or sqlite://:memory: for an in-memory database", raw)
		}
		if strings.ContainsAny(rest, "?#") {
			return target{}, fmt.Errorf("sqlite URL %q: query parameters and fragments are not supported", raw)
		}
		if rest == "" {
			return target{}, fmt.Errorf("sqlite URL %q: %w", raw, errEmptySQLitePath)
		}
		path, err := url.PathUnescape(rest)
		if err != nil {
			return target{}, fmt.Errorf("sqlite URL %q: %w", raw, err)
		}
		return target{kind: kindSQLite, path: path}, nil
	default:
		return target{}, fmt.Errorf("database URL scheme %q is not supported: use sqlite://path, a file path, or postgres://", m[1])
	}
}
