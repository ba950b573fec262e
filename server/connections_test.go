package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/store"
)

// clock is a test clock that moves only when told to.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// simScale is the time scale of newSimEnv: a 5-minute sync takes 5 s.
const simScale = 60

// newSimEnv is an API with the seed registry, a controllable clock at
// testNow, time scale 60, no URL check, and one account webhook subscribed
// to every Fivetran event (never delivered: no worker runs), whose
// deliveries show what was emitted.
func newSimEnv(t *testing.T, opts ...func(*server.APIConfig)) (*testEnv, *clock, string) {
	t.Helper()
	clk := &clock{now: testNow}
	opts = append([]func(*server.APIConfig){skipURLCheck, func(c *server.APIConfig) {
		c.Now = clk.Now
		c.TimeScale = simScale
	}}, opts...)
	e := newEnvGroups(t, nil, opts...)
	seeded, err := server.Seed(context.Background(), e.api)
	if err != nil || !seeded {
		t.Fatalf("Seed = %v, %v; want true, nil", seeded, err)
	}
	all := `["sync_start","sync_end","force_update_connector","resync_connector","resync_table","pause_connector","resume_connector","edit_connector","create_connector"]`
	wh := e.createWebhook("/v1/webhooks/account", `{"url":"http://127.0.0.1:1/all","events":`+all+`}`)
	return e, clk, wh
}

// sent is one delivery's body, parsed, with its due time.
type sent struct {
	Event       string          `json:"event"`
	Created     string          `json:"created"`
	ConnectorID string          `json:"connector_id"`
	Type        string          `json:"connector_type"`
	Name        string          `json:"connector_name"`
	SyncID      string          `json:"sync_id"`
	GroupID     string          `json:"destination_group_id"`
	Data        json.RawMessage `json:"data"`
	raw         string
	state       string
	dueAt       time.Time
}

// deliveries returns the deliveries made to webhookID after the first skip
// ones, oldest first.
func deliveries(t *testing.T, e *testEnv, webhookID string, skip int) []sent {
	t.Helper()
	list, err := e.store.DeliveryList(context.Background(), store.DeliveryListParams{WebhookID: webhookID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(list)
	var out []sent
	for _, d := range list[min(skip, len(list)):] {
		var s sent
		decode(t, d.Body, &s)
		s.raw, s.state = string(d.Body), string(d.State)
		if d.NextAttemptAt != nil {
			s.dueAt = *d.NextAttemptAt
		}
		out = append(out, s)
	}
	return out
}

func names(list []sent) string {
	var out []string
	for _, s := range list {
		out = append(out, s.Event)
	}
	return strings.Join(out, ",")
}

// connection fetches a connection and returns its data object.
func connection(t *testing.T, e *testEnv, path string) map[string]any {
	t.Helper()
	var env struct {
		Data map[string]any `json:"data"`
	}
	decode(t, e.mustDo(200, "GET", path, "").body, &env)
	return env.Data
}

func syncState(t *testing.T, e *testEnv, id string) string {
	t.Helper()
	status, _ := connection(t, e, "/v1/connections/"+id)["status"].(map[string]any)
	s, _ := status["sync_state"].(string)
	return s
}

// TestGroupsAPI lists and reads the seeded groups, Fivetran-shaped.
func TestGroupsAPI(t *testing.T) {
	t.Parallel()
	e, _, _ := newSimEnv(t)

	want := `{"code":"Success","data":{"items":[{"id":"inappropriate_implode","name":"Warehouse","created_at":"2026-05-22T00:06:08.638Z"},{"id":"elegant_canyon","name":"Staging","created_at":"2026-05-22T00:06:08.638Z"}]}}`
	for _, path := range []string{"/v1/groups", "/standin/v1/groups"} {
		if r := e.mustDo(200, "GET", path, ""); string(r.body) != want {
			t.Errorf("GET %s = %s\nwant %s", path, r.body, want)
		}
	}
	// Cursor pagination as for webhooks.
	r := e.mustDo(200, "GET", "/v1/groups?limit=1", "")
	var page struct {
		Data struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		} `json:"data"`
	}
	decode(t, r.body, &page)
	if len(page.Data.Items) != 1 || page.Data.Items[0].ID != "inappropriate_implode" || page.Data.NextCursor == "" {
		t.Fatalf("first page %s", r.body)
	}
	r = e.mustDo(200, "GET", "/v1/groups?limit=1&cursor="+page.Data.NextCursor, "")
	if want := `{"code":"Success","data":{"items":[{"id":"elegant_canyon","name":"Staging","created_at":"2026-05-22T00:06:08.638Z"}]}}`; string(r.body) != want {
		t.Errorf("second page %s", r.body)
	}
	e.mustDo(400, "GET", "/v1/groups?cursor="+page.Data.NextCursor+"x", "")
	e.mustDo(400, "GET", "/v1/groups?limit=1001", "")

	if r := e.mustDo(200, "GET", "/v1/groups/elegant_canyon", ""); string(r.body) != `{"code":"Success","data":{"id":"elegant_canyon","name":"Staging","created_at":"2026-05-22T00:06:08.638Z"}}` {
		t.Errorf("get group %s", r.body)
	}
	if r := e.mustDo(404, "GET", "/v1/groups/nope", ""); string(r.body) != `{"code":"NotFound_Group","message":"Cannot find entity 'Group' with id 'nope'"}` {
		t.Errorf("missing group %s", r.body)
	}
	// A group's connections, under both names.
	for _, path := range []string{"/v1/groups/inappropriate_implode/connections", "/v1/groups/inappropriate_implode/connectors"} {
		var env struct {
			Data struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
			} `json:"data"`
		}
		decode(t, e.mustDo(200, "GET", path, "").body, &env)
		if len(env.Data.Items) != 2 || env.Data.Items[0].ID != "assimilate_seem" || env.Data.Items[1].ID != "gather_harbor" {
			t.Errorf("GET %s items %+v", path, env.Data.Items)
		}
	}
	e.mustDo(404, "GET", "/v1/groups/nope/connections", "")

	// Seeding again does nothing.
	if seeded, err := server.Seed(context.Background(), e.api); seeded || err != nil {
		t.Errorf("second Seed = %v, %v", seeded, err)
	}
}

