package store

import "time"

// The registry of the sync simulator: the groups (destinations) and
// connections (connectors) of the emulated Fivetran account. Connection
// status is not stored as such: the API derives it from the latest simulated
// sync (ConnectionSync) and the current time.

// Group is a destination group of the emulated account.
type Group struct {
	// Seq is the store's insertion sequence number: groups list in Seq order
	// and list cursors carry it.
	Seq       int64
	ID        string
	Name      string
	CreatedAt time.Time
}

// GroupListParams selects a page of groups in stable creation order.
type GroupListParams struct {
	// AfterSeq, when positive, starts the page after the group with this Seq
	// (exclusive).
	AfterSeq int64
	// Limit is the page size; must be positive.
	Limit int
}

// Connection schedule types.
const (
	ScheduleTypeAuto   = "auto"
	ScheduleTypeManual = "manual"
)

// Connection is a connection (Fivetran's older word: connector) of the
// emulated account. Its events carry Service as connector_type, ID as
// connector_id, Schema as connector_name and GroupID as
// destination_group_id.
type Connection struct {
	// Seq is the store's insertion sequence number: connections list in Seq
	// order and list cursors carry it.
	Seq     int64
	ID      string
	GroupID string // must name an existing group
	Service string // the connector type, e.g. google_cloud_postgresql
	Schema  string // the destination schema, which is also the connector name
	Paused  bool
	// SyncFrequency is the sync interval in minutes.
	SyncFrequency int
	// ScheduleType is ScheduleTypeAuto or ScheduleTypeManual.
	ScheduleType string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// SucceededAt and FailedAt are the ends of the last successful and the
	// last failed sync among those that ended before Sync started; nil when
	// there was none. The API folds Sync's own outcome in once it has ended.
	SucceededAt *time.Time
	FailedAt    *time.Time
	// Sync is the latest simulated sync, running or ended; nil before the
	// first.
	Sync *ConnectionSync
	// ResyncPending is set when a historical re-sync was requested while the
	// connection was paused: it runs when the connection is resumed.
	ResyncPending bool
	// Version counts the updates of the connection, from 1 at creation; an
	// update with IfVersion applies only to that version.
	Version int64
	// Extra holds the connection's other fields (service_version,
	// connected_by, daily_sync_time, config, ...) as one JSON object that the
	// store keeps byte for byte without interpreting it; nil when none. The
	// API defines its shape.
	Extra []byte
}

// ConnectionSync is one simulated sync: it started at StartedAt (when its
// sync_start was emitted) and ends at EndsAt, when its sync_end, emitted in
// advance with that due time, is delivered. All times are real times.
type ConnectionSync struct {
	// ID is the sync_id shared by the sync's sync_start and sync_end.
	ID        string    `json:"id"`
	StartedAt time.Time `json:"started_at"`
	EndsAt    time.Time `json:"ends_at"`
	// Status is the outcome sent in sync_end: SUCCESSFUL, FAILURE,
	// FAILURE_WITH_TASK, RESCHEDULED or FAILED.
	Status string `json:"status"`
	// Reason, TaskType and RescheduledAt are sync_end's optional details.
	Reason        string    `json:"reason,omitempty"`
	TaskType      string    `json:"task_type,omitempty"`
	RescheduledAt time.Time `json:"rescheduled_at,omitzero"`
	// Historical marks a historical (re-)sync.
	Historical bool `json:"historical,omitempty"`
	// EndEventID is the id of the sync_end event, so that an interrupted sync
	// can cancel its deliveries.
	EndEventID string `json:"end_event_id,omitempty"`
}

// ConnectionListParams selects a page of connections in stable creation
// order.
type ConnectionListParams struct {
	// GroupID, when set, lists only that group's connections.
	GroupID string
	// Schema, when set, lists only the connections with exactly this schema
	// name; it combines with GroupID.
	Schema string
	// AfterSeq, when positive, starts the page after the connection with
	// this Seq (exclusive).
	AfterSeq int64
	// Limit is the page size; must be positive.
	Limit int
}

// ConnectionCreateParams creates a connection and, in the same transaction,
// the events that announce it (create_connector) with their deliveries and
// River jobs.
type ConnectionCreateParams struct {
	// Connection is stored with Version 1; its Seq and Version are set and its
	// times normalized to what the store keeps.
	Connection *Connection
	Events     []EventCreateParams
}

// ConnectionUpdateParams changes the non-nil fields of a connection and, in
// the same transaction, cancels the deliveries of an interrupted sync's
// sync_end and creates events with their deliveries and River jobs: all of it
// or nothing.
type ConnectionUpdateParams struct {
	ID string
	// IfVersion, when positive, applies the update only if the connection is
	// at this Version; otherwise the update fails with ErrConflict and
	// nothing is written.
	IfVersion     int64
	Paused        *bool
	SyncFrequency *int
	ScheduleType  *string
	SucceededAt   *time.Time
	FailedAt      *time.Time
	Sync          *ConnectionSync
	ResyncPending *bool
	// Extra, when non-nil, replaces the connection's Extra (a JSON object);
	// merging is the caller's business (read, merge, update with IfVersion).
	Extra []byte
	// UpdatedAt is the new UpdatedAt; it also stamps cancelled deliveries.
	UpdatedAt time.Time
	// CancelEventID, when set, moves the pending and retrying deliveries of
	// that event to DeliveryCancelled.
	CancelEventID string
	// Events are created as by Store.EventCreate, in this transaction.
	Events []EventCreateParams
}

// WebhookHealthParams records the outcome of one delivery attempt for the
// webhook's health: a success clears FailingSince, a failure sets it to At
// unless it is already set.
type WebhookHealthParams struct {
	ID        string
	Succeeded bool
	At        time.Time
}
