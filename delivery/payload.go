package delivery

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Source describes what happened; Build renders it for a profile. Fields a
// profile does not use are ignored by Build (Fivetran ignores the Portable
// fields and vice versa).
type Source struct {
	// Event is the event name; it must be in the profile's Catalog.
	Event string `json:"event"`
	// Created is when the event happened; Build requires it. Fivetran renders
	// it with milliseconds, Portable with whole seconds (both truncated, UTC).
	Created time.Time `json:"created"`
	// ConnectorType is Fivetran's connector_type (the connection's service).
	ConnectorType string `json:"connector_type,omitempty"`
	// ConnectorID is Fivetran's connector_id.
	ConnectorID string `json:"connector_id,omitempty"`
	// ConnectorName is Fivetran's connector_name (the connection's schema).
	ConnectorName string `json:"connector_name,omitempty"`
	// SyncID is Fivetran's sync_id, a UUID shared by a sync's sync_start and
	// sync_end.
	SyncID string `json:"sync_id,omitempty"`
	// GroupID is Fivetran's destination_group_id.
	GroupID string `json:"group_id,omitempty"`
	// Data is Fivetran's "data" object; nil (or JSON null) omits the key.
	Data json.RawMessage `json:"data,omitempty"`

	// FlowID is Portable's flow_id.
	FlowID int64 `json:"flow_id,omitempty"`
	// RunAttemptID is Portable's run_attempt_id.
	RunAttemptID int64 `json:"run_attempt_id,omitempty"`
	// SourceID is Portable's source_id.
	SourceID int64 `json:"source_id,omitempty"`
	// SourceType is Portable's source_type, e.g. "hubspot_crm".
	SourceType string `json:"source_type,omitempty"`
	// DestinationID is Portable's destination_id.
	DestinationID int64 `json:"destination_id,omitempty"`
	// DestinationType is Portable's destination_type, e.g. "bigquery".
	DestinationType string `json:"destination_type,omitempty"`
	// Status is Portable's sync_end status: "SUCCESSFUL" or a failure status.
	Status string `json:"status,omitempty"`
	// Details is Portable's sync_end details text.
	Details string `json:"details,omitempty"`
}

// Values Source.Defaults fills in. They are realistic but fixed, so payloads
// are reproducible (apart from the fresh sync_id).
const (
	// DefaultConnectorType is the connector_type of the real capture in
	// docs/fidelity.md §2.
	DefaultConnectorType = "google_cloud_postgresql"
	// DefaultConnectorID is a Fivetran-style connector id.
	DefaultConnectorID = "assimilate_seem"
	// DefaultConnectorName is the connector name (schema) of the real
	// capture, which is also the schema of DefaultConnectorID in standin's
	// seed registry: the defaults describe that registered connection.
	DefaultConnectorName = "ftar_pg"
	// DefaultGroupID is a Fivetran-style destination group id.
	DefaultGroupID = "inappropriate_implode"
	// DefaultDbtJobID is the dbtJobId of default dbt_run_* data.
	DefaultDbtJobID = "steady_harbor"
	// DefaultDbtJobName is the dbtJobName of default dbt_run_* data.
	DefaultDbtJobName = "daily_models"
	// DefaultTransformationID is the transformationId of default
	// transformation_run_* data.
	DefaultTransformationID = "gentle_canyon"
	// DefaultTransformationName is the transformationName of default
	// transformation_run_* data.
	DefaultTransformationName = "daily_rollup"

	// DefaultFlowID is Portable's default flow_id.
	DefaultFlowID int64 = 3120
	// DefaultRunAttemptID is Portable's default run_attempt_id.
	DefaultRunAttemptID int64 = 581204
	// DefaultSourceID is Portable's default source_id.
	DefaultSourceID int64 = 1207
	// DefaultSourceType is Portable's default source_type.
	DefaultSourceType = "hubspot_crm"
	// DefaultDestinationID is Portable's default destination_id.
	DefaultDestinationID int64 = 904
	// DefaultDestinationType is Portable's default destination_type.
	DefaultDestinationType = "bigquery"
	// DefaultDetailsSuccessful is Portable's default sync_end details for
	// status SUCCESSFUL.
	DefaultDetailsSuccessful = "The flow finished successfully."
	// DefaultDetailsFailed is Portable's default sync_end details for any
	// other status.
	DefaultDetailsFailed = "The flow failed: the source API answered HTTP 401 Unauthorized."
)