// TestConnectionObject compares a seeded connection, fresh and after a
// failed sync, with Fivetran's connection object byte for byte.
func TestConnectionObject(t *testing.T) {
	t.Parallel()
	e, clk, _ := newSimEnv(t)
	want := `{"code":"Success","data":{"id":"assimilate_seem","group_id":"inappropriate_implode","service":"google_cloud_postgresql","service_version":0,"schema":"ftar_pg","paused":false,"pause_after_trial":false,"connected_by":"_standin","created_at":"2026-05-22T00:06:08.638Z","succeeded_at":"2026-05-22T00:06:08.638Z","failed_at":null,"sync_frequency":360,"schedule_type":"auto","status":{"setup_state":"connected","sync_state":"scheduled","update_state":"on_schedule","is_historical_sync":false,"tasks":[],"warnings":[]},"daily_sync_time":null,"networking_method":"Directly","data_delay_sensitivity":"NORMAL","data_delay_threshold":0,"proxy_agent_id":null,"private_link_id":null,"hybrid_deployment_agent_id":null,"setup_tests":[],"source_sync_details":null,"config":{}}}`
	for _, path := range []string{"/v1/connections/assimilate_seem", "/v1/connectors/assimilate_seem"} {
		if r := e.mustDo(200, "GET", path, ""); string(r.body) != want {
			t.Errorf("GET %s =\n%s\nwant\n%s", path, r.body, want)
		}
	}
	for _, path := range []string{"/v1/connections/nope", "/v1/connectors/nope"} {
		if r := e.mustDo(404, "GET", path, ""); string(r.body) != `{"code":"NotFound_Connector","message":"Cannot find entity 'Connector' with id 'nope'"}` {
			t.Errorf("GET %s = %s", path, r.body)
		}
	}

	e.mustDo(200, "POST", "/standin/v1/connections/assimilate_seem/sync",
		`{"status":"FAILURE_WITH_TASK","reason":"Reconnect the source","task_type":"reconnect","duration":"60s"}`)
	clk.Add(time.Second) // 60 emulated seconds
	want = `{"code":"Success","data":{"id":"assimilate_seem","group_id":"inappropriate_implode","service":"google_cloud_postgresql","service_version":0,"schema":"ftar_pg","paused":false,"pause_after_trial":false,"connected_by":"_standin","created_at":"2026-05-22T00:06:08.638Z","succeeded_at":"2026-05-22T00:06:08.638Z","failed_at":"2026-05-22T00:06:09.638Z","sync_frequency":360,"schedule_type":"auto","status":{"setup_state":"connected","sync_state":"scheduled","update_state":"delayed","is_historical_sync":false,"tasks":[{"code":"reconnect","message":"Reconnect the source"}],"warnings":[]},"daily_sync_time":null,"networking_method":"Directly","data_delay_sensitivity":"NORMAL","data_delay_threshold":0,"proxy_agent_id":null,"private_link_id":null,"hybrid_deployment_agent_id":null,"setup_tests":[],"source_sync_details":null,"config":{}}}`
	if r := e.mustDo(200, "GET", "/v1/connections/assimilate_seem", ""); string(r.body) != want {
		t.Errorf("after a failed sync\n%s\nwant\n%s", r.body, want)
	}

	// Listing: every connection, or one group's; the emulator path too.
	var env struct {
		Data struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		} `json:"data"`
	}
	decode(t, e.mustDo(200, "GET", "/v1/connections?limit=2", "").body, &env)
	if len(env.Data.Items) != 2 || env.Data.NextCursor == "" {
		t.Fatalf("page 1 %+v", env.Data)
	}
	decode(t, e.mustDo(200, "GET", "/standin/v1/connections?limit=2&cursor="+env.Data.NextCursor, "").body, &env)
	if len(env.Data.Items) != 1 || env.Data.Items[0].ID != "brisk_otter" {
		t.Errorf("page 2 %+v", env.Data)
	}
	decode(t, e.mustDo(200, "GET", "/v1/connections?group_id=elegant_canyon", "").body, &env)
	if len(env.Data.Items) != 1 || env.Data.Items[0].ID != "brisk_otter" {
		t.Errorf("group filter %+v", env.Data)
	}
}

