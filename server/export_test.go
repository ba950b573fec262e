package server

import (
	"context"

	"github.com/standin-dev/standin/server/internal/emit"
)

// Emitter returns the API's emitter, for tests that emit without going
// through the API.
func Emitter(a *API) *emit.Emitter { return a.emitter }

// OnEmitQueue sets the hook told the number of single emits queued for the
// next batch (see emit.New); call it before the first emit.
func OnEmitQueue(a *API, f func(queued int)) { a.emitter.OnQueue(f) }

// SetMaxEmitDeliveries lowers MaxEmitDeliveries for a's emits.
func SetMaxEmitDeliveries(a *API, n int) { a.emitter.SetMaxDeliveries(n) }

// Seed registers the seed registry through a's store (see simulate.Seed).
func Seed(ctx context.Context, a *API) (bool, error) { return a.sim.Seed(ctx) }

// SetReplayLimits lowers the bounds of POST /standin/v1/replay until the
// returned function restores them; only for tests that do not run in
// parallel.
func SetReplayLimits(requests, logBytes int) (restore func()) {
	r, b := replayMaxRequests, replayMaxLogBytes
	replayMaxRequests, replayMaxLogBytes = requests, logBytes
	return func() { replayMaxRequests, replayMaxLogBytes = r, b }
}
