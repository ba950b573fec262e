package batch

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recordingRun is a Batcher run that records its batches, doubles its
// inputs, fails a whole batch containing a negative input, and blocks each
// batch until released when gate is set.
type recordingRun struct {
	mu      sync.Mutex
	batches [][]int
	started chan struct{}
	gate    chan struct{}
}

func (r *recordingRun) run(_ context.Context, in []int) ([]int, error) {
	r.mu.Lock()
	r.batches = append(r.batches, append([]int(nil), in...))
	r.mu.Unlock()
	if r.started != nil {
		r.started <- struct{}{}
	}
	if r.gate != nil {
		<-r.gate
	}
	out := make([]int, len(in))
	for i, v := range in {
		if v < 0 {
			return nil, fmt.Errorf("bad input %d", v)
		}
		out[i] = 2 * v
	}
	return out, nil
}

func TestIdleRunsAlone(t *testing.T) {
	r := &recordingRun{}
	c := &Batcher[int, int]{Run: r.run, Max: 8, Timeout: time.Second}
	for i := range 3 {
		got, err := c.Do(t.Context(), i)
		require.NoError(t, err)
		require.Equal(t, 2*i, got)
	}
	require.Equal(t, [][]int{{0}, {1}, {2}}, r.batches, "an idle coalescer does not wait to fill a batch")
}

// While one batch runs, calls queue; the next batch takes them all, in
// order, up to max.
func TestBatchesWhileBusy(t *testing.T) {
	r := &recordingRun{started: make(chan struct{}, 16), gate: make(chan struct{})}
	c := &Batcher[int, int]{Run: r.run, Max: 4, Timeout: time.Second}
	queued := observe(c)

	results := make([]int, 7)
	var wg sync.WaitGroup
	wg.Go(func() { results[0], _ = c.Do(t.Context(), 0) })
	waitQueued(t, queued, 1)
	waitFor(t, r.started) // batch {0} runs and blocks
	for i := 1; i < 7; i++ {
		wg.Go(func() {
			v, err := c.Do(t.Context(), i)
			if err == nil {
				results[i] = v
			}
		})
		waitQueued(t, queued, i)
	}
	close(r.gate)
	wg.Wait()
	require.Equal(t, []int{0, 2, 4, 6, 8, 10, 12}, results)
	require.Len(t, r.batches, 3)
	require.Equal(t, []int{0}, r.batches[0])
	require.Len(t, r.batches[1], 4, "max bounds a batch")
	require.Len(t, r.batches[2], 2)
	require.ElementsMatch(t, []int{1, 2, 3, 4, 5, 6}, append(r.batches[1], r.batches[2]...))
}

// A failed batch is run again input by input: only the bad call fails.
func TestIsolatesFailure(t *testing.T) {
	r := &recordingRun{started: make(chan struct{}, 16), gate: make(chan struct{})}
	c := &Batcher[int, int]{Run: r.run, Max: 8, Timeout: time.Second}
	queued := observe(c)

	var wg sync.WaitGroup
	wg.Go(func() { _, _ = c.Do(t.Context(), 100) })
	waitQueued(t, queued, 1)
	waitFor(t, r.started)
	errs := make([]error, 3)
	outs := make([]int, 3)
	for i, v := range []int{1, -1, 3} {
		wg.Go(func() { outs[i], errs[i] = c.Do(t.Context(), v) })
		waitQueued(t, queued, i+1)
	}
	close(r.gate)
	wg.Wait()
	require.NoError(t, errs[0])
	require.EqualError(t, errs[1], "bad input -1")
	require.NoError(t, errs[2])
	require.Equal(t, 2, outs[0])
	require.Equal(t, 6, outs[2])
}

// A caller whose context ends stops waiting; the batch still runs.
func TestCallerContext(t *testing.T) {
	r := &recordingRun{started: make(chan struct{}, 16), gate: make(chan struct{})}
	c := &Batcher[int, int]{Run: r.run, Max: 8, Timeout: time.Second}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { _, err := c.Do(ctx, 1); errc <- err }()
	waitFor(t, r.started)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	close(r.gate)
	got, err := c.Do(t.Context(), 2)
	require.NoError(t, err)
	require.Equal(t, 4, got)
}

func waitFor(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("timed out")
	}
}

// observe makes c report its queue length on the returned channel.
func observe[In, Out any](c *Batcher[In, Out]) <-chan int {
	ch := make(chan int, 64)
	c.OnQueue = func(n int) { ch <- n }
	return ch
}

// waitQueued waits until n calls are queued behind the running batch.
func waitQueued(t *testing.T, queued <-chan int, n int) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case got := <-queued:
			if got >= n {
				return
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %d queued calls", n)
		}
	}
}

// A call whose caller stopped waiting before its batch began is not run.
func TestDropsAbandonedCalls(t *testing.T) {
	r := &recordingRun{started: make(chan struct{}, 16), gate: make(chan struct{})}
	c := &Batcher[int, int]{Run: r.run, Max: 8, Timeout: time.Second}
	queued := observe(c)
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = c.Do(t.Context(), 1) })
	waitQueued(t, queued, 1)
	waitFor(t, r.started) // batch {1} runs and blocks

	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	wg.Go(func() { _, err := c.Do(ctx, 2); errc <- err })
	waitQueued(t, queued, 1)
	wg.Go(func() { _, _ = c.Do(t.Context(), 3) })
	waitQueued(t, queued, 2)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	close(r.gate)
	wg.Wait()
	require.Equal(t, [][]int{{1}, {3}}, r.batches, "the abandoned call 2 was not run")
}
