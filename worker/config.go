package worker

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
)

// Config configures the delivery worker and the River client it runs in.
type Config struct {
	// Store is where deliveries and attempts live. Required.
	Store Store
	// Sender makes the HTTP requests. Defaults to a zero delivery.Sender
	// (delivery.DefaultTimeout, redirects not followed).
	Sender *delivery.Sender
	// TimeScale is emulated seconds per real second. Defaults to
	// delivery.DefaultTimeScale (1); see delivery.ValidateTimeScale.
	TimeScale float64
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// Logger receives standin's and River's logs; River's INFO lines at
	// DEBUG (store.LibraryLogger). Defaults to slog.Default().
	Logger *slog.Logger
	// MaxWorkers is how many deliveries one process sends at once. Defaults
	// to DefaultMaxWorkers (200). Half of them, at least one, make the
	// first attempts of deliveries emitted together (batchQueueWorkers
	// batch jobs at a time, each sending its share at once); the others run
	// the jobs of single deliveries: retries, redeliveries, lone and
	// scheduled emits. So a process with MaxWorkers 1 sends up to two at
	// once.
	MaxWorkers int
	// FetchPollInterval is how often River polls for work when it gets no
	// notification (always, on SQLite). Defaults to the store's choice
	// (store.Store.Queue fills in a zero): 10 ms on SQLite, which can only
	// poll, and 50 ms on PostgreSQL, where polling only backs up
	// LISTEN/NOTIFY.
	FetchPollInterval time.Duration
	// FetchCooldown is the shortest time between two fetches. Defaults to
	// 5 ms.
	FetchCooldown time.Duration
	// OnAttempt, when set, is called after every recorded attempt with the
	// delivery's id and new state. It runs on the worker's goroutine and
	// must not block; testkit uses it to wait without polling.
	OnAttempt func(deliveryID, state string)
	// InlineRetryMax is the longest real retry delay the worker waits out
	// inside a job run, making the retry in the same run, instead of
	// snoozing the job: River returns snoozed jobs only every 250 ms when
	// idle, so shorter snoozes would run late under a large TimeScale.
	// Defaults to 250 ms; a negative value always snoozes.
	InlineRetryMax time.Duration
	// RescueStuckJobsAfter is how long a job may stay running before River
	// considers its process dead and retries it elsewhere. It also bounds a
	// job run, which River requires: a run gets the sender timeout plus 20 s
	// for storage, or less when RescueStuckJobsAfter is shorter, down to the
	// sender timeout plus 1 s; a shorter value is raised to that, with a
	// warning. Defaults to DefaultRescueStuckJobsAfter (1 minute).
	RescueStuckJobsAfter time.Duration
	// DisableAfter is how long, in emulated time, a Fivetran-profile webhook
	// may fail every delivery attempt before the worker deactivates it
	// (active false, with a DisabledReason). Defaults to DefaultDisableAfter
	// (3 days, as Fivetran); negative never deactivates.
	DisableAfter time.Duration
	// ManualClock says that Now is a clock that moves only when told
	// (server/clock.Manual), so River cannot keep the schedule's time: a
	// job run that finds its delivery not yet due, or leaves it retrying,
	// ends the job instead of snoozing it, and whoever moves the clock
	// enqueues the delivery again when it comes due (server/clock.Stepper).
	// Concurrent scheduled runs of one delivery in this process are then
	// one: the later one ends. It requires TimeScale 1 and turns off
	// InlineRetryMax. Defaults to false: River schedules retries.
	ManualClock bool
}

// Defaults of Config.
const (
	// DefaultMaxWorkers is Config.MaxWorkers when zero.
	DefaultMaxWorkers = 200
	// DefaultRescueStuckJobsAfter is Config.RescueStuckJobsAfter when zero.
	DefaultRescueStuckJobsAfter = time.Minute
)

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.Store == nil {
		return out, errors.New("worker config: Store is required")
	}
	if out.Sender == nil {
		out.Sender = &delivery.Sender{}
	}
	timeline, err := delivery.NewTimeline(out.TimeScale)
	if err != nil {
		return out, fmt.Errorf("worker config: %w", err)
	}
	out.TimeScale = timeline.Scale
	if out.Now == nil {
		out.Now = time.Now
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	if out.MaxWorkers <= 0 {
		out.MaxWorkers = DefaultMaxWorkers
	}
	if out.FetchPollInterval < 0 {
		out.FetchPollInterval = 0 // the store's choice
	}
	if out.FetchCooldown <= 0 {
		out.FetchCooldown = 5 * time.Millisecond
	}
	if out.RescueStuckJobsAfter <= 0 {
		out.RescueStuckJobsAfter = DefaultRescueStuckJobsAfter
	}
	if out.DisableAfter == 0 {
		out.DisableAfter = DefaultDisableAfter
	}
	if out.ManualClock {
		if out.TimeScale != delivery.DefaultTimeScale {
			return out, fmt.Errorf("worker config: ManualClock requires TimeScale %v, not %v", delivery.DefaultTimeScale, out.TimeScale)
		}
		out.InlineRetryMax = -1
	}
	if out.InlineRetryMax == 0 {
		out.InlineRetryMax = 250 * time.Millisecond
	}
	return out, nil
}

