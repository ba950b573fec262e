package server

// OnEmitQueue sets the hook told the number of single emits queued for the
// next batch (see newEmitter); call it before the first emit.
func OnEmitQueue(a *API, f func(queued int)) { a.emitter.singles.OnQueue = f }

// SetMaxEmitDeliveries lowers MaxEmitDeliveries for a's emits.
func SetMaxEmitDeliveries(a *API, n int) { a.emitter.maxDeliveries = n }
