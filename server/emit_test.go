package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
)

// TestEmitFanOut emits one event and checks that exactly the subscribed,
// active webhooks of the right group and profile got a delivery.
func TestEmitFanOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	const u = "http://127.0.0.1:1/hook"
	account := e.createWebhook("/v1/webhooks/account", `{"url":"`+u+`","events":["sync_end"]}`)
	group := e.createWebhook("/v1/webhooks/group/g1", `{"url":"`+u+`","events":["sync_start","sync_end"]}`)
	portable := e.createWebhook("/v1/webhooks/account", `{"url":"`+u+`","events":["sync_end"],"profile":"portable"}`)
	e.createWebhook("/v1/webhooks/group/g2", `{"url":"`+u+`","events":["sync_end"]}`)                 // other group
	e.createWebhook("/v1/webhooks/account", `{"url":"`+u+`","events":["sync_end"],"active":false}`)   // inactive
	e.createWebhook("/v1/webhooks/account", `{"url":"`+u+`","events":["sync_start","resync_table"]}`) // not subscribed

	r := e.mustDo(200, "POST", "/standin/v1/events",
		`{"event":"sync_end","group_id":"g1","connector_id":"calm_fox","sync_id":"b4703f73-6315-4e22-8d7a-3bfb18b2fed2","status":"FAILURE_WITH_TASK","task_type":"reconnect","rescheduled_at":"2026-05-22T01:00:00Z","flow_id":7,"details":"broken"}`)
	var env struct {
		Data struct {
			ID         string `json:"id"`
			Deliveries []struct {
				ID        string `json:"id"`
				WebhookID string `json:"webhook_id"`
				State     string `json:"state"`
			} `json:"deliveries"`
		} `json:"data"`
	}
	decode(t, r.body, &env)
	var got []string
	for _, d := range env.Data.Deliveries {
		got = append(got, d.WebhookID)
		if d.State != store.DeliveryPending {
			t.Errorf("delivery %s state %s", d.ID, d.State)
		}
	}
	if want := []string{account, group, portable}; !slices.Equal(got, want) {
		t.Fatalf("deliveries to %v, want %v", got, want)
	}

	stored, err := e.store.DeliveryList(context.Background(), store.DeliveryListParams{EventID: env.Data.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	bodies := make(map[string]string)
	for _, d := range stored {
		bodies[d.WebhookID] = string(d.Body)
	}
	if len(bodies) != 3 {
		t.Fatalf("%d stored deliveries, want 3", len(stored))
	}
	fivetran := `{"event":"sync_end","created":"2026-05-22T00:06:08.638Z","connector_type":"google_cloud_postgresql","connector_id":"calm_fox","connector_name":"standin_pg","sync_id":"b4703f73-6315-4e22-8d7a-3bfb18b2fed2","destination_group_id":"g1","data":{"status":"FAILURE_WITH_TASK","taskType":"reconnect","rescheduledAt":"2026-05-22T01:00:00.000Z"}}`
	for _, id := range []string{account, group} {
		if bodies[id] != fivetran {
			t.Errorf("body to %s:\n got %s\nwant %s", id, bodies[id], fivetran)
		}
	}
	if p := bodies[portable]; !strings.Contains(p, `"details":"broken"`) || !strings.Contains(p, `"flow_id":7`) || !strings.Contains(p, `"status":"FAILURE_WITH_TASK"`) {
		t.Errorf("portable body %s", p)
	}

	// An event no one subscribed to is still a success, with no deliveries.
	r = e.mustDo(200, "POST", "/standin/v1/events", `{"event":"pause_connector","group_id":"g9"}`)
	if !strings.Contains(string(r.body), `"deliveries":[]`) {
		t.Errorf("unsubscribed emit: %s", r.body)
	}
	// Data is sent as given (keys sorted) to Fivetran webhooks.
	r = e.mustDo(200, "POST", "/standin/v1/events", `{"event":"sync_end","group_id":"g1","data":{"status":"SUCCESSFUL","b":[1,2],"a":{"x":null}}}`)
	decode(t, r.body, &env)
	d, err := e.store.DeliveryGetByID(context.Background(), env.Data.Deliveries[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(d.Body), `,"data":{"a":{"x":null},"b":[1,2],"status":"SUCCESSFUL"}}`) {
		t.Errorf("body with data %s", d.Body)
	}
}

// TestEmitter uses the exported Emitter directly, as the sync simulator
// does.
func TestEmitter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	wh := e.createWebhook("/v1/webhooks/account", `{"url":"http://127.0.0.1:1/hook","events":["sync_start"]}`)
	em := e.api.Emitter()
	runAt := testNow.Add(time.Minute)
	ev, ds, err := em.Emit(context.Background(), delivery.Source{Event: delivery.EventSyncStart}, runAt)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].WebhookID != wh || ev.Name != delivery.EventSyncStart || !ev.CreatedAt.Equal(testNow) {
		t.Fatalf("event %+v deliveries %+v", ev, ds)
	}
	if ds[0].NextAttemptAt == nil || !ds[0].NextAttemptAt.Equal(runAt) {
		t.Errorf("NextAttemptAt %v, want %v", ds[0].NextAttemptAt, runAt)
	}
	var src delivery.Source
	if err := json.Unmarshal(ev.Source, &src); err != nil || src.GroupID != delivery.DefaultGroupID || src.SyncID == "" {
		t.Errorf("event source %s (%v)", ev.Source, err)
	}
	if _, _, err := em.Emit(context.Background(), delivery.Source{Event: "nope"}, time.Time{}); !errors.Is(err, delivery.ErrUnknownEvent) {
		t.Errorf("unknown event: %v, want ErrUnknownEvent", err)
	}
}

