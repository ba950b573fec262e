package worker

import "sync"

// inflight is the set of deliveries whose scheduled attempt a job run of
// this process is making, under a manual clock (Config.ManualClock): the
// clock's stepper enqueues a job for a due delivery that may already have
// one, and the second run must not make the attempt again.
type inflight struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

// add marks id in flight and reports whether it was not already.
func (f *inflight) add(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.ids[id]; ok {
		return false
	}
	if f.ids == nil {
		f.ids = make(map[string]struct{})
	}
	f.ids[id] = struct{}{}
	return true
}

// remove marks id no longer in flight.
func (f *inflight) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.ids, id)
}
