// Package batch runs the store calls of concurrent goroutines in batches,
// so that a burst of n small reads or writes costs one round trip and one
// commit instead of n. The worker batches the delivery reads and attempt
// writes of concurrent job runs with it, and the API batches concurrent
// emits.
package batch

import (
	"context"
	"sync"
	"time"
)

// Batcher runs the calls of concurrent goroutines in batches: a call joins
// a queue, and one goroutine at a time takes everything queued (up to Max)
// and runs it as one batch. Nothing waits to fill a batch: an idle Batcher
// runs a call at once, alone, and batches grow only while a previous batch
// is running, so they match the load.
//
// Run gets the inputs in queue order and returns one output per input. When
// a batch of several fails, each of its inputs is run again alone, so that
// one bad input (a delivery deleted meanwhile) fails only its own call. A
// call whose caller has stopped waiting (its context ended) before its run
// began is dropped, not run: during an outage, work nobody waits for does
// not pile up ahead of new calls.
//
// A Batcher needs no starting or stopping: its goroutine exists only while
// calls are queued. Set the fields before the first Do and do not change
// them after.
type Batcher[In, Out any] struct {
	// Run runs a batch. Required.
	Run func(ctx context.Context, in []In) ([]Out, error)
	// Max bounds a batch. Required.
	Max int
	// Timeout bounds one run of Run, whose context is not a caller's:
	// a batch serves many callers. Required.
	Timeout time.Duration

	// OnQueue, when set, is called with the queue's length each time a
	// call joins it, under the Batcher's lock: it must not block. Tests
	// wait on it instead of polling.
	OnQueue func(queued int)

	mu      sync.Mutex
	queue   []*call[In, Out]
	running bool
}

type call[In, Out any] struct {
	ctx  context.Context // the caller's
	in   In
	out  Out
	err  error
	done chan struct{}
}

// Do runs in as part of a batch and returns its output. It returns early
// with ctx's error when ctx ends first; the batch may still run in.
func (c *Batcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	call := &call[In, Out]{ctx: ctx, in: in, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, call)
	if c.OnQueue != nil {
		c.OnQueue(len(c.queue))
	}
	if !c.running {
		c.running = true
		go c.loop()
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		return call.out, call.err
	case <-ctx.Done():
		var zero Out
		return zero, ctx.Err()
	}
}

// loop runs batches until the queue is empty.
func (c *Batcher[In, Out]) loop() {
	for {
		c.mu.Lock()
		n := min(len(c.queue), c.Max)
		if n == 0 {
			c.running = false
			c.queue = nil // let a burst's backing array go
			c.mu.Unlock()
			return
		}
		batch := make([]*call[In, Out], n)
		copy(batch, c.queue)
		c.queue = c.queue[n:]
		c.mu.Unlock()
		c.flush(batch)
	}
}

func (c *Batcher[In, Out]) flush(batch []*call[In, Out]) {
	batch = live(batch)
	if len(batch) == 0 {
		return
	}
	in := make([]In, len(batch))
	for i, call := range batch {
		in[i] = call.in
	}
	out, err := c.runOnce(in)
	if err != nil && len(batch) > 1 {
		for _, call := range batch {
			if err := call.ctx.Err(); err != nil {
				call.err = err // stopped waiting meanwhile: not run again
				close(call.done)
				continue
			}
			out1, err1 := c.runOnce([]In{call.in})
			if err1 == nil {
				call.out = out1[0]
			}
			call.err = err1
			close(call.done)
		}
		return
	}
	for i, call := range batch {
		if err == nil {
			call.out = out[i]
		}
		call.err = err
		close(call.done)
	}
}

// live returns the calls of batch whose callers still wait, and ends the
// others with their context's error.
func live[In, Out any](batch []*call[In, Out]) []*call[In, Out] {
	out := batch[:0]
	for _, cl := range batch {
		if err := cl.ctx.Err(); err != nil {
			cl.err = err
			close(cl.done)
			continue
		}
		out = append(out, cl)
	}
	return out
}

func (c *Batcher[In, Out]) runOnce(in []In) ([]Out, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	return c.Run(ctx, in)
}