// TestSyncEndpoint walks Fivetran's sync call: the events, their shared
// sync_id and delayed sync_end, the connection's status while syncing and
// after, force and no force.
func TestSyncEndpoint(t *testing.T) {
	t.Parallel()
	e, clk, all := newSimEnv(t)
	start := clk.Now()

	for i, path := range []string{"/v1/connections/assimilate_seem/sync", "/v1/connectors/assimilate_seem/sync"} {
		r := e.mustDo(200, "POST", path, `{"force":true}`)
		if want := `{"code":"Success","message":"Sync has been successfully triggered for connector with id 'assimilate_seem'"}`; string(r.body) != want {
			t.Errorf("POST %s = %s", path, r.body)
		}
		got := deliveries(t, e, all, 3*i)
		if names(got) != "force_update_connector,sync_start,sync_end" {
			t.Fatalf("POST %s emitted %s", path, names(got))
		}
		fu, st, end := got[0], got[1], got[2]
		if st.SyncID == "" || st.SyncID != end.SyncID || fu.SyncID != "" {
			t.Errorf("sync ids: force %q start %q end %q", fu.SyncID, st.SyncID, end.SyncID)
		}
		for _, s := range got {
			if s.ConnectorID != "assimilate_seem" || s.Type != "google_cloud_postgresql" || s.Name != "ftar_pg" || s.GroupID != "inappropriate_implode" {
				t.Errorf("%s body %s", s.Event, s.raw)
			}
		}
		wantStart := `{"event":"sync_start","created":"2026-05-22T00:06:08.638Z","connector_type":"google_cloud_postgresql","connector_id":"assimilate_seem","connector_name":"ftar_pg","sync_id":"` + st.SyncID + `","destination_group_id":"inappropriate_implode"}`
		if st.raw != wantStart {
			t.Errorf("sync_start body\n%s\nwant\n%s", st.raw, wantStart)
		}
		// sync_end is created now, due 5 emulated minutes (5 s) later, and
		// says the sync ended then.
		wantEnd := `{"event":"sync_end","created":"2026-05-22T00:06:13.638Z","connector_type":"google_cloud_postgresql","connector_id":"assimilate_seem","connector_name":"ftar_pg","sync_id":"` + st.SyncID + `","destination_group_id":"inappropriate_implode","data":{"status":"SUCCESSFUL"}}`
		if end.raw != wantEnd {
			t.Errorf("sync_end body\n%s\nwant\n%s", end.raw, wantEnd)
		}
		if !end.dueAt.Equal(start.Add(5*time.Second)) || !st.dueAt.Equal(start) {
			t.Errorf("due: sync_start %v, sync_end %v", st.dueAt, end.dueAt)
		}
		if i == 1 {
			// The second forced sync stopped the first: its sync_end will
			// not be sent.
			first := deliveries(t, e, all, 0)[2]
			if first.state != string(store.DeliveryCancelled) {
				t.Errorf("interrupted sync_end is %s, want cancelled", first.state)
			}
		}
	}
	if s := syncState(t, e, "assimilate_seem"); s != "syncing" {
		t.Errorf("sync_state %s, want syncing", s)
	}

	// Without force, a running sync is left alone, and the call succeeds.
	e.mustDo(200, "POST", "/v1/connections/assimilate_seem/sync", `{}`)
	e.mustDo(200, "POST", "/v1/connections/assimilate_seem/sync", ``)
	if got := deliveries(t, e, all, 6); len(got) != 0 {
		t.Errorf("sync while syncing emitted %s", names(got))
	}

	// Once sync_end is due, the sync has ended: scheduled, succeeded_at its
	// end.
	clk.Add(5 * time.Second)
	c := connection(t, e, "/v1/connections/assimilate_seem")
	if c["succeeded_at"] != "2026-05-22T00:06:13.638Z" || c["failed_at"] != nil {
		t.Errorf("succeeded_at %v failed_at %v", c["succeeded_at"], c["failed_at"])
	}
	if s := syncState(t, e, "assimilate_seem"); s != "scheduled" {
		t.Errorf("sync_state %s, want scheduled", s)
	}
	// Not forced, not running: sync_start and sync_end only.
	e.mustDo(200, "POST", "/v1/connections/assimilate_seem/sync", `{"force":false}`)
	if got := deliveries(t, e, all, 6); names(got) != "sync_start,sync_end" {
		t.Errorf("unforced sync emitted %s", names(got))
	}

	for _, tt := range []struct{ method, path, body string }{
		{"POST", "/v1/connections/nope/sync", `{"force":true}`},
		{"POST", "/v1/connectors/nope/sync", ``},
		{"POST", "/v1/connections/nope/resync", ``},
		{"PATCH", "/v1/connectors/nope", `{"paused":true}`},
		{"POST", "/standin/v1/connections/nope/sync", `{}`},
	} {
		r := e.mustDo(404, tt.method, tt.path, tt.body)
		if string(r.body) != `{"code":"NotFound_Connector","message":"Cannot find entity 'Connector' with id 'nope'"}` {
			t.Errorf("%s %s = %s", tt.method, tt.path, r.body)
		}
	}
	e.mustDo(400, "POST", "/v1/connections/assimilate_seem/sync", `{"force":"yes"}`)
}

