// Package sqlrow holds what the SQL backends share: how record fields become
// column values and back, the checks on parameters, and the River job that
// works a delivery. It keeps store/sqlite and store/postgres from drifting
// apart on semantics; the SQL they share is in store/internal/sqlq.
package sqlrow

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
)

// Time returns t as both backends store it: in UTC, truncated to the
// microsecond (PostgreSQL's timestamptz precision), without a monotonic
// clock reading.
func Time(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// TimePtr is Time for an optional time; nil stays nil.
func TimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := Time(*t)
	return &v
}

// DeliverJob returns the River insert parameters of one delivery job. A zero
// runAt lets River schedule the job for now. Its max_attempts is
// store.JobMaxAttempts, the one definition of that limit.
func DeliverJob(args store.DeliverArgs, runAt time.Time) river.InsertManyParams {
	return river.InsertManyParams{
		Args: args,
		InsertOpts: &river.InsertOpts{
			ScheduledAt: runAt,
			MaxAttempts: store.JobMaxAttempts,
			Queue:       river.QueueDefault,
		},
	}
}

// NextAttemptAt is when a new delivery's first attempt is due: RunAt when
// set, otherwise the event's CreatedAt, otherwise now.
func NextAttemptAt(d store.DeliveryNew, ev store.Event) time.Time {
	switch {
	case !d.RunAt.IsZero():
		return Time(d.RunAt)
	case !ev.CreatedAt.IsZero():
		return Time(ev.CreatedAt)
	default:
		return Time(time.Now())
	}
}

// CheckLimit rejects a page size that is not positive.
func CheckLimit(limit int) error {
	if limit <= 0 {
		return fmt.Errorf("limit must be positive, got %d", limit)
	}
	return nil
}

// CheckWebhook rejects a webhook that cannot be stored.
func CheckWebhook(wh *store.Webhook) error {
	switch {
	case wh == nil:
		return errors.New("webhook is nil")
	case wh.ID == "":
		return errors.New("webhook id is empty")
	case wh.Type != store.WebhookTypeAccount && wh.Type != store.WebhookTypeGroup:
		return fmt.Errorf("webhook type %q is not %q or %q", wh.Type, store.WebhookTypeAccount, store.WebhookTypeGroup)
	}
	return nil
}

// CheckEventCreate rejects an event or delivery without the fields every
// row needs.
func CheckEventCreate(p store.EventCreateParams) error {
	if p.Event.ID == "" {
		return errors.New("event id is empty")
	}
	if p.Event.Name == "" {
		return errors.New("event name is empty")
	}
	for i, d := range p.Deliveries {
		if d.ID == "" {
			return fmt.Errorf("delivery %d: id is empty", i)
		}
		if d.WebhookID == "" {
			return fmt.Errorf("delivery %s: webhook id is empty", d.ID)
		}
	}
	return nil
}

// CheckAttemptRecord rejects an attempt without a delivery or a state.
func CheckAttemptRecord(p store.AttemptRecordParams) error {
	if p.Attempt.DeliveryID == "" {
		return errors.New("attempt delivery id is empty")
	}
	if !p.State.Valid() {
		return fmt.Errorf("unknown delivery state %q", p.State)
	}
	return nil
}

// Deliveries builds the records EventCreate writes for params.
func Deliveries(p store.EventCreateParams) []*store.Delivery {
	created := Time(p.Event.CreatedAt)
	out := make([]*store.Delivery, len(p.Deliveries))
	for i, d := range p.Deliveries {
		next := NextAttemptAt(d, p.Event)
		body := d.Body
		if body == nil {
			body = []byte{}
		}
		out[i] = &store.Delivery{
			ID:            d.ID,
			EventID:       p.Event.ID,
			EventName:     p.Event.Name,
			WebhookID:     d.WebhookID,
			Profile:       d.Profile,
			Body:          body,
			State:         store.DeliveryPending,
			NextAttemptAt: &next,
			CreatedAt:     created,
			UpdatedAt:     created,
			Faults:        d.Faults,
		}
	}
	return out
}

