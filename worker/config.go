package worker

import (
	"errors"
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
	// (10 s timeout, redirects not followed).
	Sender *delivery.Sender
	// TimeScale is emulated seconds per real second. Defaults to 1.
	TimeScale float64
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// Logger receives standin's and River's logs. Defaults to slog.Default().
	Logger *slog.Logger
	// MaxWorkers is how many deliveries one process sends at once. Defaults
	// to 200.
	MaxWorkers int
	// FetchPollInterval is how often River polls for work when it gets no
	// notification (always, on SQLite). Defaults to 50 ms.
	FetchPollInterval time.Duration
	// FetchCooldown is the shortest time between two fetches. Defaults to
	// 5 ms.
	FetchCooldown time.Duration
	// OnAttempt, when set, is called after every recorded attempt with the
	// delivery's id and new state. It runs on the worker's goroutine and
	// must not block; testkit uses it to wait without polling.
	OnAttempt func(deliveryID, state string)
	// RescueStuckJobsAfter is how long a job may stay running before River
	// considers its process dead and retries it elsewhere. It must cover the
	// sender timeout. Defaults to 1 minute.
	RescueStuckJobsAfter time.Duration
}

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.Store == nil {
		return out, errors.New("worker config: Store is required")
	}
	if out.Sender == nil {
		out.Sender = &delivery.Sender{}
	}
	if out.TimeScale <= 0 {
		out.TimeScale = 1
	}
	if out.Now == nil {
		out.Now = time.Now
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	if out.MaxWorkers <= 0 {
		out.MaxWorkers = 200
	}
	if out.FetchPollInterval <= 0 {
		out.FetchPollInterval = 50 * time.Millisecond
	}
	if out.FetchCooldown <= 0 {
		out.FetchCooldown = 5 * time.Millisecond
	}
	if out.RescueStuckJobsAfter <= 0 {
		out.RescueStuckJobsAfter = time.Minute
	}
	return out, nil
}

// RiverConfig returns the River client configuration that runs the delivery
// worker: one queue, standin's retry policy for infrastructure errors, and
// the fetch and rescue settings above.
func RiverConfig(cfg Config) (*river.Config, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &Deliverer{
		store:     c.Store,
		sender:    c.Sender,
		timeline:  Timeline{Scale: c.TimeScale},
		now:       c.Now,
		logger:    c.Logger,
		onAttempt: c.OnAttempt,
	}
	jobTimeout := d.Timeout(nil)
	if c.RescueStuckJobsAfter < jobTimeout {
		c.RescueStuckJobsAfter = jobTimeout
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, d); err != nil {
		return nil, err
	}
	return &river.Config{
		Workers:              workers,
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: c.MaxWorkers}},
		FetchPollInterval:    c.FetchPollInterval,
		FetchCooldown:        c.FetchCooldown,
		JobTimeout:           jobTimeout,
		RescueStuckJobsAfter: c.RescueStuckJobsAfter,
		RetryPolicy:          RetryPolicy{},
		Logger:               c.Logger,
		MaxAttempts:          store.JobMaxAttempts,
	}, nil
}

// RetryPolicy schedules River's retries of a job that failed for a reason of
// standin's own (the database was unreachable, the process was stopped
// mid-attempt): quickly, doubling from 1 s up to 30 s. Receiver failures never
// reach it; they follow the profile's schedule through snoozes.
type RetryPolicy struct{}

// NextRetry implements river.ClientRetryPolicy.
func (RetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	attempt := max(job.Attempt, 1)
	d := time.Second << min(attempt-1, 5)
	if d > 30*time.Second {
		d = 30 * time.Second
	}
	at := job.CreatedAt
	if job.AttemptedAt != nil {
		at = *job.AttemptedAt
	}
	return at.Add(d)
}
