package delivery

import (
	"errors"
	"slices"
)

// ErrUnknownEvent is returned (wrapped) when an event name is not in a
// profile's catalog.
var ErrUnknownEvent = errors.New("unknown event")

// ErrUnknownProfile is returned (wrapped) when a Profile is neither
// ProfileFivetran, ProfilePortable nor empty (which means ProfileFivetran).
var ErrUnknownProfile = errors.New("unknown profile")

// Fivetran event names (docs/fidelity.md §2).
const (
	EventSyncStart                  = "sync_start"
	EventSyncEnd                    = "sync_end"
	EventStatus                     = "status" // deprecated by Fivetran, still sent
	EventDbtRunStart                = "dbt_run_start"
	EventDbtRunSucceeded            = "dbt_run_succeeded"
	EventDbtRunFailed               = "dbt_run_failed"
	EventTransformationRunStart     = "transformation_run_start"
	EventTransformationRunSucceeded = "transformation_run_succeeded"
	EventTransformationRunFailed    = "transformation_run_failed"
	EventConnectionSuccessful       = "connection_successful"
	EventConnectionFailure          = "connection_failure"
	EventCreateConnector            = "create_connector"
	EventPauseConnector             = "pause_connector"
	EventResumeConnector            = "resume_connector"
	EventEditConnector              = "edit_connector"
	EventDeleteConnector            = "delete_connector"
	EventForceUpdateConnector       = "force_update_connector"
	EventResyncConnector            = "resync_connector"
	EventResyncTable                = "resync_table"
	// EventTestEvent is only sent by Fivetran's URL check (URLCheckBody); it
	// is not in the catalog and cannot be subscribed to or triggered.
	EventTestEvent = "test_event"
)

// Portable event names (docs/fidelity.md §3). Portable also uses EventSyncStart
// (flow started) and EventSyncEnd (flow ended, successfully or not).
const (
	// EventTest is sent by Portable's Test button.
	EventTest = "test"
)

// Fivetran sync_end statuses.
const (
	StatusSuccessful      = "SUCCESSFUL"
	StatusFailure         = "FAILURE"
	StatusFailureWithTask = "FAILURE_WITH_TASK"
	StatusRescheduled     = "RESCHEDULED"
	StatusFailed          = "FAILED"
)

// SyncEndStatuses are the values Fivetran sends in sync_end's data.status;
// docs/fidelity.md's sources show the first three.
var SyncEndStatuses = []string{StatusSuccessful, StatusFailure, StatusFailureWithTask, StatusRescheduled, StatusFailed}

// fivetranCatalog is sorted.
var fivetranCatalog = sorted([]string{
	EventSyncStart, EventSyncEnd, EventStatus,
	EventDbtRunStart, EventDbtRunSucceeded, EventDbtRunFailed,
	EventTransformationRunStart, EventTransformationRunSucceeded, EventTransformationRunFailed,
	EventConnectionSuccessful, EventConnectionFailure,
	EventCreateConnector, EventPauseConnector, EventResumeConnector, EventEditConnector,
	EventDeleteConnector, EventForceUpdateConnector, EventResyncConnector, EventResyncTable,
})

// portableCatalog is sorted.
var portableCatalog = sorted([]string{EventSyncStart, EventSyncEnd, EventTest})

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}

// Catalog returns the event names profile p can send, sorted; nil for an
// unknown profile. The empty Profile means ProfileFivetran. The caller owns
// the returned slice.
func Catalog(p Profile) []string {
	switch p.OrDefault() {
	case ProfileFivetran:
		return slices.Clone(fivetranCatalog)
	case ProfilePortable:
		return slices.Clone(portableCatalog)
	}
	return nil
}

// HasEvent reports whether name is in p's catalog.
func (p Profile) HasEvent(name string) bool {
	switch p.OrDefault() {
	case ProfileFivetran:
		_, ok := slices.BinarySearch(fivetranCatalog, name)
		return ok
	case ProfilePortable:
		_, ok := slices.BinarySearch(portableCatalog, name)
		return ok
	}
	return false
}

// ValidSyncEndStatus reports whether status is one of SyncEndStatuses.
func ValidSyncEndStatus(status string) bool {
	return slices.Contains(SyncEndStatuses, status)
}

// isDbtRun reports whether event is one of the dbt_run_* events, which carry
// no connector fields.
func isDbtRun(event string) bool {
	return event == EventDbtRunStart || event == EventDbtRunSucceeded || event == EventDbtRunFailed
}

// isTransformationRun reports whether event is one of the
// transformation_run_* events.
func isTransformationRun(event string) bool {
	return event == EventTransformationRunStart || event == EventTransformationRunSucceeded ||
		event == EventTransformationRunFailed
}
