package worker

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/standin-dev/standin/store"
)

// recordBackOffDefault is the backoff between tries to record an attempt:
// from 100 ms doubling up to 5 s, for at most storageMargin (the run's
// deadline usually ends it first).
func recordBackOffDefault() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 100 * time.Millisecond
	b.Multiplier = 2
	b.RandomizationFactor = 0.2
	b.MaxInterval = 5 * time.Second
	b.MaxElapsedTime = storageMargin
	return b
}

// recordRetry runs op, the recording of an attempt that was made, until it
// succeeds, with backoff, until shortly before ctx's deadline (the job
// run's) or until ctx ends. The
// request has left standin: failing the job now would make River run it
// again and send it again, so a store that fails for a while (a database
// restarting, a full disk) is waited out instead. An error wrapping
// store.ErrNotFound (the delivery was deleted) is not retried. It returns
// op's last error.
func (d *Deliverer) recordRetry(ctx context.Context, op func(context.Context) error) error {
	newBackOff := d.recordBackOff
	if newBackOff == nil {
		newBackOff = recordBackOffDefault
	}
	if deadline, ok := ctx.Deadline(); ok {
		// End the run a little before its deadline, which is River's rescue
		// horizon when that is short: a run still going then looks stuck.
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-min(time.Until(deadline)/4, recordSlack)))
		defer cancel()
	}
	var last error
	err := backoff.Retry(func() error {
		last = op(ctx)
		if errors.Is(last, store.ErrNotFound) {
			return backoff.Permanent(last)
		}
		return last
	}, backoff.WithContext(newBackOff(), ctx))
	if err != nil && last != nil {
		return last
	}
	return err
}

// recordSlack is how long before the run's deadline recordRetry gives up,
// at most (a quarter of the time left, when that is less): time for River
// to mark the run failed before the rescue horizon (which is the deadline
// when short) would find it still running.
const recordSlack = time.Second

// memoMax bounds the entries of a memo.
const memoMax = 10_000

// memo maps River job ids to values, remembered across runs of a job in
// this process. It keeps at most memoMax entries, dropping the oldest.
type memo[V any] struct {
	mu    sync.Mutex
	m     map[int64]V
	order []int64 // insertion order; may name ids already taken
}

func (m *memo[V]) put(id int64, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = make(map[int64]V)
	}
	if _, ok := m.m[id]; !ok {
		m.order = append(m.order, id)
	}
	m.m[id] = v
	for len(m.m) > memoMax {
		delete(m.m, m.order[0])
		m.order = m.order[1:]
	}
	if len(m.order) > 2*memoMax { // drop the ids already taken
		kept := make([]int64, 0, len(m.m))
		for _, id := range m.order {
			if _, ok := m.m[id]; ok {
				kept = append(kept, id)
			}
		}
		m.order = kept
	}
}

// take returns and forgets id's value.
func (m *memo[V]) take(id int64) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[id]
	if ok {
		delete(m.m, id)
	}
	return v, ok
}

// add remembers id.
func (m *memo[V]) add(id int64) {
	var zero V
	m.put(id, zero)
}

// has reports whether id is remembered.
func (m *memo[V]) has(id int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.m[id]
	return ok
}
