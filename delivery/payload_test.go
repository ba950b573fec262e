package delivery

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedCreated is 2026-05-22T00:06:08.638912Z, given in another zone to
// check the conversion to UTC and the truncation to milliseconds/seconds.
var fixedCreated = time.Date(2026, 5, 22, 2, 6, 8, 638_912_000, time.FixedZone("CEST", 2*60*60))

const fixedSyncID = "b4703f73-6315-4e22-8d7a-3bfb18b2fed2"

// realCapture is the real Fivetran sync_end delivery quoted in docs/fidelity.md §2.
const realCapture = `{"event":"sync_end","created":"2026-05-22T00:06:08.638Z","connector_type":"google_cloud_postgresql","connector_id":"assimilate_seem","connector_name":"ftar_pg","sync_id":"b4703f73-6315-4e22-8d7a-3bfb18b2fed2","destination_group_id":"inappropriate_implode","data":{"status":"SUCCESSFUL"}}`

// golden compares got with the golden file at path, or rewrites the file
// under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", path, got, want)
	}
}

// TestBuildGolden renders every catalog event of every profile from a fixed
// Source and compares it with testdata/<profile>/<event>.json.
func TestBuildGolden(t *testing.T) {
	t.Parallel()
	for _, p := range []Profile{ProfileFivetran, ProfilePortable} {
		for _, event := range Catalog(p) {
			t.Run(string(p)+"/"+event, func(t *testing.T) {
				t.Parallel()
				src := Source{Event: event, Created: fixedCreated}
				if event == EventSyncStart || event == EventSyncEnd {
					src.SyncID = fixedSyncID // else Defaults draws a fresh one
				}
				src = src.Defaults(p)
				got, err := Build(p, src)
				if err != nil {
					t.Fatal(err)
				}
				if !json.Valid(got) {
					t.Fatalf("invalid JSON: %s", got)
				}
				golden(t, filepath.Join("testdata", string(p), event+".json"), got)
			})
		}
	}
}

