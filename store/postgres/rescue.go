package postgres

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// River's rescuer, which puts back jobs left running by a dead process,
// runs only on the elected leader: once when a client gains leadership,
// then every 30 s, an interval River v0.31 does not let us configure. A job
// stuck for RescueStuckJobsAfter could therefore wait up to 30 s more. The
// queue's rescue watch closes that gap with River's public API: every
// started client looks for a job running for longer than
// RescueStuckJobsAfter (Client.JobList), and when it finds one asks the
// leader to resign (Client.Notify().RequestResign). The client elected next,
// possibly the same one, starts its maintenance services afresh, and their
// rescuer runs at once. A dead leader cannot resign: its leadership lapses
// (within about 15 s in River v0.31) and the next leader rescues as it is
// elected. Processes sharing a database should use one RescueStuckJobsAfter,
// since the leader's decides.
const (
	// rescueCheckMin and rescueCheckMax bound how often the watch looks for
	// stuck jobs: a quarter of RescueStuckJobsAfter, within these bounds.
	rescueCheckMin = 250 * time.Millisecond
	rescueCheckMax = 15 * time.Second
	// rescueNudgeBackoff is how long the watch waits after asking for a
	// resignation before it asks again. River's rescuer runs within about a
	// second of an election, so a job still stuck after this is waiting for
	// a dead leader's term to lapse, or the request was lost: notifications
	// do not queue, and a leader whose listener is reconnecting (after a
	// database restart) misses them.
	rescueNudgeBackoff = 5 * time.Second
)

// queue is the River client Queue returns: the client, plus the rescue
// watch while it is started.
type queue struct {
	*river.Client[pgx.Tx]
	rescueAfter time.Duration // 0: no watch
	logger      *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc // stops the watch; nil when it is not running
	done   chan struct{}      // closed when the watch has returned
}

// Start starts the client, then its rescue watch.
func (q *queue) Start(ctx context.Context) error {
	if err := q.Client.Start(ctx); err != nil {
		return err
	}
	if q.rescueAfter <= 0 {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.cancel != nil {
		return nil // already watching
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	q.cancel, q.done = cancel, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		q.watch(wctx)
	}(q.done)
	return nil
}

// Stop stops the rescue watch, then the client (see river.Client.Stop).
func (q *queue) Stop(ctx context.Context) error {
	q.stopWatch()
	return q.Client.Stop(ctx)
}

// StopAndCancel stops the rescue watch, then the client (see
// river.Client.StopAndCancel).
func (q *queue) StopAndCancel(ctx context.Context) error {
	q.stopWatch()
	return q.Client.StopAndCancel(ctx)
}

func (q *queue) stopWatch() {
	q.mu.Lock()
	cancel, done := q.cancel, q.done
	q.cancel, q.done = nil, nil
	q.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// watch looks for stuck jobs until ctx is done; see the comment on
// rescueCheckMin.
func (q *queue) watch(ctx context.Context) {
	interval := min(max(q.rescueAfter/4, rescueCheckMin), rescueCheckMax)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var lastNudge time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if !lastNudge.IsZero() && time.Since(lastNudge) < rescueNudgeBackoff {
			continue
		}
		job, err := q.oldestRunning(ctx)
		if err != nil {
			if ctx.Err() == nil {
				q.logger.DebugContext(ctx, "rescue watch: list running jobs", slog.String("error", err.Error()))
			}
			continue
		}
		if job == nil || job.AttemptedAt == nil || time.Since(*job.AttemptedAt) < q.rescueAfter {
			continue
		}
		if err := q.Notify().RequestResign(ctx); err != nil {
			if ctx.Err() == nil {
				q.logger.WarnContext(ctx, "rescue watch: ask the River leader to resign", slog.String("error", err.Error()))
			}
			continue
		}
		lastNudge = time.Now()
		q.logger.InfoContext(ctx, "stuck job found: asked the River leader to resign so that its successor rescues it now",
			slog.Int64("job_id", job.ID), slog.Time("attempted_at", *job.AttemptedAt),
			slog.Any("attempted_by", job.AttemptedBy))
	}
}

// oldestRunning returns the running job that started first, or nil.
func (q *queue) oldestRunning(ctx context.Context) (*rivertype.JobRow, error) {
	res, err := q.JobList(ctx, river.NewJobListParams().
		States(rivertype.JobStateRunning).
		OrderBy(river.JobListOrderByTime, river.SortOrderAsc).
		First(1))
	if err != nil || len(res.Jobs) == 0 {
		return nil, err
	}
	return res.Jobs[0], nil
}