// TestPauseResumeResync covers PATCH paused, re-sync and edits.
func TestPauseResumeResync(t *testing.T) {
	t.Parallel()
	e, clk, all := newSimEnv(t)
	const id = "gather_harbor"

	r := e.mustDo(200, "PATCH", "/v1/connections/"+id, `{"paused":true,"run_setup_tests":false}`)
	var env struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Data    map[string]any `json:"data"`
	}
	decode(t, r.body, &env)
	if env.Message != "Connector has been updated" || env.Data["paused"] != true || env.Data["id"] != id {
		t.Errorf("pause answered %s", r.body)
	}
	if status := env.Data["status"].(map[string]any); status["sync_state"] != "paused" {
		t.Errorf("sync_state %v", status["sync_state"])
	}
	if got := deliveries(t, e, all, 0); names(got) != "pause_connector" || got[0].ConnectorID != id || got[0].Data != nil {
		t.Fatalf("pause emitted %s", names(got))
	}
	// Already paused: no event. A paused connection does not sync, though
	// the call succeeds; the emulator's sync says why it cannot.
	e.mustDo(200, "PATCH", "/v1/connectors/"+id, `{"paused":true}`)
	e.mustDo(200, "POST", "/v1/connections/"+id+"/sync", `{"force":true}`)
	if got := deliveries(t, e, all, 1); len(got) != 0 {
		t.Fatalf("paused connection emitted %s", names(got))
	}
	r = e.mustDo(409, "POST", "/standin/v1/connections/"+id+"/sync", `{}`)
	if !strings.Contains(string(r.body), `"code":"Conflict","message":"Connection 'gather_harbor' is paused`) {
		t.Errorf("emulator sync of a paused connection: %s", r.body)
	}

	// A re-sync of a paused connection waits for the resume.
	r = e.mustDo(200, "POST", "/v1/connections/"+id+"/resync", ``)
	if string(r.body) != `{"code":"Success","message":"Operation performed."}` {
		t.Errorf("resync answered %s", r.body)
	}
	if got := deliveries(t, e, all, 1); names(got) != "resync_connector" {
		t.Fatalf("resync of a paused connection emitted %s", names(got))
	}
	status := connection(t, e, "/v1/connections/"+id)["status"].(map[string]any)
	if status["is_historical_sync"] != true || status["sync_state"] != "paused" {
		t.Errorf("waiting resync: status %v", status)
	}
	e.mustDo(200, "PATCH", "/v1/connections/"+id, `{"paused":false}`)
	got := deliveries(t, e, all, 2)
	if names(got) != "resume_connector,sync_start,sync_end" {
		t.Fatalf("resume emitted %s", names(got))
	}
	status = connection(t, e, "/v1/connections/"+id)["status"].(map[string]any)
	if status["is_historical_sync"] != true || status["sync_state"] != "syncing" {
		t.Errorf("historical sync: status %v", status)
	}
	clk.Add(time.Hour)
	if status := connection(t, e, "/v1/connections/"+id)["status"].(map[string]any); status["is_historical_sync"] != false {
		t.Errorf("after the historical sync: status %v", status)
	}

	// A re-sync of an active connection runs at once; a scope makes it a
	// table re-sync.
	e.mustDo(200, "POST", "/v1/connectors/"+id+"/resync", `{"scope":{"public":["orders"]}}`)
	if got := deliveries(t, e, all, 5); names(got) != "resync_table,sync_start,sync_end" {
		t.Errorf("scoped resync emitted %s", names(got))
	}
	e.mustDo(400, "POST", "/v1/connections/"+id+"/resync", `{"scope":{}}`)

	// Edits: edit_connector when something changes, nothing otherwise.
	r = e.mustDo(200, "PATCH", "/v1/connections/"+id, `{"sync_frequency":60,"schedule_type":"manual"}`)
	decode(t, r.body, &env)
	if env.Data["sync_frequency"] != float64(60) || env.Data["schedule_type"] != "manual" {
		t.Errorf("edit answered %s", r.body)
	}
	e.mustDo(200, "PATCH", "/v1/connections/"+id, `{"sync_frequency":60}`)
	e.mustDo(200, "PATCH", "/v1/connections/"+id, `{"config":{"host":"db.example"},"paused":true}`)
	if got := deliveries(t, e, all, 8); names(got) != "edit_connector,edit_connector,pause_connector" {
		t.Errorf("edits emitted %s", names(got))
	}

	for _, tt := range []struct{ body, msg string }{
		{`{"paused":"yes"}`, "Invalid value for field 'paused': must be a boolean"},
		{`{"sync_frequency":7}`, "Invalid value for field 'sync_frequency'"},
		{`{"sync_frequency":60.5}`, "Invalid value for field 'sync_frequency'"},
		{`{"schedule_type":"cron"}`, "Invalid value for field 'schedule_type'"},
		{`[1]`, "Invalid request body"},
	} {
		r := e.mustDo(400, "PATCH", "/v1/connections/"+id, tt.body)
		if !strings.Contains(string(r.body), `"code":"InvalidInput","message":"`+tt.msg) {
			t.Errorf("PATCH %s = %s", tt.body, r.body)
		}
	}
	if got := deliveries(t, e, all, 11); len(got) != 0 {
		t.Errorf("refused patches emitted %s", names(got))
	}
}