// TestGoldenFilesMatchCatalog catches golden files left over from events
// that are no longer in a catalog.
func TestGoldenFilesMatchCatalog(t *testing.T) {
	t.Parallel()
	if *update {
		t.Skip("files are being rewritten")
	}
	for _, p := range []Profile{ProfileFivetran, ProfilePortable} {
		files, err := filepath.Glob(filepath.Join("testdata", string(p), "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		var events []string
		for _, f := range files {
			events = append(events, strings.TrimSuffix(filepath.Base(f), ".json"))
		}
		if want := Catalog(p); !slices.Equal(events, want) {
			t.Errorf("testdata/%s holds %q, want %q", p, events, want)
		}
	}
}

func TestBuild(t *testing.T) {
	t.Parallel()
	capture := Source{
		Event:         "sync_end",
		Created:       fixedCreated,
		ConnectorType: "google_cloud_postgresql",
		ConnectorID:   "assimilate_seem",
		ConnectorName: "ftar_pg",
		SyncID:        fixedSyncID,
		GroupID:       "inappropriate_implode",
		Data:          json.RawMessage(`{"status":"SUCCESSFUL"}`),
	}
	for _, tc := range []struct {
		name string
		p    Profile
		src  Source
		want string
	}{
		{"real capture", ProfileFivetran, capture, realCapture},
		{"empty profile is fivetran", "", capture, realCapture},
		{
			"data recompacted in its own key order", ProfileFivetran,
			Source{Event: "sync_end", Created: fixedCreated, ConnectorID: "c", Data: json.RawMessage(" {\n \"status\" : \"FAILURE\",\n \"reason\": \"a < b & c\", \"a\": [1, 2] }\n")},
			`{"event":"sync_end","created":"2026-05-22T00:06:08.638Z","connector_id":"c","data":{"status":"FAILURE","reason":"a < b & c","a":[1,2]}}`,
		},
		{
			"empty fields omitted, null data omitted", ProfileFivetran,
			Source{Event: "pause_connector", Created: fixedCreated, ConnectorID: "c", Data: json.RawMessage("null")},
			`{"event":"pause_connector","created":"2026-05-22T00:06:08.638Z","connector_id":"c"}`,
		},
		{
			"empty object data kept", ProfileFivetran,
			Source{Event: "status", Created: fixedCreated, GroupID: "g", Data: json.RawMessage("{ }")},
			`{"event":"status","created":"2026-05-22T00:06:08.638Z","destination_group_id":"g","data":{}}`,
		},
		{
			"dbt run never has connector fields", ProfileFivetran,
			Source{Event: "dbt_run_failed", Created: fixedCreated, ConnectorType: "t", ConnectorID: "c", ConnectorName: "n", SyncID: fixedSyncID, GroupID: "g", Data: json.RawMessage(`{"x":1}`)},
			`{"event":"dbt_run_failed","created":"2026-05-22T00:06:08.638Z","destination_group_id":"g","data":{"x":1}}`,
		},
		{
			"strings escaped like encoding/json without HTML escaping", ProfileFivetran,
			Source{Event: "edit_connector", Created: fixedCreated, ConnectorName: "a\"b\\c<d>&e\n\u2028\x01é"},
			`{"event":"edit_connector","created":"2026-05-22T00:06:08.638Z","connector_name":"a\"b\\c<d>&e\n\u2028\u0001é"}`,
		},
		{
			"fivetran ignores portable fields", ProfileFivetran,
			Source{Event: "sync_start", Created: fixedCreated, FlowID: 1, Status: "X", Details: "d"},
			`{"event":"sync_start","created":"2026-05-22T00:06:08.638Z"}`,
		},
		{
			"portable sync_start", ProfilePortable,
			Source{Event: "sync_start", Created: fixedCreated, FlowID: 11, RunAttemptID: 22, SourceID: 33, SourceType: "hubspot_crm", DestinationID: 44, DestinationType: "bigquery", Status: "ignored", Details: "ignored", ConnectorID: "ignored", Data: json.RawMessage(`[`)},
			`{"created":"2026-05-22T00:06:08Z","destination_id":44,"destination_type":"bigquery","event":"sync_start","flow_id":11,"run_attempt_id":22,"source_id":33,"source_type":"hubspot_crm"}`,
		},
		{
			"portable sync_end adds details and status in sorted places", ProfilePortable,
			Source{Event: "sync_end", Created: fixedCreated, FlowID: 11, RunAttemptID: 9007199254740993, SourceID: 33, SourceType: "s", DestinationID: 44, DestinationType: "d", Status: "FAILED", Details: "quota \"exceeded\""},
			`{"created":"2026-05-22T00:06:08Z","destination_id":44,"destination_type":"d","details":"quota \"exceeded\"","event":"sync_end","flow_id":11,"run_attempt_id":9007199254740993,"source_id":33,"source_type":"s","status":"FAILED"}`,
		},
		{
			"portable keeps its whole key set when empty", ProfilePortable,
			Source{Event: "test", Created: fixedCreated},
			`{"created":"2026-05-22T00:06:08Z","destination_id":0,"destination_type":"","event":"test","flow_id":0,"run_attempt_id":0,"source_id":0,"source_type":""}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Build(tc.p, tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("Build =\n %s\nwant\n %s", got, tc.want)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		p       Profile
		src     Source
		wantIs  error
		wantMsg string
	}{
		{"test_event is not in the catalog", ProfileFivetran, Source{Event: "test_event", Created: fixedCreated}, ErrUnknownEvent, `unknown event "test_event"`},
		{"portable has no status event", ProfilePortable, Source{Event: "status", Created: fixedCreated}, ErrUnknownEvent, `unknown event "status"`},
		{"fivetran has no test event", ProfileFivetran, Source{Event: "test", Created: fixedCreated}, ErrUnknownEvent, `unknown event "test"`},
		{"empty event", ProfileFivetran, Source{Created: fixedCreated}, ErrUnknownEvent, `unknown event ""`},
		{"unknown profile", "stitch", Source{Event: "sync_end", Created: fixedCreated}, ErrUnknownProfile, `unknown profile "stitch"`},
		{"zero created", ProfileFivetran, Source{Event: "sync_end"}, nil, "created is required"},
		{"zero created portable", ProfilePortable, Source{Event: "sync_end"}, nil, "created is required"},
		{"data array", ProfileFivetran, Source{Event: "sync_end", Created: fixedCreated, Data: json.RawMessage(`[1]`)}, nil, "data must be a JSON object, got an array"},
		{"data string", ProfileFivetran, Source{Event: "sync_end", Created: fixedCreated, Data: json.RawMessage(`"x"`)}, nil, "data must be a JSON object, got a string"},
		{"data number", ProfileFivetran, Source{Event: "sync_end", Created: fixedCreated, Data: json.RawMessage(`1`)}, nil, "data must be a JSON object, got a number"},
		{"data invalid", ProfileFivetran, Source{Event: "sync_end", Created: fixedCreated, Data: json.RawMessage(`{"status":`)}, nil, "data is not valid JSON"},
		{"data trailing garbage", ProfileFivetran, Source{Event: "sync_end", Created: fixedCreated, Data: json.RawMessage(`{} {}`)}, nil, "data is not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Build(tc.p, tc.src)
			if err == nil {
				t.Fatalf("Build = %s, want an error", got)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tc.wantMsg)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()

	t.Run("fresh sync ids", func(t *testing.T) {
		t.Parallel()
		for _, event := range []string{"sync_start", "sync_end"} {
			a := Source{Event: event, Created: fixedCreated}.Defaults(ProfileFivetran)
			b := Source{Event: event, Created: fixedCreated}.Defaults(ProfileFivetran)
			if len(a.SyncID) != 36 || a.SyncID == b.SyncID {
				t.Errorf("%s: sync ids %q and %q, want two fresh UUIDs", event, a.SyncID, b.SyncID)
			}
		}
		if s := (Source{Event: "pause_connector"}).Defaults(ProfileFivetran); s.SyncID != "" {
			t.Errorf("pause_connector got sync_id %q", s.SyncID)
		}
	})

	t.Run("caller values kept", func(t *testing.T) {
		t.Parallel()
		in := Source{
			Event: "sync_end", Created: fixedCreated, ConnectorType: "salesforce", ConnectorID: "c",
			ConnectorName: "n", SyncID: "s", GroupID: "g", Data: json.RawMessage(`{"status":"FAILURE"}`),
		}
		got := in.Defaults(ProfileFivetran)
		if !sourceEqual(got, in) {
			t.Errorf("Defaults changed caller values:\n got %+v\nwant %+v", got, in)
		}
		pin := Source{Event: "sync_end", Created: fixedCreated, FlowID: 1, RunAttemptID: 2, SourceID: 3, SourceType: "st", DestinationID: 4, DestinationType: "dt", Status: "FAILED", Details: "d"}
		if got := pin.Defaults(ProfilePortable); !sourceEqual(got, pin) {
			t.Errorf("Defaults changed caller values:\n got %+v\nwant %+v", got, pin)
		}
	})

	t.Run("exact values", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name string
			p    Profile
			in   Source
			want Source
		}{
			{
				"fivetran connector event", ProfileFivetran, Source{Event: "resync_table", Created: fixedCreated},
				Source{Event: "resync_table", Created: fixedCreated, ConnectorType: "google_cloud_postgresql", ConnectorID: "assimilate_seem", ConnectorName: "ftar_pg", GroupID: "inappropriate_implode"},
			},
			{
				"fivetran sync_end", ProfileFivetran, Source{Event: "sync_end", SyncID: "s"},
				Source{Event: "sync_end", ConnectorType: "google_cloud_postgresql", ConnectorID: "assimilate_seem", ConnectorName: "ftar_pg", SyncID: "s", GroupID: "inappropriate_implode", Data: json.RawMessage(`{"status":"SUCCESSFUL"}`)},
			},
			{
				"dbt has no connector fields", ProfileFivetran, Source{Event: "dbt_run_start", Data: json.RawMessage(`{}`)},
				Source{Event: "dbt_run_start", GroupID: "inappropriate_implode", Data: json.RawMessage(`{}`)},
			},
			{
				"portable sync_end", ProfilePortable, Source{Event: "sync_end"},
				Source{Event: "sync_end", FlowID: 3120, RunAttemptID: 581204, SourceID: 1207, SourceType: "hubspot_crm", DestinationID: 904, DestinationType: "bigquery", Status: "SUCCESSFUL", Details: "The flow finished successfully."},
			},
			{
				"portable failed sync_end", ProfilePortable, Source{Event: "sync_end", Status: "FAILED"},
				Source{Event: "sync_end", FlowID: 3120, RunAttemptID: 581204, SourceID: 1207, SourceType: "hubspot_crm", DestinationID: 904, DestinationType: "bigquery", Status: "FAILED", Details: "The flow failed: the source API answered HTTP 401 Unauthorized."},
			},
			{
				"portable sync_start has no status", ProfilePortable, Source{Event: "sync_start"},
				Source{Event: "sync_start", FlowID: 3120, RunAttemptID: 581204, SourceID: 1207, SourceType: "hubspot_crm", DestinationID: 904, DestinationType: "bigquery"},
			},
			{"unknown profile untouched", "stitch", Source{Event: "sync_end"}, Source{Event: "sync_end"}},
		} {
			if got := tc.in.Defaults(tc.p); !sourceEqual(got, tc.want) {
				t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
			}
		}
	})

	t.Run("dbt data shape", func(t *testing.T) {
		t.Parallel()
		for _, event := range []string{"dbt_run_start", "dbt_run_succeeded", "dbt_run_failed"} {
			s := Source{Event: event, Created: fixedCreated}.Defaults(ProfileFivetran)
			var d struct {
				Result struct {
					Description string
					StepResults []map[string]json.RawMessage
				}
				StartTime, DbtJobID, DbtJobName string
				EndTime                         *string
				StartupDetails                  map[string]json.RawMessage
			}
			dec := json.NewDecoder(bytes.NewReader(s.Data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&d); err != nil {
				t.Fatalf("%s: %v in %s", event, err, s.Data)
			}
			if d.Result.Description == "" || d.StartTime == "" || d.DbtJobID == "" || d.DbtJobName == "" ||
				d.StartupDetails["type"] == nil || d.StartupDetails["userId"] == nil {
				t.Errorf("%s: incomplete data %s", event, s.Data)
			}
			if (event == "dbt_run_start") != (d.EndTime == nil) || (event == "dbt_run_start") != (len(d.Result.StepResults) == 0) {
				t.Errorf("%s: endTime/stepResults wrong in %s", event, s.Data)
			}
			for _, step := range d.Result.StepResults {
				for _, k := range []string{"step", "startTime", "endTime", "success", "commandResult", "failedModelRuns", "successfulModelRuns"} {
					if step[k] == nil {
						t.Errorf("%s: step result lacks %s", event, k)
					}
				}
			}
		}
	})
}

// sourceEqual compares Sources, Data by bytes.
func sourceEqual(a, b Source) bool {
	return reflect.DeepEqual(withoutData(a), withoutData(b)) && bytes.Equal(a.Data, b.Data)
}

func withoutData(s Source) Source {
	s.Data = nil
	return s
}

func TestSyncEndData(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 22, 1, 0, 0, 123_456_789, time.UTC)
	for _, tc := range []struct {
		status, reason, taskType string
		at                       time.Time
		want                     string
	}{
		{"SUCCESSFUL", "", "", time.Time{}, `{"status":"SUCCESSFUL"}`},
		{"FAILURE", "Connection refused \"db\"", "", time.Time{}, `{"status":"FAILURE","reason":"Connection refused \"db\""}`},
		{"FAILURE_WITH_TASK", "Missing permission", "reconnect", time.Time{}, `{"status":"FAILURE_WITH_TASK","reason":"Missing permission","taskType":"reconnect"}`},
		{"RESCHEDULED", "", "", at, `{"status":"RESCHEDULED","rescheduledAt":"2026-05-22T01:00:00.123Z"}`},
		{"RESCHEDULED", "quota", "t", at.In(time.FixedZone("x", -3600)), `{"status":"RESCHEDULED","reason":"quota","taskType":"t","rescheduledAt":"2026-05-22T01:00:00.123Z"}`},
		{"FAILED", "", "", time.Time{}, `{"status":"FAILED"}`},
	} {
		got, err := SyncEndData(tc.status, tc.reason, tc.taskType, tc.at)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("SyncEndData(%q, %q, %q, %v) = %s, want %s", tc.status, tc.reason, tc.taskType, tc.at, got, tc.want)
		}
	}
	for _, bad := range []string{"", "successful", "OK"} {
		if _, err := SyncEndData(bad, "", "", time.Time{}); !errors.Is(err, ErrInvalidStatus) {
			t.Errorf("SyncEndData(%q) error = %v, want ErrInvalidStatus", bad, err)
		}
	}
}

func TestTestBodies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{
			"fivetran sync_end", TestBody(ProfileFivetran, "sync_end", fixedCreated),
			`{"event":"sync_end","created":"2026-05-22T00:06:08.638Z","connector_type":"_connector_type","connector_id":"_connector_1","destination_group_id":"_destination_1"}`,
		},
		{
			"empty profile is fivetran", TestBody("", "dbt_run_failed", fixedCreated),
			`{"event":"dbt_run_failed","created":"2026-05-22T00:06:08.638Z","connector_type":"_connector_type","connector_id":"_connector_1","destination_group_id":"_destination_1"}`,
		},
		{
			"portable test button", TestBody(ProfilePortable, "sync_end", fixedCreated),
			`{"created":"2026-05-22T00:06:08Z","destination_id":1,"destination_type":"test","event":"test","flow_id":1,"run_attempt_id":1,"source_id":1,"source_type":"test"}`,
		},
		{
			"url check", URLCheckBody(fixedCreated, ""),
			`{"event":"test_event","created":"2026-05-22T00:06:08.638Z","connector_type":"_connector_type","connector_id":"_connection_1","group_id":"_destination_1"}`,
		},
		{
			"url check, older docs' connector", URLCheckBody(fixedCreated, LegacyURLCheckConnectorID),
			`{"event":"test_event","created":"2026-05-22T00:06:08.638Z","connector_type":"_connector_type","connector_id":"_connector_1","group_id":"_destination_1"}`,
		},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, tc.got, tc.want)
		}
	}
}

func TestFivetranTime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{fixedCreated, "2026-05-22T00:06:08.638Z"},
		{time.Date(2022, 4, 29, 9, 41, 8, 0, time.UTC), "2022-04-29T09:41:08.000Z"},
		{time.Date(2022, 4, 29, 9, 41, 8, 999_999_999, time.UTC), "2022-04-29T09:41:08.999Z"},
	} {
		if got := FivetranTime(tc.in); got != tc.want {
			t.Errorf("FivetranTime(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// encodingJSON is the reference appendJSONString must agree with.
func encodingJSON(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}

var jsonStringSeeds = []string{
	"", "plain", `"quoted"`, `back\slash`, "<html>&amp;", "tab\tnl\ncr\r", "\b\f\x00\x1f\x7f",
	"é ü 日本 🎉", "\u2028\u2029", "bad utf8 \xff\xfe end", "\xc3", "trailing \\",
}

func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	for _, s := range jsonStringSeeds {
		if got, want := string(appendJSONString(nil, s)), encodingJSON(s); got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStringSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendJSONString(nil, s)), encodingJSON(s); got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

func BenchmarkBuild(b *testing.B) {
	src := Source{Event: "sync_end", Created: fixedCreated, SyncID: fixedSyncID}.Defaults(ProfileFivetran)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(ProfileFivetran, src); err != nil {
			b.Fatal(err)
		}
	}
}