// RiverConfig returns the River client configuration that runs the delivery
// worker: one queue, standin's retry policy for infrastructure errors, and
// the fetch and rescue settings above.
func RiverConfig(cfg Config) (*river.Config, error) {
	rc, _, err := riverConfig(cfg)
	return rc, err
}

// riverConfig is RiverConfig, also returning the worker, for tests.
func riverConfig(cfg Config) (*river.Config, *Deliverer, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	d := newDelivererConfig(&c)
	jobTimeout := d.Timeout(nil)
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, d); err != nil {
		return nil, nil, err
	}
	single, batchJobs, batchSends := workerShares(c.MaxWorkers)
	if err := river.AddWorkerSafely(workers, &batchDeliverer{d: d, sends: batchSends}); err != nil {
		return nil, nil, err
	}
	return &river.Config{
		Workers: workers,
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: single},
			store.QueueBatch:   {MaxWorkers: batchJobs},
		},
		FetchPollInterval:    c.FetchPollInterval,
		FetchCooldown:        c.FetchCooldown,
		JobTimeout:           jobTimeout,
		RescueStuckJobsAfter: c.RescueStuckJobsAfter,
		RetryPolicy:          RetryPolicy{},
		Logger:               store.LibraryLogger(c.Logger), // River's INFO at DEBUG
		MaxAttempts:          store.JobMaxAttempts,
	}, d, nil
}

// batchQueueWorkers is how many batch jobs a process runs at once: more
// than one, so that a job's slowest request does not idle the others'
// share, and few, so that each sends many at once.
const batchQueueWorkers = 4

// workerShares splits maxWorkers (Config.MaxWorkers) between the jobs of
// single deliveries and the batch jobs: it returns the River workers of
// the default queue, those of the batch queue and how many requests one
// batch job sends at once.
func workerShares(maxWorkers int) (single, batchJobs, batchSends int) {
	half := max(maxWorkers/2, 1)
	batchJobs = min(batchQueueWorkers, half)
	batchSends = max(half/batchJobs, 1)
	return max(maxWorkers-batchJobs*batchSends, 1), batchJobs, batchSends
}

// newDelivererConfig returns the Deliverer of c, whose defaults are set.
// It may raise c.RescueStuckJobsAfter (see Config).
func newDelivererConfig(c *Config) *Deliverer {
	d := newDeliverer(c.Store)
	d.sender = c.Sender
	d.timeline = delivery.Timeline{Scale: c.TimeScale}
	d.now = c.Now
	d.logger = c.Logger
	d.onAttempt = c.OnAttempt
	d.inlineRetryMax = c.InlineRetryMax
	d.disableAfter = c.DisableAfter
	d.manualClock = c.ManualClock
	// River rescues a job only once it has run for longer than its timeout
	// and requires the timeout not to exceed the rescue horizon: a short
	// horizon shortens the storage margin instead of being overridden, so
	// a crashed process's deliveries are taken over when the user said.
	send := senderTimeout(c.Sender)
	if least := send + minStorageMargin; c.RescueStuckJobsAfter < least {
		c.Logger.Warn("rescue horizon raised to cover the send timeout",
			slog.Duration("rescue_stuck_jobs_after", c.RescueStuckJobsAfter),
			slog.Duration("send_timeout", send), slog.Duration("raised_to", least))
		c.RescueStuckJobsAfter = least
	}
	d.timeout = min(send+storageMargin, c.RescueStuckJobsAfter)
	return d
}

// RetryPolicy schedules River's retries of a job that failed for a reason of
// standin's own (the database was unreachable, the process was stopped
// mid-attempt): quickly, doubling from 1 s up to 30 s. Receiver failures never
// reach it; they follow the profile's schedule through snoozes.
type RetryPolicy struct{}

// NextRetry implements river.ClientRetryPolicy.
func (RetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	at := job.CreatedAt
	if job.AttemptedAt != nil {
		at = *job.AttemptedAt
	}
	return at.Add(retryDelay(job.Attempt))
}

// retryDelay is how long River waits before running a job again after its
// run number attempt failed for a reason of standin's own: 1 s doubling up
// to 30 s.
func retryDelay(attempt int) time.Duration {
	return min(time.Second<<min(max(attempt, 1)-1, 5), 30*time.Second)
}
