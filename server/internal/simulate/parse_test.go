package simulate

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
)

// object decodes a JSON object as the server hands request bodies over.
func object(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseScope(t *testing.T) {
	t.Parallel()
	got, err := ParseScope(object(t, `{"b":["t3"],"a":["t1","t2"]}`))
	if want := []Table{{"a", "t1"}, {"a", "t2"}, {"b", "t3"}}; err != nil || !slices.Equal(got, want) {
		t.Errorf("ParseScope = %v, %v; want %v", got, err, want)
	}
	for body, want := range map[string]string{
		`{}`:          "Field 'scope' must not be empty",
		`{"a":[]}`:    "Invalid value for field 'a': must be a non-empty array of table names",
		`{"a":"t1"}`:  "Invalid value for field 'a': must be a non-empty array of table names",
		`{"a":[1]}`:   "Invalid value for field 'a': must be a non-empty array of table names",
		`{"a":[""]}`:  "Invalid value for field 'a': must be a non-empty array of table names",
		`{"":["t1"]}`: "Invalid value for field '': must be a non-empty array of table names",
	} {
		if _, err := ParseScope(object(t, body)); err == nil || err.Error() != want {
			t.Errorf("ParseScope(%s) = %v, want %q", body, err, want)
		}
	}
}

func TestParsePatch(t *testing.T) {
	t.Parallel()
	p, err := ParsePatch(object(t, `{"paused":true,"sync_frequency":60,"schedule_type":"manual","daily_sync_time":"14:00","run_setup_tests":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.paused == nil || !*p.paused || p.syncFrequency == nil || *p.syncFrequency != 60 ||
		p.scheduleType == nil || *p.scheduleType != "manual" || p.extra["daily_sync_time"] != "14:00" || p.otherEdits {
		t.Errorf("patch %+v", p)
	}
	if p, err := ParsePatch(object(t, `{"auth":{"x":1}}`)); err != nil || !p.otherEdits {
		t.Errorf("an edit standin does not model: %+v, %v", p, err)
	}
	for body, want := range map[string]string{
		`{"paused":"yes"}`:         "Invalid value for field 'paused': must be a boolean",
		`{"sync_frequency":7}`:     "Invalid value for field 'sync_frequency': must be one of [1 5 15 30 60 120 180 360 480 720 1440]",
		`{"sync_frequency":60.5}`:  "Invalid value for field 'sync_frequency': must be one of [1 5 15 30 60 120 180 360 480 720 1440]",
		`{"sync_frequency":"60"}`:  "Invalid value for field 'sync_frequency': must be one of [1 5 15 30 60 120 180 360 480 720 1440]",
		`{"schedule_type":"cron"}`: "Invalid value for field 'schedule_type': must be 'auto' or 'manual'",
	} {
		if _, err := ParsePatch(object(t, body)); err == nil || err.Error() != want {
			t.Errorf("ParsePatch(%s) = %v, want %q", body, err, want)
		}
	}
}

// TestExtraApply checks the connection's extra fields as JSON values: types
// and ranges, null clears, config merges key by key, and what the store
// keeps.
func TestExtraApply(t *testing.T) {
	t.Parallel()
	var x Extra
	changed, err := x.apply(object(t, `{"service_version":3,"pause_after_trial":true,"networking_method":"SshTunnel",
		"setup_tests":[{"title":"a <b>","status":"PASSED"}],"source_sync_details":{"k":1},
		"config":{"host":"db","password":"p","port":5432},"schema":"ignored"}`))
	if err != nil || !changed {
		t.Fatalf("apply = %v, %v", changed, err)
	}
	b, err := x.encode()
	if err != nil {
		t.Fatal(err)
	}
	// encode is json.Marshal: the store keeps HTML characters escaped.
	want := `{"service_version":3,"pause_after_trial":true,"networking_method":"SshTunnel","setup_tests":[{"status":"PASSED","title":"a \u003cb\u003e"}],"source_sync_details":{"k":1},"config":{"host":"db","password":"p","port":5432}}`
	if string(b) != want {
		t.Errorf("stored %s\nwant   %s", b, want)
	}
	if string(x.SetupTests) != `[{"status":"PASSED","title":"a <b>"}]` {
		t.Errorf("setup_tests %s: HTML is not escaped, keys sorted, compact", x.SetupTests)
	}

	changed, err = x.apply(object(t, `{"config":{"password":null,"port":5433},"networking_method":null}`))
	if err != nil || !changed || x.NetworkingMethod != nil || string(x.Config["port"]) != "5433" || x.Config["password"] != nil || string(x.Config["host"]) != `"db"` {
		t.Errorf("merge: %v %v %+v", changed, err, x)
	}
	if changed, err := x.apply(object(t, `{"config":{"port":5433}}`)); err != nil || changed {
		t.Errorf("same value again: changed %v, %v", changed, err)
	}
	for body, want := range map[string]string{
		`{"service_version":-1}`:          "Invalid value for field 'service_version': must be a non-negative integer",
		`{"data_delay_threshold":1.5}`:    "Invalid value for field 'data_delay_threshold': must be a non-negative integer",
		`{"pause_after_trial":1}`:         "Invalid value for field 'pause_after_trial': must be a boolean",
		`{"daily_sync_time":"25:00"}`:     "Invalid value '25:00' for field 'daily_sync_time': must be HH:MM, e.g. 14:00",
		`{"connected_by":5}`:              "Invalid value for field 'connected_by': must be a string",
		`{"networking_method":"Carrier"}`: "Invalid value 'Carrier' for field 'networking_method': must be one of [Directly SshTunnel ProxyAgent PrivateLink]",
		`{"setup_tests":{}}`:              "Invalid value for field 'setup_tests': must be an array",
		`{"source_sync_details":[]}`:      "Invalid value for field 'source_sync_details': must be an object",
		`{"config":"x"}`:                  "Invalid value for field 'config': must be an object",
	} {
		var x Extra
		if _, err := x.apply(object(t, body)); err == nil || err.Error() != want {
			t.Errorf("apply(%s) = %v, want %q", body, err, want)
		}
	}
}

// TestSettled checks how a connection's latest sync folds into
// succeeded_at and failed_at once it has ended.
func TestSettled(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 22, 12, 0, 0, 0, time.UTC)
	before, after := now.Add(-time.Minute), now.Add(time.Minute)
	prior := now.Add(-time.Hour)
	for _, tt := range []struct {
		name              string
		endsAt            time.Time
		status            string
		running           bool
		succeeded, failed *time.Time
	}{
		{"running", after, delivery.StatusSuccessful, true, &prior, nil},
		{"succeeded", before, delivery.StatusSuccessful, false, &before, nil},
		{"failed", before, delivery.StatusFailure, false, &prior, &before},
		{"failed with task", before, delivery.StatusFailureWithTask, false, &prior, &before},
		{"rescheduled", before, delivery.StatusRescheduled, false, &prior, nil},
	} {
		c := &store.Connection{SucceededAt: &prior, Sync: &store.ConnectionSync{EndsAt: tt.endsAt, Status: tt.status}}
		s, f := Settled(c, now)
		if SyncRunning(c, now) != tt.running || SyncEnded(c, now) == tt.running ||
			!equalTime(s, tt.succeeded) || !equalTime(f, tt.failed) {
			t.Errorf("%s: running %v, settled %v %v; want %v, %v %v", tt.name, SyncRunning(c, now), s, f, tt.running, tt.succeeded, tt.failed)
		}
	}
}

func equalTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
