package testkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server/export"
	"github.com/standin-dev/standin/store/storetest"
	"github.com/standin-dev/standin/testkit"
)

// clockBackends are the backends the manual clock tests run on: SQLite,
// and PostgreSQL in a fresh schema (dropped when the test ends) when
// STANDIN_TEST_DATABASE_URL is set.
func clockBackends(t *testing.T) map[string]func(t *testing.T) string {
	out := map[string]func(t *testing.T) string{"sqlite": func(*testing.T) string { return "" }}
	u := os.Getenv("STANDIN_TEST_DATABASE_URL")
	if u == "" {
		return out
	}
	out["postgres"] = func(t *testing.T) string {
		return storetest.SearchPathURL(u, storetest.PostgresSchema(t, u, "standin_testkit_"))
	}
	return out
}

// TestManualClockWalksFivetranSchedule walks Fivetran's whole retry
// schedule and the 3-day deactivation with the manual clock: every attempt
// starts at exactly its due time on the frozen clock, to the millisecond,
// the payload's created timestamp is the clock's, and each advance returns
// only once the attempts due on the way are recorded. It logs the real time
// the walk took (tests do not assert wall-clock speed). Run it with
// -count=20 to check it is deterministic.
func TestManualClockWalksFivetranSchedule(t *testing.T) {
	t.Parallel()
	for name, db := range clockBackends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sd := testkit.Start(t, testkit.Config{ManualClock: true, DatabaseURL: db(t)})
			rcv := testkit.NewReceiver(t, "s3cret")
			rcv.Default = testkit.Response{Status: http.StatusInternalServerError, Body: "down"}
			wh := sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}, Secret: "s3cret"})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			realStart := time.Now()
			t0 := sd.Now()
			if !t0.Equal(t0.Truncate(time.Millisecond)) {
				t.Fatalf("manual clock %v is not whole milliseconds", t0)
			}
			id := sd.Emit(testkit.Event{Event: "sync_end", Status: "FAILURE"}).Deliveries[0].ID

			adv := sd.Advance(6 * time.Minute)
			if !adv.From.Equal(t0) || !adv.Now.Equal(t0.Add(6*time.Minute)) {
				t.Fatalf("advance 6m: from %v to %v, want %v to %v", adv.From, adv.Now, t0, t0.Add(6*time.Minute))
			}
			dd := sd.GetDelivery(id)
			d, attempts := dd.Delivery, dd.Attempts
			if len(attempts) != 2 || d.State != testkit.StateRetrying {
				t.Fatalf("after 6m: %d attempts, state %s; want the first retry made (2 attempts, retrying)", len(attempts), d.State)
			}

			adv = sd.Advance(24 * time.Hour)
			dd = sd.GetDelivery(id)
			d, attempts = dd.Delivery, dd.Attempts
			if d.State != testkit.StateFailed || len(attempts) != len(fivetranSchedule) {
				t.Fatalf("after 24h: state %s after %d attempts, want failed after %d", d.State, len(attempts), len(fivetranSchedule))
			}
			if len(adv.Fired) != len(fivetranSchedule)-2 {
				t.Errorf("advance 24h fired %d deliveries, want %d: %+v", len(adv.Fired), len(fivetranSchedule)-2, adv.Fired)
			}
			for i, a := range attempts {
				want := t0.Add(fivetranSchedule[i])
				if !a.StartedAt.Equal(want) || a.EmulatedDelay != fivetranSchedule[i] || a.Status != http.StatusInternalServerError {
					t.Errorf("attempt %d: started %v (+%v) HTTP %d, want %v (+%v) HTTP 500",
						a.Number, a.StartedAt, a.EmulatedDelay, a.Status, want, fivetranSchedule[i])
				}
			}
			reqs := rcv.Requests()
			if len(reqs) != len(fivetranSchedule) {
				t.Fatalf("receiver got %d requests, want %d", len(reqs), len(fivetranSchedule))
			}
			var body struct {
				Created time.Time `json:"created"`
			}
			if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
				t.Fatal(err)
			}
			if !body.Created.Equal(t0) {
				t.Errorf("payload created %v, want the manual clock's %v", body.Created, t0)
			}

			// Three days after the first failure, the next failing attempt
			// deactivates the webhook, as Fivetran does.
			sd.Advance(72 * time.Hour)
			if w, err := sd.Store().WebhookGetByID(ctx, wh.ID); err != nil || !w.Active {
				t.Fatalf("webhook before any attempt after 3 days: %+v, %v; want still active", w, err)
			}
			id2 := sd.Emit(testkit.Event{Event: "sync_end", Status: "FAILURE"}).Deliveries[0].ID
			sd.Advance(0)
			dd2 := sd.GetDelivery(id2)
			d2, attempts2 := dd2.Delivery, dd2.Attempts
			w, err := sd.Store().WebhookGetByID(ctx, wh.ID)
			if err != nil {
				t.Fatal(err)
			}
			if w.Active || w.DisabledReason == "" {
				t.Errorf("webhook after failing for %v: active %v, reason %q; want deactivated", sd.Now().Sub(t0), w.Active, w.DisabledReason)
			}
			if len(attempts2) != 1 || !attempts2[0].StartedAt.Equal(t0.Add(6*time.Minute+24*time.Hour+72*time.Hour)) {
				t.Errorf("second event: %d attempts (%s), want one at the clock's time", len(attempts2), d2.State)
			}
			t.Logf("%v of emulated time, %d attempts, in %v of real time", sd.Now().Sub(t0), len(attempts)+len(attempts2), time.Since(realStart))
		})
	}
}