// Jobs returns the River jobs of the deliveries of params, created
// together. The deliveries due at once (no RunAt) share batch jobs
// (store.DeliverBatchArgs) of at most store.BatchJobMax each, unless there
// is only one; every other delivery has a job of its own, scheduled at its
// RunAt.
func Jobs(params ...store.EventCreateParams) []river.InsertManyParams {
	var (
		jobs []river.InsertManyParams
		due  []string
	)
	for _, p := range params {
		for _, d := range p.Deliveries {
			if d.RunAt.IsZero() {
				due = append(due, d.ID)
				continue
			}
			jobs = append(jobs, DeliverJob(store.DeliverArgs{DeliveryID: d.ID}, d.RunAt))
		}
	}
	if len(due) == 1 {
		return append(jobs, DeliverJob(store.DeliverArgs{DeliveryID: due[0]}, time.Time{}))
	}
	for start := 0; start < len(due); start += store.BatchJobMax {
		ids := due[start:min(start+store.BatchJobMax, len(due))]
		jobs = append(jobs, river.InsertManyParams{
			Args: store.DeliverBatchArgs{DeliveryIDs: ids},
			InsertOpts: &river.InsertOpts{
				MaxAttempts: store.JobMaxAttempts,
				Queue:       store.QueueBatch,
			},
		})
	}
	return jobs
}

// RetryJobs returns the jobs that recording the attempts of params inserts
// (store.AttemptRecordParams.RetryJobAt).
func RetryJobs(params []store.AttemptRecordParams) []river.InsertManyParams {
	var jobs []river.InsertManyParams
	for _, p := range params {
		if p.RetryJobAt != nil {
			jobs = append(jobs, DeliverJob(store.DeliverArgs{DeliveryID: p.Attempt.DeliveryID}, *p.RetryJobAt))
		}
	}
	return jobs
}

// EncodeEvents returns the JSON array stored for a webhook's event filter;
// nil encodes as an empty array.
func EncodeEvents(events []string) ([]byte, error) {
	if events == nil {
		events = []string{}
	}
	b, err := json.Marshal(events)
	if err != nil {
		return nil, fmt.Errorf("encode events: %w", err)
	}
	return b, nil
}

// DecodeEvents parses a stored event filter.
func DecodeEvents(b []byte) ([]string, error) {
	events := []string{}
	if len(b) == 0 {
		return events, nil
	}
	if err := json.Unmarshal(b, &events); err != nil {
		return nil, fmt.Errorf("decode events: %w", err)
	}
	return events, nil
}

// EncodeSigning returns the JSON object stored for a signing scheme.
func EncodeSigning(s delivery.Signing) ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode signing: %w", err)
	}
	return b, nil
}

// DecodeSigning parses a stored signing scheme; empty means the zero value.
func DecodeSigning(b []byte) (delivery.Signing, error) {
	var s delivery.Signing
	if len(b) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("decode signing: %w", err)
	}
	return s, nil
}

// EncodeHeader returns the JSON object stored for h; nil stays nil (NULL).
func EncodeHeader(h http.Header) ([]byte, error) {
	if h == nil {
		return nil, nil
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode header: %w", err)
	}
	return b, nil
}

// DecodeHeader parses a stored header; NULL decodes as nil.
func DecodeHeader(b []byte) (http.Header, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var h http.Header
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("decode header: %w", err)
	}
	return h, nil
}

// Bytes returns b, or nil when it is empty, so that an empty optional value
// is stored as NULL and reads back as nil.
func Bytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Qualified prefixes each column of a comma-separated column list with
// table's name (or alias), for queries that join.
func Qualified(table, columns string) string {
	fields := strings.Split(columns, ",")
	for i, f := range fields {
		fields[i] = table + "." + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}
