package sqlite

import (
	"context"
	"log/slog"
	"os"
)

// A SQLite file is normally used by one standin process. When that process
// dies without stopping (SIGKILL, a crash, a power cut), the deliveries it
// was sending stay "running" in River, and River's rescuer only takes them
// back after the leader lease of the dead process has run out and the job
// timeout has passed: a minute or more. To resume them at once, Open takes
// an exclusive lock on a companion file (the database path plus ".lock"),
// held until Close. A process that gets the lock is the only standin on the
// file, so every running job is an orphan of a dead process, and Open makes
// them available again. A process that does not get the lock (another
// standin has the file open) leaves them to River's rescuer, as on
// PostgreSQL. Either way the delivery runs again: at-least-once.

// lockSuffix is appended to the database path to name the lock file.
const lockSuffix = ".lock"

// lockExclusive tries to take an exclusive, non-blocking lock on path
// (created if missing). It returns the locked file, or nil when another
// process holds the lock or locks are not supported here.
func lockExclusive(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	ok, err := tryLock(f)
	if err != nil || !ok {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// releaseOrphans locks the companion file and, when this is the only
// process using the database, makes the River jobs left running by a dead
// process available now. It returns the lock file to hold until Close (nil
// when not locked).
func (s *Store) releaseOrphans(ctx context.Context) *os.File {
	lock, err := lockExclusive(s.path + lockSuffix)
	if err != nil {
		s.logger.WarnContext(ctx, "sqlite: cannot lock the database; deliveries left in flight by a stopped process resume after River's rescue delay",
			slog.String("lock", s.path+lockSuffix), slog.String("error", err.Error()))
		return nil
	}
	if lock == nil {
		return nil // another process has the file open
	}
	var migrated bool
	if err := s.db.QueryRowContext(ctx,
		`SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'river_job'`).Scan(&migrated); err != nil || !migrated {
		return lock // not migrated yet: nothing can be in flight
	}
	res, err := s.db.ExecContext(ctx,
		`UPDATE river_job SET state = 'available', scheduled_at = datetime('now', 'subsec') WHERE state = 'running'`)
	if err != nil {
		s.logger.WarnContext(ctx, "sqlite: cannot release deliveries left in flight by a stopped process", slog.String("error", err.Error()))
		return lock
	}
	if n, _ := res.RowsAffected(); n > 0 {
		s.logger.InfoContext(ctx, "sqlite: resuming deliveries left in flight by a stopped process", slog.Int64("jobs", n))
	}
	return lock
}
