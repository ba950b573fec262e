// Package delivery is standin's pure domain: the event catalog, the payload
// builders of each sender profile (Fivetran, Portable), the signing schemes and
// their Verify helpers for receivers, the HTTP sender and the retry schedule,
// and the facts the other packages share: delivery states (DeliveryState),
// the default profile (DefaultProfile) and emulated time (Timeline,
// ValidateTimeScale).
//
// It depends on the standard library and cenkalti/backoff only; it never
// imports store, server or worker. Time is always passed in: nothing here
// calls time.Now, except a Sender without a Now clock measuring latency.
//
// The wire facts it reproduces are listed in docs/fidelity.md;
// golden payloads live in testdata/ (regenerate with go test -update).
package delivery
