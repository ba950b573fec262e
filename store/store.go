// Package store defines standin's persistence contract: the domain records
// (webhooks, events, deliveries, attempts, and the sync simulator's groups
// and connections), the Store interface that both backends implement, and
// the River job arguments that a delivery is worked from. Backends live in
// store/sqlite and store/postgres; store/storetest is the conformance suite
// both run.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/standin-dev/standin/delivery"
)

// Sentinel errors. Backends wrap them with %w so callers test with errors.Is.
var (
	// ErrNotFound is returned when a record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned when a record with the same unique key exists.
	ErrConflict = errors.New("conflict")
)

// Webhook types.
const (
	WebhookTypeAccount = "account"
	WebhookTypeGroup   = "group"
)

// Webhook is a configured receiver.
type Webhook struct {
	// Seq is the store's insertion sequence number: webhooks list in Seq
	// order and list cursors carry it.
	Seq       int64
	ID        string
	Type      string // WebhookTypeAccount or WebhookTypeGroup
	GroupID   string // set for group webhooks
	URL       string
	Events    []string
	Active    bool
	Secret    string // never returned by the API
	CreatedAt time.Time
	CreatedBy string
	UpdatedAt time.Time
	// Profile is the sender profile; empty means delivery.ProfileFivetran.
	Profile delivery.Profile
	// Signing is the signing scheme; the zero value is Fivetran's default.
	Signing delivery.Signing
	// DisabledReason says why standin deactivated the webhook (e.g. it failed
	// every delivery for 3 emulated days); empty when it did not.
	DisabledReason string
	// FailingSince is the real time of the first failed delivery attempt
	// after the last successful one; nil while the webhook is healthy. See
	// Store.WebhookHealthRecord.
	FailingSince *time.Time
	// Faults are the misbehaviour asked of the webhook's deliveries (an
	// emulator extension); the zero value asks for none.
	Faults delivery.Faults
	// Rotation is the secret rotation window (standin's extension) opened
	// by the last change of Secret; nil when there is none.
	Rotation *delivery.Rotation
}

// WebhookListParams selects a page of webhooks in stable creation order.
type WebhookListParams struct {
	// AfterSeq, when positive, starts the page after the webhook with this
	// Seq (exclusive).
	AfterSeq int64
	// Limit is the page size; must be positive.
	Limit int
}

// WebhookUpdateParams changes only the fields that are non-nil.
type WebhookUpdateParams struct {
	ID             string
	URL            *string
	Events         *[]string
	Active         *bool
	Secret         *string
	Profile        *delivery.Profile
	Signing        *delivery.Signing
	Faults         *delivery.Faults
	DisabledReason *string
	// Rotation, when non-nil, replaces the secret rotation window; one
	// without a PreviousSecret removes it.
	Rotation *delivery.Rotation
	// ClearFailingSince resets the webhook's health (FailingSince to nil), as
	// when a user activates it again.
	ClearFailingSince bool
	UpdatedAt         time.Time
}

// Event is one emitted event: what happened, independent of who receives it.
type Event struct {
	ID        string
	Name      string
	GroupID   string // the destination group the event belongs to; used for fan-out
	Source    json.RawMessage
	CreatedAt time.Time
}

// DeliveryState is a delivery's state; see delivery.DeliveryState.
type DeliveryState = delivery.DeliveryState

// Delivery states (see delivery.DeliveryState).
const (
	DeliveryPending   = delivery.DeliveryPending   // created, not attempted yet
	DeliveryRetrying  = delivery.DeliveryRetrying  // failed at least once, a retry is scheduled
	DeliverySucceeded = delivery.DeliverySucceeded // the receiver accepted it
	DeliveryFailed    = delivery.DeliveryFailed    // the retry window ran out
	DeliveryCancelled = delivery.DeliveryCancelled // retries were cancelled (by a user or because the webhook is gone)
)