// Time layouts of the wire formats.
const (
	fivetranLayout = "2006-01-02T15:04:05.000Z" // always applied to a UTC time
	portableLayout = "2006-01-02T15:04:05Z"     // always applied to a UTC time
)

// FivetranTime formats t the way Fivetran writes timestamps (created,
// created_at): RFC 3339 in UTC with exactly three fractional digits,
// truncated, e.g. "2026-05-22T00:06:08.638Z".
func FivetranTime(t time.Time) string {
	return string(t.UTC().AppendFormat(nil, fivetranLayout))
}

// Build renders the exact request body of s for profile p: compact JSON, no
// trailing newline. The empty Profile means ProfileFivetran.
//
// Fivetran keys come in the order event, created, connector_type,
// connector_id, connector_name, sync_id, destination_group_id, data; keys
// whose value is empty are omitted. dbt_run_* events never carry connector
// fields or sync_id (the real sender has none for them), so Build leaves
// those out even when s sets them. data is re-compacted with its own key
// order preserved; it must be a JSON object.
//
// Portable keys are sorted: created, destination_id, destination_type,
// event, flow_id, run_attempt_id, source_id, source_type, and for sync_end
// also details and status in their sorted places. Every key of that set is
// always present (zero values included); ids are JSON numbers.
//
// Strings are escaped like encoding/json, except that <, > and & are left
// as they are.
//
// Build returns an error wrapping ErrUnknownEvent when s.Event is not in p's
// catalog, wrapping ErrUnknownProfile for an unknown p, and a descriptive
// error for a zero Created or invalid Data.
func Build(p Profile, s Source) ([]byte, error) {
	p = p.OrDefault()
	if !p.Valid() {
		return nil, fmt.Errorf("build payload: %w %q", ErrUnknownProfile, string(p))
	}
	if !p.HasEvent(s.Event) {
		return nil, fmt.Errorf("build %s payload: %w %q", p, ErrUnknownEvent, s.Event)
	}
	if s.Created.IsZero() {
		return nil, fmt.Errorf("build %s %s payload: created is required", p, s.Event)
	}
	if p == ProfilePortable {
		return buildPortable(s), nil
	}
	data, err := compactObject(s.Data)
	if err != nil {
		return nil, fmt.Errorf("build %s %s payload: %w", p, s.Event, err)
	}
	return buildFivetran(s, data), nil
}

func buildFivetran(s Source, data []byte) []byte {
	b := make([]byte, 0, 192+len(s.ConnectorType)+len(s.ConnectorID)+len(s.ConnectorName)+len(data))
	b = append(b, `{"event":`...)
	b = appendJSONString(b, s.Event)
	b = append(b, `,"created":"`...)
	b = s.Created.UTC().AppendFormat(b, fivetranLayout)
	b = append(b, '"')
	if !isDbtRun(s.Event) {
		b = appendStringField(b, `,"connector_type":`, s.ConnectorType)
		b = appendStringField(b, `,"connector_id":`, s.ConnectorID)
		b = appendStringField(b, `,"connector_name":`, s.ConnectorName)
		b = appendStringField(b, `,"sync_id":`, s.SyncID)
	}
	b = appendStringField(b, `,"destination_group_id":`, s.GroupID)
	if data != nil {
		b = append(b, `,"data":`...)
		b = append(b, data...)
	}
	return append(b, '}')
}

func buildPortable(s Source) []byte {
	b := make([]byte, 0, 256+len(s.Details))
	b = append(b, `{"created":"`...)
	b = s.Created.UTC().AppendFormat(b, portableLayout)
	b = append(b, `","destination_id":`...)
	b = strconv.AppendInt(b, s.DestinationID, 10)
	b = append(b, `,"destination_type":`...)
	b = appendJSONString(b, s.DestinationType)
	syncEnd := s.Event == EventSyncEnd
	if syncEnd {
		b = append(b, `,"details":`...)
		b = appendJSONString(b, s.Details)
	}
	b = append(b, `,"event":`...)
	b = appendJSONString(b, s.Event)
	b = append(b, `,"flow_id":`...)
	b = strconv.AppendInt(b, s.FlowID, 10)
	b = append(b, `,"run_attempt_id":`...)
	b = strconv.AppendInt(b, s.RunAttemptID, 10)
	b = append(b, `,"source_id":`...)
	b = strconv.AppendInt(b, s.SourceID, 10)
	b = append(b, `,"source_type":`...)
	b = appendJSONString(b, s.SourceType)
	if syncEnd {
		b = append(b, `,"status":`...)
		b = appendJSONString(b, s.Status)
	}
	return append(b, '}')
}

