package client

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/standin-dev/standin/delivery"
)

// Int64 is a protobuf int64, which the REST API writes as a JSON string
// ("42") and accepts as a number.
type Int64 int64

// UnmarshalJSON implements json.Unmarshaler for both spellings.
func (n *Int64) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("int64 %s: %w", b, err)
	}
	*n = Int64(v)
	return nil
}

// Signing is a webhook's signing scheme (standin's extension).
type Signing struct {
	Scheme    string `json:"scheme,omitempty"`
	Algorithm string `json:"algorithm,omitempty"`
	Encoding  string `json:"encoding,omitempty"`
	Header    string `json:"header,omitempty"`
	LowerHex  bool   `json:"lower_hex,omitempty"`
	// PrefixAlgorithm prefixes the signature GitHub-style ("sha256=<sig>").
	PrefixAlgorithm bool `json:"prefix_algorithm,omitempty"`
}

// Webhook is Fivetran's webhook object with standin's extension fields.
type Webhook struct {
	ID             string    `json:"id"`
	Type           string    `json:"type"`
	GroupID        string    `json:"group_id,omitempty"`
	URL            string    `json:"url"`
	Events         []string  `json:"events"`
	Active         bool      `json:"active"`
	Secret         string    `json:"secret"`
	CreatedAt      time.Time `json:"created_at"`
	CreatedBy      string    `json:"created_by"`
	Profile        string    `json:"profile,omitempty"`
	Signing        *Signing  `json:"signing,omitempty"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
	Faults         *Faults   `json:"faults,omitempty"`
	// SecretRotation is standin's secret rotation window of the last
	// secret change, when one was asked for.
	SecretRotation *SecretRotation `json:"secret_rotation,omitempty"`
}

// SecretRotation is a secret rotation window (standin's extension): until
// when the previous secret stays valid, and which secret signs a
// single-signature scheme meanwhile (new or old).
type SecretRotation struct {
	Until    time.Time `json:"until"`
	SignWith string    `json:"sign_with"`
}

// WebhookSpec is the body of a webhook creation.
type WebhookSpec struct {
	URL     string   `json:"url"`
	Events  []string `json:"events"`
	Active  *bool    `json:"active,omitempty"`
	Secret  string   `json:"secret,omitempty"`
	Profile string   `json:"profile,omitempty"`
	Signing *Signing `json:"signing,omitempty"`
	Faults  *Faults  `json:"faults,omitempty"`
}

// WebhookPatch is the body of a webhook update: only the non-nil fields are
// sent, and only they change. A Secret pointing to "" removes the secret.
type WebhookPatch struct {
	URL     *string   `json:"url,omitempty"`
	Events  *[]string `json:"events,omitempty"`
	Active  *bool     `json:"active,omitempty"`
	Secret  *string   `json:"secret,omitempty"`
	Profile *string   `json:"profile,omitempty"`
	Signing *Signing  `json:"signing,omitempty"`
	// Faults replaces the webhook's faults; &Faults{} removes them.
	Faults *Faults `json:"faults,omitempty"`
	// SecretRotationWindow, with Secret, keeps the previous secret valid
	// for this emulated duration ("24h", "3d"); SecretSignWith says which
	// secret signs a single-signature scheme meanwhile (new or old).
	// standin's extension.
	SecretRotationWindow string `json:"secret_rotation_window,omitempty"`
	SecretSignWith       string `json:"secret_sign_with,omitempty"`
}

// Page is one page of a list; NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// TestResult is what a receiver answered to POST /v1/webhooks/{id}/test.
type TestResult struct {
	Succeed bool   `json:"succeed"`
	Status  int    `json:"status"`
	Message string `json:"message"`
}

// Delivery states, as the API spells them (delivery.DeliveryState is their
// one home).
const (
	StatePending   = string(delivery.DeliveryPending)
	StateRetrying  = string(delivery.DeliveryRetrying)
	StateSucceeded = string(delivery.DeliverySucceeded)
	StateFailed    = string(delivery.DeliveryFailed)
	StateCancelled = string(delivery.DeliveryCancelled)
)

// Final reports whether a delivery in state will see no more scheduled
// attempts (delivery.DeliveryState.Terminal).
func Final(state string) bool { return delivery.DeliveryState(state).Terminal() }

// Delivery is one event on its way to one webhook.
type Delivery struct {
	ID             string     `json:"id"`
	EventID        string     `json:"event_id"`
	Event          string     `json:"event"`
	WebhookID      string     `json:"webhook_id"`
	Profile        string     `json:"profile"`
	State          string     `json:"state"`
	Attempts       int        `json:"attempts"`
	FirstAttemptAt *time.Time `json:"first_attempt_at,omitempty"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	LastStatus     *int       `json:"last_status,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	FinishedAt     *time.Time `json:"finished_at,omitempty"`
}

// Event is an emitted event.
type Event struct {
	ID      string `json:"id"`
	Event   string `json:"event"`
	GroupID string `json:"group_id,omitempty"`
	// Source is what was emitted, before a profile shaped it into a body.
	Source    json.RawMessage `json:"source,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
}

