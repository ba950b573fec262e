// Package testkit runs standin inside Go tests, the way net/http/httptest
// runs an HTTP server: Start gives a real standin (API, workers, embedded
// SQLite in a temp dir) on 127.0.0.1 random ports, stopped when the test
// ends, and a Receiver records what standin sends and verifies its
// signatures. A time scale walks the 24-hour retry schedule in well under a
// second; a manual clock (Config.ManualClock, Advance) walks it
// deterministically, attempt by attempt.
//
// # Conventions
//
// One family of types: Webhook, Event, Emitted, Delivery, Attempt,
// EventRecord, ClockAdvance and their details and pages are testkit's own,
// converted from the REST API's answers, so a delivery reads the same
// whichever helper returned it (Attempt.Status is the receiver's HTTP status everywhere). A
// delivery's state is a delivery.DeliveryState; StatePending …
// StateCancelled name them.
//
// URLs are fields: Standin.URL is the REST base and Receiver.URL the
// receiver's, both set once the server listens.
//
// Failure: every method that calls standin or waits fails the test through
// the TB it was started with (Fatalf) when it cannot do what it was asked,
// and returns plain values, never an error; the message says what was
// asked and where things stand. Call them from the test's goroutine, as
// t.Fatalf requires. Two doors return errors instead, for tests that
// assert a refusal: Do (an *APIError) and Client (the REST client itself).
// CheckReceiver and CheckURL report a receiver's failed probes with Errorf,
// as an assertion, and return the report.
//
// Context: the helpers call the API with the test's context
// (testing.TB.Context, or the Harness's). The Await methods wait on the ctx
// they are given, typically t.Context() or one with a deadline derived from
// it; when ctx has no deadline they wait at most AwaitTimeout. They wake on
// every attempt standin records and every request a Receiver gets: they
// never sleep.
//
// Cleanup: Start, NewReceiver and Receiver.Start register their shutdown
// with the TB's Cleanup. Outside a test function (an Example, a TestMain
// sharing one instance) a Harness stands in for *testing.T.
package testkit