// Delivery is one event on its way to one webhook.
type Delivery struct {
	ID        string
	EventID   string
	EventName string
	WebhookID string
	Profile   delivery.Profile
	// Body is the exact request body, built once when the event was emitted.
	Body     []byte
	State    DeliveryState
	Attempts int // number of attempts recorded, manual ones included
	// ManualAttempts is how many of Attempts were manual (redeliveries):
	// the others are the schedule's, so a scheduled attempt is retry
	// number Attempts - ManualAttempts.
	ManualAttempts int
	// FirstAttemptAt is the real time of the first scheduled attempt; the
	// retry schedule counts from it.
	FirstAttemptAt *time.Time
	// NextAttemptAt is the real time the next scheduled attempt is due.
	NextAttemptAt *time.Time
	LastStatus    int
	LastError     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	FinishedAt    *time.Time
	// Faults are the misbehaviour asked of this delivery: the emit's, or
	// else its webhook's when it was emitted; the zero value asks for none.
	Faults delivery.Faults
}

// Attempt is one HTTP request made for a delivery.
type Attempt struct {
	ID         int64
	DeliveryID string
	Number     int  // 1-based, in order of recording
	Manual     bool // a redelivery outside the schedule
	URL        string
	// StartedAt is the real time the request started.
	StartedAt time.Time
	// EmulatedDelay is the emulated time since the first attempt that this
	// attempt was scheduled for (0, 6m, 27m, ... for Fivetran); with a time
	// scale of N the real delay was EmulatedDelay/N.
	EmulatedDelay   time.Duration
	RequestHeaders  http.Header
	StatusCode      int // 0 when no response was received
	Latency         time.Duration
	Error           string
	ResponseHeaders http.Header
	// ResponseExcerpt is a bounded prefix of the response body.
	ResponseExcerpt []byte
	Succeeded       bool
	// Fault lists the faults (delivery.FaultKinds) that changed this
	// attempt, comma-separated; empty for a genuine attempt.
	Fault string
}

// DeliveryNew is a delivery to create together with its event.
type DeliveryNew struct {
	ID        string
	WebhookID string
	Profile   delivery.Profile
	Body      []byte
	// RunAt is when the first attempt is due; zero means now.
	RunAt time.Time
	// Faults are the misbehaviour asked of the delivery; zero for none.
	Faults delivery.Faults
}

// EventCreateParams creates an event, its deliveries and their River jobs
// in a single transaction.
type EventCreateParams struct {
	Event      Event
	Deliveries []DeliveryNew
}

// DeliveryListParams filters and pages deliveries, newest first.
type DeliveryListParams struct {
	WebhookID string
	EventID   string
	EventName string
	State     DeliveryState
	Since     time.Time // CreatedAt >= Since when set
	Until     time.Time // CreatedAt < Until when set
	// BeforeID, when set, starts the page after this delivery (exclusive) in
	// newest-first order.
	BeforeID string
	Limit    int
}

// EventListParams filters and pages events, newest first (CreatedAt, then
// ID, descending).
type EventListParams struct {
	Name  string    // only events of this name when set
	Since time.Time // CreatedAt >= Since when set
	Until time.Time // CreatedAt < Until when set
	// BeforeID, when set, starts the page after this event (exclusive) in
	// newest-first order. An id that names no event is an error wrapping
	// ErrNotFound.
	BeforeID string
	// Limit is the page size; must be positive.
	Limit int
}

// AttemptRecordParams records an attempt and moves its delivery to its new
// state in one transaction.
type AttemptRecordParams struct {
	Attempt        Attempt
	State          DeliveryState
	FirstAttemptAt *time.Time
	NextAttemptAt  *time.Time
	UpdatedAt      time.Time
	// RetryJobAt, when not nil, makes the same transaction insert the job
	// of the delivery's next scheduled attempt (DeliverArgs), to run from
	// *RetryJobAt: the attempt was a first one made by a batch job
	// (DeliverBatchArgs), which hands the rest of the schedule to a job of
	// the delivery's own. Recording the attempt and inserting its job
	// together is what keeps the delivery from being dropped by a crash
	// between the two.
	RetryJobAt *time.Time
}

// DeliveryWithWebhook is a delivery and its webhook, nil when the webhook
// was deleted.
type DeliveryWithWebhook struct {
	Delivery *Delivery
	Webhook  *Webhook
}

// SettingTimeScale is the setting key of the deployment's time scale, as
// strconv.FormatFloat(scale, 'g', -1, 64): every process of one deployment
// schedules retries with it.
const SettingTimeScale = "time_scale"