// EventDetail is an event with its deliveries, in creation order.
type EventDetail struct {
	Event      Event      `json:"event"`
	Deliveries []Delivery `json:"deliveries"`
}

// Attempt is one HTTP request made for a delivery.
type Attempt struct {
	Number    int       `json:"number"`
	Manual    bool      `json:"manual"`
	URL       string    `json:"url"`
	StartedAt time.Time `json:"started_at"`
	// EmulatedDelay is the emulated time since the first attempt that the
	// attempt was scheduled for: exactly 0, 6m, 27m36s, … on Fivetran's
	// schedule, whatever the time scale. It is "emulated_delay" in JSON, a
	// protobuf duration ("1656s").
	EmulatedDelay  time.Duration     `json:"-"`
	RequestHeaders map[string]string `json:"request_headers"`
	Status         int               `json:"status"`
	// Latency is how long the request took, "latency" in JSON.
	Latency         time.Duration     `json:"-"`
	Error           string            `json:"error,omitempty"`
	ResponseHeaders map[string]string `json:"response_headers"`
	ResponseExcerpt string            `json:"response_excerpt"`
	Succeeded       bool              `json:"succeeded"`
	// Fault lists the faults that changed the attempt, comma-separated.
	Fault string `json:"fault,omitempty"`
	// EmulatedAt is the emulated time of the attempt: the first attempt's
	// real time plus EmulatedDelay. Nil when the API does not send it.
	EmulatedAt *time.Time `json:"emulated_at,omitempty"`
}

// attemptJSON is Attempt with its durations as protobuf JSON strings.
type attemptJSON struct {
	*attemptFields
	EmulatedDelay string `json:"emulated_delay"`
	Latency       string `json:"latency"`
}

// attemptFields is Attempt without its JSON methods.
type attemptFields Attempt

// UnmarshalJSON reads an attempt, with its protobuf JSON durations
// ("1620s", "0.012s") as exact time.Durations.
func (a *Attempt) UnmarshalJSON(b []byte) error {
	v := attemptJSON{attemptFields: (*attemptFields)(a)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var err error
	if a.EmulatedDelay, err = parseDuration(v.EmulatedDelay); err != nil {
		return fmt.Errorf("attempt emulated_delay: %w", err)
	}
	if a.Latency, err = parseDuration(v.Latency); err != nil {
		return fmt.Errorf("attempt latency: %w", err)
	}
	return nil
}

// MarshalJSON writes an attempt as the API does, durations as protobuf
// JSON strings.
func (a Attempt) MarshalJSON() ([]byte, error) {
	return json.Marshal(attemptJSON{
		attemptFields: (*attemptFields)(&a),
		EmulatedDelay: formatDuration(a.EmulatedDelay),
		Latency:       formatDuration(a.Latency),
	})
}

// parseDuration parses a protobuf JSON duration; empty is 0.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	return d, nil
}

// formatDuration writes d exactly as a protobuf JSON duration ("360s",
// "0.012s").
func formatDuration(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	s := sign + strconv.FormatInt(int64(d/time.Second), 10)
	if ns := d % time.Second; ns != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%09d", int64(ns)), "0")
	}
	return s + "s"
}

// DeliveryDetail is a delivery with its event, request body and attempts.
type DeliveryDetail struct {
	Delivery    Delivery  `json:"delivery"`
	Event       *Event    `json:"event,omitempty"`
	RequestBody string    `json:"request_body"`
	Attempts    []Attempt `json:"attempts"`
	// RequestHeaders are the headers of the latest attempt.
	RequestHeaders map[string]string `json:"request_headers,omitempty"`
}

// EmitRequest is the body of POST /standin/v1/events. Empty fields get
// realistic defaults from standin.
type EmitRequest struct {
	Event           string          `json:"event"`
	ConnectorID     string          `json:"connector_id,omitempty"`
	ConnectorType   string          `json:"connector_type,omitempty"`
	ConnectorName   string          `json:"connector_name,omitempty"`
	GroupID         string          `json:"group_id,omitempty"`
	SyncID          string          `json:"sync_id,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`
	Status          string          `json:"status,omitempty"`
	Reason          string          `json:"reason,omitempty"`
	TaskType        string          `json:"task_type,omitempty"`
	RescheduledAt   string          `json:"rescheduled_at,omitempty"`
	FlowID          int64           `json:"flow_id,omitempty"`
	RunAttemptID    int64           `json:"run_attempt_id,omitempty"`
	SourceID        int64           `json:"source_id,omitempty"`
	SourceType      string          `json:"source_type,omitempty"`
	DestinationID   int64           `json:"destination_id,omitempty"`
	DestinationType string          `json:"destination_type,omitempty"`
	Details         string          `json:"details,omitempty"`
	// Faults, when set, are asked of this event's deliveries instead of
	// their webhooks' (a standin extension).
	Faults *Faults `json:"faults,omitempty"`
}

