package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// database hands out a fresh, empty database per scenario, so scenarios do
// not see each other's rows or jobs, and removes it afterwards.
type database interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// Fresh creates an empty database and returns its URL and a cleanup.
	Fresh(ctx context.Context, label string) (dbURL string, cleanup func(), err error)
}

// sqliteDB makes a new SQLite file per scenario in a temporary directory.
type sqliteDB struct{ dir string }

func (sqliteDB) Name() string { return "sqlite" }

func (d sqliteDB) Fresh(_ context.Context, label string) (string, func(), error) {
	dir, err := os.MkdirTemp(d.dir, "sqlite-"+label+"-")
	if err != nil {
		return "", nil, err
	}
	return filepath.Join(dir, "standin.db"), func() { _ = os.RemoveAll(dir) }, nil
}

// postgresDB makes a new database per scenario on the server of base
// (CREATE DATABASE, so the role needs CREATEDB) and drops it afterwards.
type postgresDB struct {
	base string
	seq  int
}

func (*postgresDB) Name() string { return "postgres" }

// local reports whether the server runs on this machine (a loopback host or
// a Unix socket), so that its processes' CPU time can be read.
func (d *postgresDB) local() bool {
	u, err := url.Parse(d.base)
	if err != nil {
		return false
	}
	switch h := u.Hostname(); h {
	case "", "localhost", "127.0.0.1", "::1":
		return true
	default:
		return strings.HasPrefix(h, "/")
	}
}

func (d *postgresDB) Fresh(ctx context.Context, label string) (string, func(), error) {
	u, err := url.Parse(d.base)
	if err != nil {
		return "", nil, fmt.Errorf("parse --database-url: %w", err)
	}
	d.seq++
	name := fmt.Sprintf("standin_bench_%d_%d_%s", os.Getpid(), d.seq, strings.ReplaceAll(label, "-", "_"))
	if err := d.admin(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u.Path = "/" + name
	cleanup := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.admin(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			fmt.Fprintf(os.Stderr, "standin-bench: drop database %s: %v\n", name, err)
		}
	}
	return u.String(), cleanup, nil
}

func (d *postgresDB) admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, withoutPoolParams(d.base))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// withoutPoolParams drops pgxpool's own query parameters (pool_max_conns,
// ...), which a single connection would send to the server as settings.
func withoutPoolParams(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