// JobMaxAttempts is the River max_attempts of delivery jobs. Receiver
// failures never count against it (they snooze); it bounds retries after
// standin's own failures (database unreachable, process killed), which the
// worker's retry policy spaces at most 30 s apart, so about 8 hours of
// outage are survived.
const JobMaxAttempts = 1000

// DeliverArgs are the River job arguments of one delivery attempt.
type DeliverArgs struct {
	DeliveryID string `json:"delivery_id"`
	// Manual marks a redelivery requested by a user, outside the schedule.
	Manual bool `json:"manual,omitempty"`
}

// Kind implements river.JobArgs.
func (DeliverArgs) Kind() string { return "standin_deliver" }

// DeliverBatchArgs are the River job arguments of the first attempts of
// deliveries emitted together, due at once: one job for many deliveries
// saves River's insert, fetch and completion of a job per delivery. A run
// makes the first scheduled attempt of each delivery that has none yet; a
// delivery whose first attempt fails gets a job of its own (DeliverArgs)
// in the transaction that records it (AttemptRecordParams.RetryJobAt).
type DeliverBatchArgs struct {
	DeliveryIDs []string `json:"delivery_ids"`
}

// Kind implements river.JobArgs.
func (DeliverBatchArgs) Kind() string { return "standin_deliver_batch" }

// QueueBatch is the River queue of batch jobs (DeliverBatchArgs); the
// jobs of single deliveries go in River's default queue. Each queue has its
// own share of a process's workers (worker.Config.MaxWorkers).
const QueueBatch = "standin_batch"

// BatchJobMax is the most deliveries one batch job (DeliverBatchArgs)
// carries; the deliveries of a larger emit are split among several.
const BatchJobMax = 100

// Queue is a River client on the store's own database, seen through the
// methods that do not depend on the driver's transaction type.
type Queue interface {
	// ID is the River client's id: the name it works jobs under (a job
	// row's attempted_by) and holds leadership under (river_leader).
	ID() string
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Component string // "standin" or "river"
	Version   int64
	Name      string
	Applied   bool
	AppliedAt *time.Time
}