// Faults asks standin to misbehave on purpose, as real senders sometimes
// do (a standin extension; see delivery.Faults for each field).
type Faults struct {
	Seed             int64   `json:"seed,omitempty"`
	Duplicate        float64 `json:"duplicate,omitempty"`
	DuplicateCount   int     `json:"duplicate_count,omitempty"`
	Delay            string  `json:"delay,omitempty"`
	DelayProbability float64 `json:"delay_probability,omitempty"`
	BadSignature     float64 `json:"bad_signature,omitempty"`
	ExtraFields      float64 `json:"extra_fields,omitempty"`
	// Reorder delivers a simulated sync's sync_end before its sync_start.
	Reorder bool `json:"reorder,omitempty"`
	// BadSignatureSecret is "wrong" (default) or "previous".
	BadSignatureSecret string `json:"bad_signature_secret,omitempty"`
}

// EmittedDelivery is one delivery created for an emitted event.
type EmittedDelivery struct {
	ID        string `json:"id"`
	WebhookID string `json:"webhook_id"`
	State     string `json:"state"`
}

// EmittedEvent is the answer to an emitted event.
type EmittedEvent struct {
	ID         string            `json:"id"`
	Event      string            `json:"event"`
	CreatedAt  time.Time         `json:"created_at"`
	Deliveries []EmittedDelivery `json:"deliveries"`
}

// EmittedEvents is the answer to a batch of emitted events.
type EmittedEvents struct {
	// Items are the emitted events in the order they were sent.
	Items []EmittedEvent `json:"items"`
}

// ConnectionStatus is a connection's state.
type ConnectionStatus struct {
	SetupState       string `json:"setup_state"`
	SyncState        string `json:"sync_state"`
	UpdateState      string `json:"update_state"`
	IsHistoricalSync bool   `json:"is_historical_sync"`
}

// Connection is Fivetran's connection (connector) object, in part.
type Connection struct {
	ID            string            `json:"id"`
	GroupID       string            `json:"group_id"`
	Service       string            `json:"service"`
	Schema        string            `json:"schema"`
	Paused        bool              `json:"paused"`
	SyncFrequency int               `json:"sync_frequency"`
	ScheduleType  string            `json:"schedule_type"`
	CreatedAt     time.Time         `json:"created_at"`
	Status        *ConnectionStatus `json:"status,omitempty"`
}

// SimulateSyncRequest is the body of POST /standin/v1/connections/{id}/sync.
type SimulateSyncRequest struct {
	Status        string `json:"status,omitempty"`
	Reason        string `json:"reason,omitempty"`
	TaskType      string `json:"task_type,omitempty"`
	RescheduledAt string `json:"rescheduled_at,omitempty"`
	// Duration is the sync's length in emulated time, a Go duration.
	Duration string `json:"duration,omitempty"`
	Force    bool   `json:"force,omitempty"`
	Resync   bool   `json:"resync,omitempty"`
	// Faults, when set, are asked of the sync's deliveries instead of their
	// webhooks'.
	Faults *Faults `json:"faults,omitempty"`
}

// SimulatedSync is a started sync.
type SimulatedSync struct {
	Connection Connection `json:"connection"`
	SyncID     string     `json:"sync_id"`
	// EndsAt is the real time sync_end is due.
	EndsAt time.Time `json:"ends_at"`
	// Events are the events emitted so far, in order, with their
	// deliveries.
	Events []EmittedEvent `json:"events"`
}

// RunFlowRequest is the body of POST
// /standin/v1/portable/flows/{flow_id}/run.
type RunFlowRequest struct {
	Status          string `json:"status,omitempty"`
	Details         string `json:"details,omitempty"`
	Duration        string `json:"duration,omitempty"`
	RunAttemptID    int64  `json:"run_attempt_id,omitempty"`
	SourceID        int64  `json:"source_id,omitempty"`
	SourceType      string `json:"source_type,omitempty"`
	DestinationID   int64  `json:"destination_id,omitempty"`
	DestinationType string `json:"destination_type,omitempty"`
	// Faults, when set, are asked of the run's deliveries instead of their
	// webhooks'.
	Faults *Faults `json:"faults,omitempty"`
}

// FlowRun is a started Portable flow run.
type FlowRun struct {
	FlowID       Int64 `json:"flow_id"`
	RunAttemptID Int64 `json:"run_attempt_id"`
	// EndsAt is the real time sync_end is due.
	EndsAt time.Time `json:"ends_at"`
	// Events are the events emitted so far, in order, with their
	// deliveries.
	Events []EmittedEvent `json:"events"`
}