// compactObject returns raw compacted, nil when raw is empty or JSON null,
// and an error when raw is not a single valid JSON object.
func compactObject(raw json.RawMessage) ([]byte, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, trimmed); err != nil {
		return nil, fmt.Errorf("data is not valid JSON: %w", err)
	}
	if buf.Bytes()[0] != '{' {
		return nil, fmt.Errorf("data must be a JSON object, got %s", jsonKind(buf.Bytes()[0]))
	}
	return buf.Bytes(), nil
}

func jsonKind(first byte) string {
	switch first {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

// appendStringField appends prefix and the JSON string v when v is not empty.
func appendStringField(b []byte, prefix, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, prefix...)
	return appendJSONString(b, v)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped like encoding/json
// with HTML escaping off: quotes, backslashes and control characters are
// escaped, invalid UTF-8 becomes U+FFFD, U+2028 and U+2029 are escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Defaults returns s with what the caller left empty filled with realistic
// values for profile p (the empty Profile means ProfileFivetran). Created is
// left as given. The result is deterministic except for a fresh SyncID.
//
// Fivetran:
//   - connector events get DefaultConnectorType, DefaultConnectorID and
//     DefaultConnectorName; every event gets DefaultGroupID;
//   - sync_start and sync_end get a fresh SyncID (UUID v4, crypto/rand);
//   - sync_end gets data {"status":"SUCCESSFUL"};
//   - dbt_run_* get no connector fields and a full data object shaped like
//     the one in docs/fidelity.md §2 (result.description, result.stepResults[],
//     startTime, endTime, dbtJobId, dbtJobName, startupDetails), with times
//     derived from Created; dbt_run_start has an empty stepResults and a
//     null endTime;
//   - transformation_run_* get no connector fields and standin's own small
//     data object (Fivetran publishes none): transformationId,
//     transformationName, startTime, status (RUNNING, SUCCEEDED or FAILED),
//     plus endTime when finished and error when failed;
//   - other events get no data.
//
// Portable: DefaultFlowID, DefaultRunAttemptID, DefaultSourceID,
// DefaultSourceType, DefaultDestinationID, DefaultDestinationType; sync_end
// gets status SUCCESSFUL and DefaultDetailsSuccessful (DefaultDetailsFailed
// when the caller chose another status).
func (s Source) Defaults(p Profile) Source {
	switch p.OrDefault() {
	case ProfileFivetran:
		s.fivetranDefaults()
	case ProfilePortable:
		s.portableDefaults()
	}
	return s
}

func (s *Source) fivetranDefaults() {
	if s.GroupID == "" {
		s.GroupID = DefaultGroupID
	}
	switch {
	case isDbtRun(s.Event):
		if s.Data == nil {
			s.Data = dbtRunData(s.Event, s.Created)
		}
		return
	case isTransformationRun(s.Event):
		if s.Data == nil {
			s.Data = transformationRunData(s.Event, s.Created)
		}
		return
	}
	if s.ConnectorType == "" {
		s.ConnectorType = DefaultConnectorType
	}
	if s.ConnectorID == "" {
		s.ConnectorID = DefaultConnectorID
	}
	if s.ConnectorName == "" {
		s.ConnectorName = DefaultConnectorName
	}
	if (s.Event == EventSyncStart || s.Event == EventSyncEnd) && s.SyncID == "" {
		s.SyncID = NewUUID()
	}
	if s.Event == EventSyncEnd && s.Data == nil {
		s.Data = json.RawMessage(`{"status":"SUCCESSFUL"}`)
	}
}

func (s *Source) portableDefaults() {
	if s.FlowID == 0 {
		s.FlowID = DefaultFlowID
	}
	if s.RunAttemptID == 0 {
		s.RunAttemptID = DefaultRunAttemptID
	}
	if s.SourceID == 0 {
		s.SourceID = DefaultSourceID
	}
	if s.SourceType == "" {
		s.SourceType = DefaultSourceType
	}
	if s.DestinationID == 0 {
		s.DestinationID = DefaultDestinationID
	}
	if s.DestinationType == "" {
		s.DestinationType = DefaultDestinationType
	}
	if s.Event != EventSyncEnd {
		return
	}
	if s.Status == "" {
		s.Status = StatusSuccessful
	}
	if s.Details == "" {
		if s.Status == StatusSuccessful {
			s.Details = DefaultDetailsSuccessful
		} else {
			s.Details = DefaultDetailsFailed
		}
	}
}

type dbtData struct {
	Result         dbtResult         `json:"result"`
	StartTime      string            `json:"startTime"`
	EndTime        *string           `json:"endTime"`
	DbtJobID       string            `json:"dbtJobId"`
	DbtJobName     string            `json:"dbtJobName"`
	StartupDetails dbtStartupDetails `json:"startupDetails"`
}

type dbtResult struct {
	Description string          `json:"description"`
	StepResults []dbtStepResult `json:"stepResults"`
}

type dbtStepResult struct {
	Step                dbtStep          `json:"step"`
	StartTime           string           `json:"startTime"`
	EndTime             string           `json:"endTime"`
	Success             bool             `json:"success"`
	CommandResult       dbtCommandResult `json:"commandResult"`
	FailedModelRuns     int              `json:"failedModelRuns"`
	SuccessfulModelRuns int              `json:"successfulModelRuns"`
}

type dbtStep struct {
	Name    string `json:"name"`
	Command string `json:"command"`
}

type dbtCommandResult struct {
	Error    string `json:"error"`
	Output   string `json:"output"`
	ExitCode int    `json:"exitCode"`
}

type dbtStartupDetails struct {
	Type   string  `json:"type"`
	UserID *string `json:"userId"`
}

// dbtRunData is the default data of a dbt_run_* event created at created.
func dbtRunData(event string, created time.Time) json.RawMessage {
	d := dbtData{
		Result:         dbtResult{StepResults: []dbtStepResult{}},
		DbtJobID:       DefaultDbtJobID,
		DbtJobName:     DefaultDbtJobName,
		StartupDetails: dbtStartupDetails{Type: "scheduled"},
	}
	if event == EventDbtRunStart {
		d.Result.Description = "Running dbt job '" + DefaultDbtJobName + "'"
		d.StartTime = FivetranTime(created)
		return marshalData(d)
	}
	start := created.Add(-3 * time.Minute)
	end := FivetranTime(created)
	d.StartTime = FivetranTime(start)
	d.EndTime = &end
	step := dbtStepResult{
		Step:      dbtStep{Name: "Run models", Command: "dbt run"},
		StartTime: FivetranTime(start.Add(20 * time.Second)),
		EndTime:   FivetranTime(created.Add(-5 * time.Second)),
	}
	if event == EventDbtRunSucceeded {
		d.Result.Description = "Steps: successful 1, failed 0"
		step.Success = true
		step.CommandResult = dbtCommandResult{
			Output: "Running with dbt=1.7.4\nFound 5 models, 12 tests, 3 sources\n" +
				"Finished running 5 table models in 0 hours 2 minutes and 31.12 seconds (151.12s).\n" +
				"Completed successfully\nDone. PASS=5 WARN=0 ERROR=0 SKIP=0 TOTAL=5\n",
		}
		step.SuccessfulModelRuns = 5
	} else {
		d.Result.Description = "Steps: successful 0, failed 1"
		step.CommandResult = dbtCommandResult{
			Error: "Database Error in model orders (models/orders.sql)\n  relation \"raw.orders\" does not exist",
			Output: "Running with dbt=1.7.4\nFound 5 models, 12 tests, 3 sources\n" +
				"Completed with 1 error and 0 warnings:\n" +
				"Done. PASS=4 WARN=0 ERROR=1 SKIP=0 TOTAL=5\n",
			ExitCode: 1,
		}
		step.FailedModelRuns = 1
		step.SuccessfulModelRuns = 4
	}
	d.Result.StepResults = append(d.Result.StepResults, step)
	return marshalData(d)
}

type transformationData struct {
	TransformationID   string `json:"transformationId"`
	TransformationName string `json:"transformationName"`
	StartTime          string `json:"startTime"`
	EndTime            string `json:"endTime,omitempty"`
	Status             string `json:"status"`
	Error              string `json:"error,omitempty"`
}

// transformationRunData is standin's default data of a transformation_run_*
// event created at created.
func transformationRunData(event string, created time.Time) json.RawMessage {
	d := transformationData{
		TransformationID:   DefaultTransformationID,
		TransformationName: DefaultTransformationName,
	}
	switch event {
	case EventTransformationRunStart:
		d.StartTime = FivetranTime(created)
		d.Status = "RUNNING"
	case EventTransformationRunSucceeded:
		d.StartTime = FivetranTime(created.Add(-time.Minute))
		d.EndTime = FivetranTime(created)
		d.Status = "SUCCEEDED"
	default:
		d.StartTime = FivetranTime(created.Add(-time.Minute))
		d.EndTime = FivetranTime(created)
		d.Status = "FAILED"
		d.Error = "Transformation failed: column \"amount\" does not exist"
	}
	return marshalData(d)
}

// marshalData encodes v compactly without HTML escaping.
func marshalData(v any) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("delivery: marshal default data: " + err.Error()) // fixed types: cannot fail
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// NewUUID returns a random (version 4) UUID in its canonical lower-case
// form, read from crypto/rand, like Fivetran's sync_id.
func NewUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // never fails (Go ≥ 1.24)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// ErrInvalidStatus is returned (wrapped) by SyncEndData for a status that is
// not one of SyncEndStatuses.
var ErrInvalidStatus = errors.New("invalid sync_end status")

// SyncEndData builds Fivetran sync_end data: {"status":…} followed by
// "reason", "taskType" and "rescheduledAt" (camelCase, in that order), each
// omitted when empty or zero. rescheduledAt is written like created
// (FivetranTime). status must be one of SyncEndStatuses.
func SyncEndData(status, reason, taskType string, rescheduledAt time.Time) (json.RawMessage, error) {
	if !ValidSyncEndStatus(status) {
		return nil, fmt.Errorf("%w %q: want one of %v", ErrInvalidStatus, status, SyncEndStatuses)
	}
	b := make([]byte, 0, 64+len(reason)+len(taskType))
	b = append(b, `{"status":`...)
	b = appendJSONString(b, status)
	b = appendStringField(b, `,"reason":`, reason)
	b = appendStringField(b, `,"taskType":`, taskType)
	if !rescheduledAt.IsZero() {
		b = append(b, `,"rescheduledAt":"`...)
		b = rescheduledAt.UTC().AppendFormat(b, fivetranLayout)
		b = append(b, '"')
	}
	return append(b, '}'), nil
}

// TestBody is the body of the delivery made by Fivetran's
// POST /v1/webhooks/{id}/test: exactly
//
//	{"event":"<event>","created":"…","connector_type":"_connector_type","connector_id":"_connector_1","destination_group_id":"_destination_1"}
//
// in that key order, with no connector_name, sync_id or data (receivers that
// require sync_id break on it, as with the real service). event is not
// checked against the catalog.
//
// For ProfilePortable it is what the Test button sends: the "test" event
// (event is ignored) with Portable's key set and standin's dummy values
// (ids 1, types "test"), since Portable publishes no sample.
func TestBody(p Profile, event string, created time.Time) []byte {
	if p == ProfilePortable {
		return buildPortable(Source{
			Event:           EventTest,
			Created:         created,
			FlowID:          1,
			RunAttemptID:    1,
			SourceID:        1,
			SourceType:      "test",
			DestinationID:   1,
			DestinationType: "test",
		})
	}
	b := make([]byte, 0, 192)
	b = append(b, `{"event":`...)
	b = appendJSONString(b, event)
	b = append(b, `,"created":"`...)
	b = created.UTC().AppendFormat(b, fivetranLayout)
	b = append(b, `","connector_type":"_connector_type","connector_id":"_connector_1","destination_group_id":"_destination_1"}`...)
	return b
}

// Connector ids of the URL check's test_event: current docs name it
// URLCheckConnectorID (the default), older docs LegacyURLCheckConnectorID.
const (
	URLCheckConnectorID       = "_connection_1"
	LegacyURLCheckConnectorID = "_connector_1"
)

// URLCheckBody is the payload of Fivetran's URL check, sent when a webhook is
// created active or activated: exactly
//
//	{"event":"test_event","created":"…","connector_type":"_connector_type","connector_id":"_connection_1","group_id":"_destination_1"}
//
// (note group_id, not destination_group_id). connectorID is the
// connector_id; empty means URLCheckConnectorID (current docs).
func URLCheckBody(created time.Time, connectorID string) []byte {
	if connectorID == "" {
		connectorID = URLCheckConnectorID
	}
	b := make([]byte, 0, 160)
	b = append(b, `{"event":"test_event","created":"`...)
	b = created.UTC().AppendFormat(b, fivetranLayout)
	b = append(b, `","connector_type":"_connector_type","connector_id":`...)
	b = appendJSONString(b, connectorID)
	b = append(b, `,"group_id":"_destination_1"}`...)
	return b
}