// TestSimulateSync covers the emulator's sync: chosen outcome, duration,
// answer, conflicts, and group fan-out.
func TestSimulateSync(t *testing.T) {
	t.Parallel()
	e, clk, all := newSimEnv(t)
	mine := e.createWebhook("/v1/webhooks/group/inappropriate_implode", `{"url":"http://127.0.0.1:1/mine","events":["sync_start","sync_end"]}`)
	other := e.createWebhook("/v1/webhooks/group/elegant_canyon", `{"url":"http://127.0.0.1:1/other","events":["sync_start","sync_end"]}`)
	portable := e.createWebhook("/v1/webhooks/account", `{"url":"http://127.0.0.1:1/p","events":["sync_start","sync_end"],"profile":"portable"}`)

	r := e.mustDo(200, "POST", "/standin/v1/connections/assimilate_seem/sync",
		`{"status":"RESCHEDULED","reason":"API quota","rescheduled_at":"2026-05-22T01:00:00Z","duration":"10m","resync":true}`)
	var env struct {
		Message string `json:"message"`
		Data    struct {
			Connection map[string]any `json:"connection"`
			SyncID     string         `json:"sync_id"`
			EndsAt     string         `json:"ends_at"`
			Events     []struct {
				ID         string `json:"id"`
				Event      string `json:"event"`
				Deliveries []struct {
					ID        string `json:"id"`
					WebhookID string `json:"webhook_id"`
					State     string `json:"state"`
				} `json:"deliveries"`
			} `json:"events"`
		} `json:"data"`
	}
	decode(t, r.body, &env)
	if env.Message != "Sync has been started" || env.Data.EndsAt != "2026-05-22T00:06:18.638Z" {
		t.Errorf("answer %s", r.body)
	}
	var evNames []string
	for _, ev := range env.Data.Events {
		evNames = append(evNames, ev.Event)
	}
	if strings.Join(evNames, ",") != "resync_connector,sync_start,sync_end" {
		t.Fatalf("events %v", evNames)
	}
	// sync_start and sync_end go to the account webhook and the group's own
	// webhook, never to another group's or to a Portable webhook.
	for _, ev := range env.Data.Events[1:] {
		var to []string
		for _, d := range ev.Deliveries {
			to = append(to, d.WebhookID)
		}
		if fmt.Sprint(to) != fmt.Sprint([]string{all, mine}) {
			t.Errorf("%s delivered to %v, want [%s %s] (not %s or %s)", ev.Event, to, all, mine, other, portable)
		}
	}
	if status := env.Data.Connection["status"].(map[string]any); status["sync_state"] != "syncing" || status["is_historical_sync"] != true {
		t.Errorf("connection in the answer: %v", status)
	}
	end := deliveries(t, e, mine, 0)[1]
	if want := `{"event":"sync_end","created":"2026-05-22T00:06:18.638Z","connector_type":"google_cloud_postgresql","connector_id":"assimilate_seem","connector_name":"ftar_pg","sync_id":"` + env.Data.SyncID + `","destination_group_id":"inappropriate_implode","data":{"status":"RESCHEDULED","reason":"API quota","rescheduledAt":"2026-05-22T01:00:00.000Z"}}`; end.raw != want {
		t.Errorf("sync_end\n%s\nwant\n%s", end.raw, want)
	}

	// Running, without force: 409 naming the sync.
	r = e.mustDo(409, "POST", "/standin/v1/connections/assimilate_seem/sync", `{}`)
	if !strings.Contains(string(r.body), "is syncing (sync_id '"+env.Data.SyncID+"'") {
		t.Errorf("conflict %s", r.body)
	}
	clk.Add(10 * time.Second)
	c := connection(t, e, "/v1/connections/assimilate_seem")
	status := c["status"].(map[string]any)
	if status["sync_state"] != "rescheduled" || status["rescheduled_for"] != "2026-05-22T01:00:00.000Z" || status["update_state"] != "on_schedule" {
		t.Errorf("after a rescheduled sync: %v", status)
	}
	if c["succeeded_at"] != "2026-05-22T00:06:08.638Z" || c["failed_at"] != nil {
		t.Errorf("a rescheduled sync neither succeeded nor failed: %v %v", c["succeeded_at"], c["failed_at"])
	}
	clk.Add(time.Hour)
	if s := syncState(t, e, "assimilate_seem"); s != "scheduled" {
		t.Errorf("after rescheduled_for: %s", s)
	}

	// Duration 0 ends at once; FAILED makes failed_at and delayed.
	e.mustDo(200, "POST", "/standin/v1/connections/brisk_otter/sync", `{"status":"FAILED","duration":"0s"}`)
	c = connection(t, e, "/v1/connections/brisk_otter")
	if c["failed_at"] != "2026-05-22T01:06:18.638Z" || c["status"].(map[string]any)["update_state"] != "delayed" {
		t.Errorf("after FAILED: %v", c)
	}
	if got := deliveries(t, e, other, 0); names(got) != "sync_start,sync_end" {
		t.Errorf("the other group's webhook got %s", names(got))
	}

	for _, tt := range []struct {
		body string
		code int
		msg  string
	}{
		{`{"status":"DONE"}`, 400, "Invalid value 'DONE' for field 'status'"},
		{`{"duration":"soon"}`, 400, "Invalid value 'soon' for field 'duration'"},
		{`{"duration":"-1m"}`, 400, "Invalid value '-1m' for field 'duration'"},
		{`{"rescheduled_at":"later"}`, 400, "Invalid value 'later' for field 'rescheduled_at'"},
		{`{"colour":"red"}`, 400, "Invalid request body"},
	} {
		r := e.mustDo(tt.code, "POST", "/standin/v1/connections/gather_harbor/sync", tt.body)
		if !strings.Contains(string(r.body), tt.msg) {
			t.Errorf("%s = %s", tt.body, r.body)
		}
	}
}

