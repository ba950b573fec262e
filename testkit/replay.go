package testkit

import (
	"bytes"
	"net/http"
	"time"

	"github.com/standin-dev/standin/server/export"
)

// ReplayOptions configures Replay.
type ReplayOptions struct {
	// Secret, when not empty, re-signs every request with it in the
	// request's scheme (X-Fivetran-Signature-256 or Standard Webhooks'
	// webhook-signature); empty sends the recorded signatures.
	Secret string
}

// Replayed is one request Replay sent and what the receiver answered.
type Replayed struct {
	// Label names the request: "sync_end 0196… attempt 2", or "line 3" for
	// a raw capture.
	Label string
	// Event, DeliveryID and Attempt name the recorded attempt; empty for a
	// raw capture.
	Event      string
	DeliveryID string
	Attempt    int
	// Header holds the headers sent: the recorded ones, re-signed when
	// ReplayOptions.Secret is set, plus those the sender adds.
	Header http.Header
	// Body is the exact body sent, the recorded one.
	Body []byte
	// Status is the receiver's HTTP status, 0 when it did not answer.
	Status int
	// Latency is from sending the request to reading the answer.
	Latency time.Duration
	// Err is the transport error when there was no answer.
	Err error
	// Refused is true when the receiver did not answer 2xx.
	Refused bool
}

// Replay sends the requests of an export (what Standin.Export writes, or a
// raw capture) to the URL to, as fast as possible, each byte for byte and in
// its recorded order, as `standin replay --as-fast-as-possible` and POST
// /standin/v1/replay do, and returns one Replayed per request. A refusal by
// the receiver is a result, not a failure; an export it cannot read, a
// request it cannot re-sign or a context that ends fails the test.
func Replay(tb TB, exported []byte, to string, opts ReplayOptions) []Replayed {
	tb.Helper()
	items, err := export.ReadRequests(bytes.NewReader(exported))
	if err != nil {
		tb.Fatalf("testkit: replay: read the export: %v", err)
	}
	ro := export.ReplayOptions{To: to}
	if opts.Secret != "" {
		ro.Secret = &opts.Secret
	}
	var out []Replayed
	if _, err := export.Replay(tb.Context(), items, ro, func(r export.Result) {
		out = append(out, Replayed{
			Label: r.Item.Label, Event: r.Item.Event, DeliveryID: r.Item.DeliveryID, Attempt: r.Item.Attempt,
			Header: r.Response.RequestHeader, Body: r.Item.Request.Bytes(),
			Status: r.Response.Status, Latency: r.Response.Latency, Err: r.Response.Err, Refused: r.Refused,
		})
	}); err != nil {
		tb.Fatalf("testkit: replay to %s: after %d of %d requests: %v", to, len(out), len(items), err)
	}
	return out
}