// TestManualClockGRPC moves the manual clock over gRPC: a retry comes due
// and is made before the call returns; a time in the past is InvalidArgument
// and leaves the clock where it was.
func TestManualClockGRPC(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{ManualClock: true})
	rcv := testkit.NewReceiver(t, "s")
	rcv.FailFirst(1, http.StatusBadGateway)
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}, Secret: "s"})
	id := sd.Emit(testkit.Event{Event: "sync_end"}).Deliveries[0].ID
	t0 := sd.Now()

	clock := standinv1.NewClockServiceClient(sd.GRPCConn())
	ctx := context.Background()
	resp, err := clock.AdvanceClock(ctx, &standinv1.AdvanceClockRequest{By: "10m"})
	if err != nil {
		t.Fatal(err)
	}
	// The first attempt, due at t0, is listed too when its job had not run
	// yet: an advance first deals with what is due at the present.
	fired := resp.GetData().GetFired()
	if len(fired) == 2 && fired[0].GetAt() == t0.Format("2006-01-02T15:04:05.000Z07:00") {
		fired = fired[1:]
	}
	if len(fired) != 1 || fired[0].GetDeliveryId() != id || fired[0].GetAt() != t0.Add(6*time.Minute).Format("2006-01-02T15:04:05.000Z07:00") {
		t.Errorf("fired %v, want %s at %v", fired, id, t0.Add(6*time.Minute))
	}
	dd := sd.GetDelivery(id)
	if d, attempts := dd.Delivery, dd.Attempts; d.State != testkit.StateSucceeded || len(attempts) != 2 {
		t.Fatalf("after 10m: %v, %d attempts; want succeeded on the first retry", d.State, len(attempts))
	}
	_, err = clock.AdvanceClock(ctx, &standinv1.AdvanceClockRequest{To: t0.Format(time.RFC3339)})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("advance to the past: %v, want InvalidArgument", err)
	}
	got, err := clock.GetClock(ctx, &standinv1.GetClockRequest{})
	if err != nil || got.GetData().GetKind() != "manual" || got.GetData().GetNow() != t0.Add(10*time.Minute).Format("2006-01-02T15:04:05.000Z07:00") {
		t.Errorf("clock %v (%v), want manual at %v", got.GetData(), err, t0.Add(10*time.Minute))
	}
}

// TestExportRESTAndGRPC exports the same log over REST (Standin.Export) and
// gRPC (ExportService.Export): the same bytes, every attempt's request body
// the delivery's exact body; a bad filter is InvalidArgument over gRPC.
func TestExportRESTAndGRPC(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{ManualClock: true})
	rcv := testkit.NewReceiver(t, "s")
	rcv.Default = testkit.Response{Status: http.StatusBadGateway}
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_start", "sync_end"}, Secret: "s"})
	sd.Emit(testkit.Event{Event: "sync_start"})
	sd.Emit(testkit.Event{Event: "sync_end", Status: "FAILURE"})
	sd.Advance(time.Hour)

	var rest bytes.Buffer
	sd.Export(&rest, testkit.ExportFilter{})
	lines := strings.Split(strings.TrimSuffix(rest.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("export has %d lines, want one per event:\n%s", len(lines), rest.String())
	}
	var rec export.Record
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Event.Name != "sync_end" || len(rec.Deliveries) != 1 || len(rec.Deliveries[0].Attempts) != 3 {
		t.Fatalf("second line: %+v", rec)
	}
	received := 0
	for _, r := range rcv.Requests() {
		if bytes.Equal(r.Body, rec.Deliveries[0].Attempts[0].Request.Bytes()) {
			received++
		}
	}
	for _, a := range rec.Deliveries[0].Attempts {
		if string(a.Request.Bytes()) != rec.Deliveries[0].Body || a.Request.Header.Get(delivery.HeaderFivetranSignature) == "" ||
			a.Response.Status != http.StatusBadGateway {
			t.Errorf("attempt %d: %+v", a.Number, a)
		}
	}
	if received != 3 {
		t.Errorf("the receiver got the exported body %d times, want 3", received)
	}

	stream, err := standinv1.NewExportServiceClient(sd.GRPCConn()).Export(context.Background(), &standinv1.ExportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var grpcOut bytes.Buffer
	for {
		chunk, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		grpcOut.Write(chunk.GetData())
	}
	if grpcOut.String() != rest.String() {
		t.Errorf("gRPC export differs from REST:\n%s\n---\n%s", grpcOut.String(), rest.String())
	}
	stream, err = standinv1.NewExportServiceClient(sd.GRPCConn()).Export(context.Background(), &standinv1.ExportRequest{Since: "yesterday"})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("export since yesterday: %v, want InvalidArgument", err)
	}
}