// Store is standin's persistence. Every method is safe for concurrent use.
type Store interface {
	WebhookCreate(ctx context.Context, wh *Webhook) error
	WebhookGetByID(ctx context.Context, id string) (*Webhook, error)
	WebhookList(ctx context.Context, params WebhookListParams) ([]*Webhook, error)
	WebhookUpdate(ctx context.Context, params WebhookUpdateParams) (*Webhook, error)
	WebhookDelete(ctx context.Context, id string) error
	// WebhookListSubscribed returns the active webhooks that receive the
	// named event of the given group: account webhooks, and group webhooks
	// of that group, whose events include the name.
	WebhookListSubscribed(ctx context.Context, eventName, groupID string) ([]*Webhook, error)
	// WebhookHealthRecord records a delivery attempt's outcome for the
	// webhook's health (see WebhookHealthParams) and returns the webhook.
	WebhookHealthRecord(ctx context.Context, params WebhookHealthParams) (*Webhook, error)

	// EventCreate writes the event, its deliveries and their River jobs in
	// one transaction: all of them or none. Deliveries due at once share
	// batch jobs (DeliverBatchArgs) for their first attempts, unless there
	// is only one; the others have a job each (DeliverArgs), scheduled at
	// their RunAt.
	EventCreate(ctx context.Context, params EventCreateParams) ([]*Delivery, error)
	EventGetByID(ctx context.Context, id string) (*Event, error)
	// EventCreateMany is EventCreate for several events in one transaction
	// (a simulated run's sync_start and its delayed sync_end); it returns
	// the deliveries of all of them, in order.
	EventCreateMany(ctx context.Context, params []EventCreateParams) ([]*Delivery, error)

	// GroupCreate inserts g and sets its Seq; ErrConflict when the id exists.
	GroupCreate(ctx context.Context, g *Group) error
	GroupGetByID(ctx context.Context, id string) (*Group, error)
	GroupList(ctx context.Context, params GroupListParams) ([]*Group, error)

	// ConnectionCreate inserts the connection and creates its events in one
	// transaction; ErrConflict when the id exists, ErrNotFound when its
	// group does not.
	ConnectionCreate(ctx context.Context, params ConnectionCreateParams) ([]*Delivery, error)
	ConnectionGetByID(ctx context.Context, id string) (*Connection, error)
	ConnectionList(ctx context.Context, params ConnectionListParams) ([]*Connection, error)
	// ConnectionUpdate applies params in one transaction (see
	// ConnectionUpdateParams) and returns the connection and the deliveries
	// of the events it created.
	ConnectionUpdate(ctx context.Context, params ConnectionUpdateParams) (*Connection, []*Delivery, error)
	// EventList returns a page of events matching params, newest first.
	EventList(ctx context.Context, params EventListParams) ([]*Event, error)

	DeliveryGetByID(ctx context.Context, id string) (*Delivery, error)
	// DeliveryGetManyWithWebhook returns deliveries with their webhooks, as
	// a delivery attempt needs both: the worker reads the deliveries of
	// concurrent attempts together (in one round trip on PostgreSQL). The
	// result maps each id that exists to its delivery and its webhook (nil
	// when the webhook was deleted); ids that do not exist are absent, which
	// is not an error. Deliveries of one webhook share its *Webhook, which
	// callers must not modify.
	DeliveryGetManyWithWebhook(ctx context.Context, ids []string) (map[string]DeliveryWithWebhook, error)
	DeliveryList(ctx context.Context, params DeliveryListParams) ([]*Delivery, error)
	// DeliveryEnqueue inserts a River job for an existing delivery (a
	// redelivery).
	DeliveryEnqueue(ctx context.Context, args DeliverArgs) error
	// DeliveryCancel moves a pending or retrying delivery to cancelled.
	DeliveryCancel(ctx context.Context, id string, at time.Time) (*Delivery, error)

	// AttemptRecord inserts the attempt and updates its delivery in one
	// transaction. Attempt.Number is assigned by the store. A delivery that
	// was cancelled while the attempt was in flight stays cancelled (no next
	// attempt, its FinishedAt kept) unless params.State is
	// DeliverySucceeded: the attempt is recorded either way.
	AttemptRecord(ctx context.Context, params AttemptRecordParams) (*Attempt, error)
	// AttemptRecordMany is AttemptRecord for several attempts in one
	// transaction (one round trip on PostgreSQL), applied in order, so two
	// attempts of one delivery are numbered in order. It records all of them
	// or, when one fails (its delivery does not exist, say), none; the error
	// names the delivery. The worker records the attempts of concurrent job
	// runs together with it.
	AttemptRecordMany(ctx context.Context, params []AttemptRecordParams) ([]*Attempt, error)
	AttemptListByDelivery(ctx context.Context, deliveryID string) ([]*Attempt, error)
	// AttemptLastID returns the largest attempt id (0 when there is none):
	// one indexed read that tells a process that attempts were recorded,
	// by itself or by another process sharing the database.
	AttemptLastID(ctx context.Context) (int64, error)

	// CheckCreate stores a receiver check's report; ErrConflict when the id
	// exists.
	CheckCreate(ctx context.Context, c *Check) error
	// CheckGetByID returns a stored check; ErrNotFound when there is none.
	CheckGetByID(ctx context.Context, id string) (*Check, error)
	// SettingInit records value under key unless the key has a value
	// already, and returns the value stored: value, or the one a process
	// recorded before. Processes sharing a database agree on settings
	// (SettingTimeScale) through it.
	SettingInit(ctx context.Context, key, value string) (string, error)
	// SettingPut records value under key, replacing any value it had.
	SettingPut(ctx context.Context, key, value string) error

	// StatsGet counts events, deliveries by state, attempts by outcome and
	// status class (with a latency histogram), webhooks and River jobs by
	// state, all read in one snapshot.
	StatsGet(ctx context.Context, params StatsParams) (*Stats, error)

	// Queue builds a River client for this store's database with the given
	// configuration (workers, queues, intervals).
	Queue(config *river.Config) (Queue, error)

	// Migrate applies every pending migration, standin's and River's.
	Migrate(ctx context.Context) error
	// MigrationStatus lists standin's and River's migrations and whether
	// each is applied.
	MigrationStatus(ctx context.Context) ([]MigrationStatus, error)

	// Close releases the database.
	Close() error
}
