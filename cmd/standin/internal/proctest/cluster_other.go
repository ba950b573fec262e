//go:build !unix

package proctest

import "testing"

// Postgres is a private PostgreSQL server for one test; see the Unix
// implementation.
type Postgres struct {
	// URL is the server's "postgres" database as superuser postgres.
	URL string
}

// StartPostgres skips the test (fails it under CI=true): private servers
// are only implemented on Unix.
func StartPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	skipOrFail(tb, "a private PostgreSQL server needs Unix")
	return nil
}

// NewDatabase is not reached: StartPostgres skips.
func (p *Postgres) NewDatabase(tb testing.TB) string { tb.Helper(); return "" }

// Stop is not reached: StartPostgres skips.
func (p *Postgres) Stop(tb testing.TB) { tb.Helper() }

// Start is not reached: StartPostgres skips.
func (p *Postgres) Start(tb testing.TB) { tb.Helper() }
