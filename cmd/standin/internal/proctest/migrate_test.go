package proctest_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, to inspect SQLite files

	"github.com/standin-dev/standin/cmd/standin/internal/proctest"
)

// backend is an empty database of one kind and a way to count its tables.
type backend struct {
	name string
	// open returns the URL of a new, empty database.
	open func(t *testing.T) string
	// tables counts the tables in the database at url.
	tables func(t *testing.T, url string) int
}

var backends = []backend{
	{
		name: "sqlite",
		open: func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "standin.db") },
		tables: func(t *testing.T, url string) int {
			t.Helper()
			db, err := sql.Open("sqlite", strings.TrimPrefix(url, "sqlite://"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		},
	},
	{
		name: "postgres",
		open: func(t *testing.T) string { return proctest.NewDatabase(t) },
		tables: func(t *testing.T, url string) int {
			t.Helper()
			var n int
			err := proctest.Connect(t, url).QueryRow(t.Context(),
				`SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`).Scan(&n)
			if err != nil {
				t.Fatal(err)
			}
			return n
		},
	},
}

// migration is one row of `standin migrate status`.
type migration struct {
	component, version, name, applied string
}

// migrateStatus runs `standin migrate status` and parses its table and its
// "N pending" line.
func migrateStatus(t *testing.T, url string) (rows []migration, pending int) {
	t.Helper()
	res := proctest.Run(t, "migrate", "status", "--database-url", url)
	if res.Code != 0 {
		t.Fatalf("migrate status: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "COMPONENT") {
		t.Fatalf("migrate status: unexpected output:\n%s", res.Stdout)
	}
	last, ok := strings.CutSuffix(lines[len(lines)-1], " pending")
	pending, err := strconv.Atoi(last)
	if !ok || err != nil {
		t.Fatalf("migrate status: no \"N pending\" line:\n%s", res.Stdout)
	}
	for _, l := range lines[1 : len(lines)-1] {
		f := strings.Fields(l)
		if len(f) < 4 {
			t.Fatalf("migrate status: short row %q", l)
		}
		rows = append(rows, migration{f[0], f[1], strings.Join(f[2:len(f)-1], " "), f[len(f)-1]})
	}
	return rows, pending
}

// TestMigrate runs `standin migrate status` and `migrate up` on an empty
// database of each backend: status lists every migration as pending and
// creates nothing; up applies them all, and again changes nothing; after
// it, serve --skip-migrate starts and stops cleanly.
func TestMigrate(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			url := b.open(t)

			before, pending := migrateStatus(t, url)
			if pending != len(before) {
				t.Errorf("empty database: %d pending of %d migrations, want all", pending, len(before))
			}
			components := map[string]bool{}
			for _, m := range before {
				components[m.component] = true
				if m.applied != "pending" {
					t.Errorf("empty database: %+v is not pending", m)
				}
			}
			if !components["standin"] || !components["river"] {
				t.Errorf("migrate status lists components %v, want standin and river", components)
			}
			if n := b.tables(t, url); n != 0 {
				t.Errorf("migrate status created %d tables, want none", n)
			}

			for range 2 { // the second run has nothing to do
				res := proctest.Run(t, "migrate", "up", "--database-url", url)
				if res.Code != 0 || !strings.HasPrefix(res.Stdout, "migrated ") {
					t.Fatalf("migrate up: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
				}
			}
			after, pending := migrateStatus(t, url)
			if pending != 0 || len(after) != len(before) {
				t.Errorf("after migrate up: %d pending of %d migrations, want 0 of %d", pending, len(after), len(before))
			}
			for _, m := range after {
				if _, err := time.Parse(time.RFC3339, m.applied); err != nil {
					t.Errorf("after migrate up: %+v has no applied time", m)
				}
			}
			if n := b.tables(t, url); n == 0 {
				t.Error("migrate up created no tables")
			}

			s := serve(t, "api", url, "api", "--skip-migrate")
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			if code, err := s.Stop(ctx); err != nil || code != 0 {
				t.Fatalf("serve --skip-migrate on a migrated database: exit %d, %v", code, err)
			}
		})
	}
}

// TestServeMigratesOnStart starts `standin serve` on an empty database of
// each backend: with --skip-migrate it refuses to start, says why and what
// to run, and leaves the database empty; without, it migrates and serves.
func TestServeMigratesOnStart(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			url := b.open(t)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()

			// Role api: a process that would otherwise start and answer every
			// call with a missing-table error.
			p := proctest.Start(t, "skip-migrate", "serve", "--skip-migrate", "--role", "api",
				"--database-url", url, "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0")
			code, err := p.Wait(ctx)
			if err != nil {
				t.Fatalf("serve --skip-migrate on an empty database is still running: %v", err)
			}
			out := p.Output()
			if code == 0 {
				t.Errorf("serve --skip-migrate on an empty database exited 0")
			}
			for _, want := range []string{"database is not migrated", "pending", `"standin migrate up"`} {
				if !strings.Contains(out, want) {
					t.Errorf("serve --skip-migrate output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "listening") {
				t.Errorf("serve --skip-migrate listened before failing:\n%s", out)
			}
			if n := b.tables(t, url); n != 0 {
				t.Errorf("serve --skip-migrate created %d tables, want none", n)
			}

			serve(t, "serve", url, "all")
			if _, pending := migrateStatus(t, url); pending != 0 {
				t.Errorf("after serve: %d migrations pending, want 0", pending)
			}
		})
	}
}