// TestRegistryCreate registers groups and connections through the emulator
// API.
func TestRegistryCreate(t *testing.T) {
	t.Parallel()
	e, _, all := newSimEnv(t)

	r := e.mustDo(200, "POST", "/standin/v1/groups", `{"name":"Lake"}`)
	var g struct {
		Message string `json:"message"`
		Data    struct {
			ID        string `json:"id"`
			Name      string `json:"name"`
			CreatedAt string `json:"created_at"`
		} `json:"data"`
	}
	decode(t, r.body, &g)
	if g.Message != "Group has been created" || !strings.Contains(g.Data.ID, "_") || g.Data.Name != "Lake" || g.Data.CreatedAt != "2026-05-22T00:06:08.638Z" {
		t.Errorf("create group %s", r.body)
	}
	e.mustDo(200, "POST", "/standin/v1/groups", `{"id":"data_lake","name":"Lake 2"}`)
	r = e.mustDo(409, "POST", "/standin/v1/groups", `{"id":"data_lake","name":"Again"}`)
	if string(r.body) != `{"code":"Conflict","message":"Group with id 'data_lake' already exists"}` {
		t.Errorf("duplicate group %s", r.body)
	}

	r = e.mustDo(200, "POST", "/standin/v1/connections",
		`{"id":"swift_trout","group_id":"data_lake","service":"stripe","schema":"stripe","sync_frequency":60,"schedule_type":"manual"}`)
	want := `{"code":"Success","message":"Connection has been created","data":{"id":"swift_trout","group_id":"data_lake","service":"stripe","service_version":0,"schema":"stripe","paused":false,"pause_after_trial":false,"connected_by":"_standin","created_at":"2026-05-22T00:06:08.638Z","succeeded_at":null,"failed_at":null,"sync_frequency":60,"schedule_type":"manual","status":{"setup_state":"connected","sync_state":"scheduled","update_state":"on_schedule","is_historical_sync":false,"tasks":[],"warnings":[]},"daily_sync_time":null,"networking_method":"Directly","data_delay_sensitivity":"NORMAL","data_delay_threshold":0,"proxy_agent_id":null,"private_link_id":null,"hybrid_deployment_agent_id":null,"setup_tests":[],"source_sync_details":null,"config":{}}}`
	if string(r.body) != want {
		t.Errorf("create connection\n%s\nwant\n%s", r.body, want)
	}
	got := deliveries(t, e, all, 0)
	if names(got) != "create_connector" || got[0].raw != `{"event":"create_connector","created":"2026-05-22T00:06:08.638Z","connector_type":"stripe","connector_id":"swift_trout","connector_name":"stripe","destination_group_id":"data_lake"}` {
		t.Errorf("create emitted %v", got)
	}
	// Its first sync is the historical one.
	e.mustDo(200, "POST", "/v1/connections/swift_trout/sync", ``)
	if status := connection(t, e, "/v1/connections/swift_trout")["status"].(map[string]any); status["is_historical_sync"] != true {
		t.Errorf("first sync: %v", status)
	}
	e.mustDo(200, "GET", "/v1/groups/data_lake/connections", "")

	for _, tt := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"/standin/v1/groups", `{}`, 400, `{"code":"InvalidInput","message":"Field 'name' is required"}`},
		{"/standin/v1/groups", `{"id":"Bad Id","name":"x"}`, 400, `{"code":"InvalidInput","message":"Invalid value 'Bad Id' for field 'id': use lowercase letters, digits and '_'"}`},
		{"/standin/v1/connections", `{"service":"x","schema":"x"}`, 400, `{"code":"InvalidInput","message":"Field 'group_id' is required"}`},
		{"/standin/v1/connections", `{"group_id":"data_lake","schema":"x"}`, 400, `{"code":"InvalidInput","message":"Field 'service' is required"}`},
		{"/standin/v1/connections", `{"group_id":"data_lake","service":"x"}`, 400, `{"code":"InvalidInput","message":"Field 'schema' is required"}`},
		{"/standin/v1/connections", `{"group_id":"nope","service":"x","schema":"x"}`, 404, `{"code":"NotFound_Group","message":"Cannot find entity 'Group' with id 'nope'"}`},
		{"/standin/v1/connections", `{"id":"swift_trout","group_id":"data_lake","service":"x","schema":"x"}`, 409, `{"code":"Conflict","message":"Connection with id 'swift_trout' already exists"}`},
		{"/standin/v1/connections", `{"group_id":"data_lake","service":"x","schema":"x","sync_frequency":2}`, 400, `{"code":"InvalidInput","message":"Invalid value for field 'sync_frequency': must be one of [1 5 15 30 60 120 180 360 480 720 1440]"}`},
		{"/standin/v1/connections", `{"group_id":"data_lake","service":"x","schema":"x","schedule_type":"daily"}`, 400, `{"code":"InvalidInput","message":"Invalid value for field 'schedule_type': must be 'auto' or 'manual'"}`},
	} {
		r := e.mustDo(tt.code, "POST", tt.path, tt.body)
		if string(r.body) != tt.want {
			t.Errorf("POST %s %s\n got %s\nwant %s", tt.path, tt.body, r.body, tt.want)
		}
	}
	if got := deliveries(t, e, all, 1); names(got) != "sync_start,sync_end" {
		t.Errorf("refused creations emitted: %s", names(got))
	}
}