// TestDeliveryLog pages through the delivery log, newest first, with
// filters.
func TestDeliveryLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	a := e.createWebhook("/v1/webhooks/account", `{"url":"http://127.0.0.1:1/a","events":["sync_start","sync_end"]}`)
	b := e.createWebhook("/v1/webhooks/account", `{"url":"http://127.0.0.1:1/b","events":["sync_end"]}`)
	for _, ev := range []string{"sync_start", "sync_end", "sync_end"} {
		e.mustDo(200, "POST", "/standin/v1/events", `{"event":"`+ev+`"}`)
	}
	type page struct {
		Data struct {
			Items []struct {
				ID        string `json:"id"`
				Event     string `json:"event"`
				WebhookID string `json:"webhook_id"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		} `json:"data"`
	}
	list := func(query string) page {
		var p page
		decode(t, e.mustDo(200, "GET", "/standin/v1/deliveries?"+query, "").body, &p)
		return p
	}
	all := list("")
	if len(all.Data.Items) != 5 || all.Data.NextCursor != nil {
		t.Fatalf("all deliveries: %+v", all)
	}
	p1 := list("limit=3")
	if len(p1.Data.Items) != 3 || p1.Data.NextCursor == nil {
		t.Fatalf("page 1: %+v", p1)
	}
	p2 := list("limit=3&cursor=" + *p1.Data.NextCursor)
	if len(p2.Data.Items) != 2 || p2.Data.NextCursor != nil {
		t.Fatalf("page 2: %+v", p2)
	}
	for i, it := range append(p1.Data.Items, p2.Data.Items...) {
		if it.ID != all.Data.Items[i].ID {
			t.Errorf("paged item %d is %s, want %s", i, it.ID, all.Data.Items[i].ID)
		}
	}
	if f := list("webhook_id=" + b); len(f.Data.Items) != 2 || f.Data.Items[0].WebhookID != b {
		t.Errorf("webhook filter: %+v", f)
	}
	if f := list("event=sync_start"); len(f.Data.Items) != 1 || f.Data.Items[0].WebhookID != a {
		t.Errorf("event filter: %+v", f)
	}
	if f := list("status=succeeded"); len(f.Data.Items) != 0 {
		t.Errorf("status filter: %+v", f)
	}
}