// TestPortableFlowRun emits a flow run to Portable webhooks only, with
// Portable's payloads.
func TestPortableFlowRun(t *testing.T) {
	t.Parallel()
	e, _, fivetran := newSimEnv(t)
	portable := e.createWebhook("/v1/webhooks/account", `{"url":"http://127.0.0.1:1/p","events":["sync_start","sync_end"],"profile":"portable"}`)

	r := e.mustDo(200, "POST", "/standin/v1/portable/flows/42/run",
		`{"status":"FAILED","details":"Source credentials expired","duration":"2m","run_attempt_id":7001,"source_type":"shopify"}`)
	if want := `"message":"Flow run has been started","data":{"flow_id":"42","run_attempt_id":"7001","ends_at":"2026-05-22T00:06:10.638Z","events":[`; !strings.Contains(string(r.body), want) {
		t.Errorf("answer %s", r.body)
	}
	got := deliveries(t, e, portable, 0)
	if names(got) != "sync_start,sync_end" {
		t.Fatalf("portable webhook got %s", names(got))
	}
	if want := `{"created":"2026-05-22T00:06:08Z","destination_id":904,"destination_type":"bigquery","event":"sync_start","flow_id":42,"run_attempt_id":7001,"source_id":1207,"source_type":"shopify"}`; got[0].raw != want {
		t.Errorf("sync_start\n%s\nwant\n%s", got[0].raw, want)
	}
	if want := `{"created":"2026-05-22T00:06:10Z","destination_id":904,"destination_type":"bigquery","details":"Source credentials expired","event":"sync_end","flow_id":42,"run_attempt_id":7001,"source_id":1207,"source_type":"shopify","status":"FAILED"}`; got[1].raw != want {
		t.Errorf("sync_end\n%s\nwant\n%s", got[1].raw, want)
	}
	if !got[1].dueAt.Equal(testNow.Add(2 * time.Second)) {
		t.Errorf("sync_end due %v", got[1].dueAt)
	}
	if f := deliveries(t, e, fivetran, 0); len(f) != 0 {
		t.Errorf("a Fivetran webhook got %s", names(f))
	}

	// Defaults: a fresh run_attempt_id shared by both events, SUCCESSFUL.
	e.mustDo(200, "POST", "/standin/v1/portable/flows/42/run", `{}`)
	got = deliveries(t, e, portable, 2)
	var start, end map[string]any
	decode(t, []byte(got[0].raw), &start)
	decode(t, []byte(got[1].raw), &end)
	if start["run_attempt_id"] != end["run_attempt_id"] || start["run_attempt_id"] == float64(7001) || end["status"] != "SUCCESSFUL" || end["details"] != "The flow finished successfully." {
		t.Errorf("defaults: %s %s", got[0].raw, got[1].raw)
	}

	for _, tt := range []struct{ path, body, msg string }{
		{"/standin/v1/portable/flows/0/run", `{}`, "Invalid value '0' for field 'flow_id'"},
		{"/standin/v1/portable/flows/x/run", `{}`, "flow_id"},
		{"/standin/v1/portable/flows/1/run", `{"status":"NOPE"}`, "Invalid value 'NOPE' for field 'status'"},
		{"/standin/v1/portable/flows/1/run", `{"duration":"1y"}`, "Invalid value '1y' for field 'duration'"},
		{"/standin/v1/portable/flows/1/run", `{"source_id":-1}`, "Invalid value '-1' for field 'source_id'"},
	} {
		r := e.mustDo(http.StatusBadRequest, "POST", tt.path, tt.body)
		if !strings.Contains(string(r.body), tt.msg) {
			t.Errorf("POST %s %s = %s", tt.path, tt.body, r.body)
		}
	}
}

// TestConcurrentSyncs starts syncs of one connection at once: exactly one
// starts, the others see it running (the change is conditional on the
// connection's version).
func TestConcurrentSyncs(t *testing.T) {
	t.Parallel()
	e, _, all := newSimEnv(t)
	const n = 8
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", e.url+"/standin/v1/connections/brisk_otter/sync", strings.NewReader(`{}`))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[200] != 1 || count[409] != n-1 {
		t.Errorf("statuses %v, want one 200 and %d 409", count, n-1)
	}
	if got := deliveries(t, e, all, 0); names(got) != "sync_start,sync_end" {
		t.Errorf("emitted %s", names(got))
	}
}
