package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/server/client"
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
		if d.State != string(store.DeliveryPending) {
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
	fivetran := `{"event":"sync_end","created":"2026-05-22T00:06:08.638Z","connector_type":"google_cloud_postgresql","connector_id":"calm_fox","connector_name":"ftar_pg","sync_id":"b4703f73-6315-4e22-8d7a-3bfb18b2fed2","destination_group_id":"g1","data":{"status":"FAILURE_WITH_TASK","taskType":"reconnect","rescheduledAt":"2026-05-22T01:00:00.000Z"}}`
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
	// Data is sent as given, byte for byte in the caller's key order
	// (compacted), to Fivetran webhooks.
	r = e.mustDo(200, "POST", "/standin/v1/events", `{"event":"sync_end","group_id":"g1","data":{ "status":"SUCCESSFUL", "b":[1,2],"a":{"x":null}}}`)
	decode(t, r.body, &env)
	d, err := e.store.DeliveryGetByID(context.Background(), env.Data.Deliveries[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(d.Body), `,"data":{"status":"SUCCESSFUL","b":[1,2],"a":{"x":null}}}`) {
		t.Errorf("body with data %s", d.Body)
	}
}

// TestEmitter uses the exported Emitter directly, as the sync simulator
// does.
func TestEmitter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	wh := e.createWebhook("/v1/webhooks/account", `{"url":"http://127.0.0.1:1/hook","events":["sync_start"]}`)
	em := server.Emitter(e.api)
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

// countingStore counts the store calls an emit makes. When hold is set,
// the first EventCreateMany says so on entered and waits for hold to close.
type countingStore struct {
	store.Store
	subscribed, create, createMany atomic.Int32
	entered, hold                  chan struct{}
}

func (s *countingStore) WebhookListSubscribed(ctx context.Context, eventName, groupID string) ([]*store.Webhook, error) {
	s.subscribed.Add(1)
	return s.Store.WebhookListSubscribed(ctx, eventName, groupID)
}

func (s *countingStore) EventCreate(ctx context.Context, params store.EventCreateParams) ([]*store.Delivery, error) {
	s.create.Add(1)
	return s.Store.EventCreate(ctx, params)
}

func (s *countingStore) EventCreateMany(ctx context.Context, params []store.EventCreateParams) ([]*store.Delivery, error) {
	if s.createMany.Add(1) == 1 && s.hold != nil {
		s.entered <- struct{}{}
		<-s.hold
	}
	return s.Store.EventCreateMany(ctx, params)
}

// withCountingStore puts a countingStore in front of the env's store.
func withCountingStore(cs *countingStore) func(*server.APIConfig) {
	return func(c *server.APIConfig) {
		cs.Store = c.Store
		c.Store = cs
	}
}

// emitted is the JSON of an emitted event.
type emitted struct {
	ID         string `json:"id"`
	Event      string `json:"event"`
	CreatedAt  string `json:"created_at"`
	Deliveries []struct {
		ID        string `json:"id"`
		WebhookID string `json:"webhook_id"`
		State     string `json:"state"`
	} `json:"deliveries"`
}

// TestEmitBatch emits mixed events to several webhooks in one batch and
// checks, item by item, that it created exactly what the same events
// emitted one by one do: the same event names, deliveries to the same
// webhooks in the same order, the same bodies; all in one store call, with
// one subscriber lookup per distinct event and group.
func TestEmitBatch(t *testing.T) {
	t.Parallel()
	cs := &countingStore{}
	e := newEnv(t, skipURLCheck, withCountingStore(cs))
	ctx := context.Background()
	const u = "http://127.0.0.1:1/hook"
	e.createWebhook("/v1/webhooks/account", `{"url":"`+u+`","events":["sync_start","sync_end"]}`)
	e.createWebhook("/v1/webhooks/group/g1", `{"url":"`+u+`","events":["sync_start","sync_end"]}`)
	e.createWebhook("/v1/webhooks/group/g2", `{"url":"`+u+`","events":["sync_end"]}`)
	e.createWebhook("/v1/webhooks/account", `{"url":"`+u+`","events":["sync_start","sync_end"],"profile":"portable"}`)
	e.createWebhook("/v1/webhooks/account", `{"url":"`+u+`","events":["sync_end"],"active":false}`)
	e.createWebhook("/v1/webhooks/account", `{"url":"`+u+`","events":["resync_table"]}`)

	// Sync ids are given so that the bodies are the same byte for byte.
	events := []string{
		`{"event":"sync_end","group_id":"g1","sync_id":"00000000-0000-4000-8000-000000000001","status":"FAILURE","reason":"disk full","flow_id":7}`,
		`{"event":"sync_start","sync_id":"00000000-0000-4000-8000-000000000002"}`,
		`{"event":"sync_end","group_id":"g2","sync_id":"00000000-0000-4000-8000-000000000003","data":{"status":"SUCCESSFUL","b":[1,2]}}`,
		`{"event":"pause_connector","group_id":"g9"}`, // no subscriber
		`{"event":"sync_end","group_id":"g1","sync_id":"00000000-0000-4000-8000-000000000004","details":"ok"}`,
		`{"event":"sync_start","group_id":"g1","sync_id":"00000000-0000-4000-8000-000000000005"}`,
		`{"event":"resync_table","group_id":"g2","connector_id":"calm_fox"}`,
	}
	var single []emitted
	for _, ev := range events {
		var env struct{ Data emitted }
		decode(t, e.mustDo(200, "POST", "/standin/v1/events", ev).body, &env)
		single = append(single, env.Data)
	}

	subscribed, create, createMany := cs.subscribed.Load(), cs.create.Load(), cs.createMany.Load()
	r := e.mustDo(200, "POST", "/standin/v1/events:batch", `{"events":[`+strings.Join(events, ",")+`]}`)
	if got := cs.createMany.Load() - createMany; got != 1 || cs.create.Load() != create {
		t.Errorf("batch made %d EventCreateMany and %d EventCreate calls, want 1 and 0", got, cs.create.Load()-create)
	}
	// (sync_end, g1) twice, every other pair once.
	if got := cs.subscribed.Load() - subscribed; got != int32(len(events)-1) {
		t.Errorf("batch looked subscribers up %d times, want %d", got, len(events)-1)
	}
	var batch struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Data    struct {
			Items []emitted `json:"items"`
		} `json:"data"`
	}
	decode(t, r.body, &batch)
	if batch.Code != "Success" || batch.Message != "Events have been emitted" || len(batch.Data.Items) != len(events) {
		t.Fatalf("batch response %s", r.body)
	}
	if !strings.Contains(string(r.body), `"deliveries":[]`) {
		t.Errorf("the event without subscribers has no empty deliveries list: %s", r.body)
	}
	total := 0
	for i, got := range batch.Data.Items {
		want := single[i]
		if got.Event != want.Event || got.CreatedAt != want.CreatedAt || got.ID == want.ID || len(got.Deliveries) != len(want.Deliveries) {
			t.Errorf("item %d: %+v, one by one %+v", i, got, want)
			continue
		}
		total += len(got.Deliveries)
		for j, d := range got.Deliveries {
			w := want.Deliveries[j]
			if d.WebhookID != w.WebhookID || d.State != string(store.DeliveryPending) {
				t.Errorf("item %d delivery %d: %+v, one by one %+v", i, j, d, w)
				continue
			}
			gd, err := e.store.DeliveryGetByID(ctx, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			wd, err := e.store.DeliveryGetByID(ctx, w.ID)
			if err != nil {
				t.Fatal(err)
			}
			if gd.EventID != got.ID || gd.EventName != got.Event {
				t.Errorf("item %d delivery %d stored for event %s %s, want %s %s", i, j, gd.EventID, gd.EventName, got.ID, got.Event)
			}
			if !bytes.Equal(gd.Body, wd.Body) {
				t.Errorf("item %d delivery %d body:\n got %s\nwant %s", i, j, gd.Body, wd.Body)
			}
		}
	}
	// The account webhook gets the 5 sync events, the Portable one the 2
	// that name Portable fields too (the other 3 name only Fivetran's:
	// sync_id, data), g1's webhook 3, g2's 1, and the resync_table webhook
	// its event.
	if total != 12 {
		t.Errorf("%d deliveries in the batch, want 12", total)
	}
	all, err := e.store.DeliveryList(ctx, store.DeliveryListParams{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2*total {
		t.Errorf("%d deliveries stored, want %d", len(all), 2*total)
	}
	// The batch's events are the newest, listed in reverse request order.
	var page struct {
		Data struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		} `json:"data"`
	}
	decode(t, e.mustDo(200, "GET", "/standin/v1/events?limit="+strconv.Itoa(len(events)), "").body, &page)
	for i, it := range page.Data.Items {
		if want := batch.Data.Items[len(events)-1-i].ID; it.ID != want {
			t.Errorf("listed event %d is %s, want %s", i, it.ID, want)
		}
	}
}

// TestEmitBatchRefused checks that a batch is all or nothing: one invalid
// event refuses it with 400 and the event's index, empty and oversized
// batches are refused, and nothing is stored.
func TestEmitBatchRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	e.createWebhook("/v1/webhooks/account", `{"url":"http://127.0.0.1:1/hook","events":["sync_start","sync_end"]}`)
	many := func(n int) string {
		return `{"events":[` + strings.TrimSuffix(strings.Repeat(`{"event":"sync_end"},`, n), ",") + `]}`
	}
	for _, tc := range []struct{ name, body, want string }{
		{"unknown event", `{"events":[{"event":"sync_start"},{"event":"foo"},{"event":"sync_end"}]}`, `events[1]: Invalid event 'foo'`},
		{"last invalid", `{"events":[{"event":"sync_start"},{"event":"sync_end"},{"event":"sync_start","status":"FAILURE"}]}`, `events[2]: Field 'status' only applies to event 'sync_end'`},
		{"first invalid", `{"events":[{},{"event":"sync_end"}]}`, `events[0]: Field 'event' is required`},
		{"bad status", `{"events":[{"event":"sync_end"},{"event":"sync_end","status":"MEH"}]}`, `events[1]: Invalid value 'MEH' for field 'status': must be one of [SUCCESSFUL FAILURE FAILURE_WITH_TASK RESCHEDULED FAILED]`},
		{"no events field", `{}`, `Field 'events' must hold 1 to 1000 events, not 0`},
		{"empty", `{"events":[]}`, `Field 'events' must hold 1 to 1000 events, not 0`},
		{"too many", many(server.MaxEmitBatch + 1), `Field 'events' must hold 1 to 1000 events, not 1001`},
	} {
		r := e.do("POST", "/standin/v1/events:batch", tc.body)
		if want := `{"code":"InvalidInput","message":"` + tc.want + `"}`; r.status != 400 || string(r.body) != want {
			t.Errorf("%s: %d %s, want 400 %s", tc.name, r.status, r.body, want)
		}
	}
	// The gateway refuses malformed events before the server sees them.
	if r := e.do("POST", "/standin/v1/events:batch", `{"events":[{"event":"sync_end","nope":1}]}`); r.status != 400 || !strings.Contains(string(r.body), `"InvalidInput"`) {
		t.Errorf("unknown field: %d %s", r.status, r.body)
	}
	// So does the Go client, as an *client.Error.
	c := &client.Client{BaseURL: e.url}
	_, err := c.EmitMany(context.Background(), []client.EmitRequest{{Event: "sync_end"}, {Event: "nope"}})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != 400 || apiErr.Message != `events[1]: Invalid event 'nope'` {
		t.Errorf("client: %v", err)
	}

	events, err := e.store.EventList(context.Background(), store.EventListParams{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := e.store.DeliveryList(context.Background(), store.DeliveryListParams{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 0 || len(deliveries) != 0 {
		t.Errorf("refused batches stored %d events and %d deliveries", len(events), len(deliveries))
	}
}

// TestEmitBatchLimits emits the largest batch, through the Go client, and
// checks the routes next to it.
func TestEmitBatchLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	wh := e.createWebhook("/v1/webhooks/account", `{"url":"http://127.0.0.1:1/hook","events":["sync_end"]}`)
	reqs := make([]client.EmitRequest, server.MaxEmitBatch)
	for i := range reqs {
		reqs[i] = client.EmitRequest{Event: "sync_end", ConnectorID: "c" + strconv.Itoa(i), Data: json.RawMessage(`{"status":"SUCCESSFUL","seq":` + strconv.Itoa(i) + `}`)}
	}
	c := &client.Client{BaseURL: e.url}
	resp, err := c.EmitMany(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message != "Events have been emitted" || len(resp.Data.Items) != len(reqs) {
		t.Fatalf("%q, %d items", resp.Message, len(resp.Data.Items))
	}
	ids := make(map[string]bool)
	for i, it := range resp.Data.Items {
		if it.Event != "sync_end" || len(it.Deliveries) != 1 || it.Deliveries[0].WebhookID != wh || !it.CreatedAt.Equal(testNow) {
			t.Fatalf("item %d: %+v", i, it)
		}
		ids[it.ID] = true
		if i%250 == 0 { // the items are in request order
			d, err := e.store.DeliveryGetByID(context.Background(), it.Deliveries[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if want := `"connector_id":"c` + strconv.Itoa(i) + `"`; !strings.Contains(string(d.Body), want) {
				t.Errorf("item %d body %s, want %s", i, d.Body, want)
			}
		}
	}
	if len(ids) != len(reqs) {
		t.Errorf("%d distinct event ids, want %d", len(ids), len(reqs))
	}

	// The single emit and the event routes are unaffected by :batch.
	e.mustDo(200, "POST", "/standin/v1/events", `{"event":"sync_end"}`)
	e.mustDo(200, "GET", "/standin/v1/events/"+resp.Data.Items[0].ID, "")
	if r := e.do("GET", "/standin/v1/events:batch", ""); r.status != 405 {
		t.Errorf("GET :batch: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/standin/v1/events:other", `{"events":[{"event":"sync_end"}]}`); r.status != 404 {
		t.Errorf("POST :other: %d %s", r.status, r.body)
	}
}

// TestEmitterEmitMany uses Emitter.EmitMany directly.
func TestEmitterEmitMany(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	a := e.createWebhook("/v1/webhooks/account", `{"url":"http://127.0.0.1:1/a","events":["sync_start","sync_end"]}`)
	b := e.createWebhook("/v1/webhooks/group/g1", `{"url":"http://127.0.0.1:1/b","events":["sync_end"]}`)
	em := server.Emitter(e.api)
	ctx := context.Background()
	runAt := testNow.Add(time.Minute)
	out, err := em.EmitMany(ctx, []delivery.Source{
		{Event: delivery.EventSyncStart},
		{Event: delivery.EventSyncEnd, GroupID: "g1"},
		{Event: delivery.EventSyncEnd, GroupID: "g2"},
	}, runAt)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{a}, {a, b}, {a}}
	if len(out) != len(want) {
		t.Fatalf("%d emitted, want %d", len(out), len(want))
	}
	for i, em := range out {
		var got []string
		for _, d := range em.Deliveries {
			got = append(got, d.WebhookID)
			if d.EventID != em.Event.ID || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(runAt) {
				t.Errorf("emitted %d: delivery %+v of event %s", i, d, em.Event.ID)
			}
		}
		if !slices.Equal(got, want[i]) || !em.Event.CreatedAt.Equal(testNow) {
			t.Errorf("emitted %d: event %+v to %v, want %v", i, em.Event, got, want[i])
		}
	}

	_, err = em.EmitMany(ctx, []delivery.Source{{Event: delivery.EventSyncStart}, {Event: "nope"}}, time.Time{})
	if !errors.Is(err, delivery.ErrUnknownEvent) || !strings.HasPrefix(err.Error(), "events[1]: ") {
		t.Errorf("unknown event: %v, want events[1]: … ErrUnknownEvent", err)
	}
	if out, err := em.EmitMany(ctx, nil, time.Time{}); err != nil || len(out) != 0 {
		t.Errorf("no sources: %v, %v", out, err)
	}
	if events, err := e.store.EventList(ctx, store.EventListParams{Limit: 10}); err != nil || len(events) != 3 {
		t.Errorf("%d events stored (%v), want 3", len(events), err)
	}
}

// TestEmitConcurrentSingles: single emits that arrive while another is
// being stored are stored together, in the next transaction, and each
// caller still gets its own event and deliveries.
func TestEmitConcurrentSingles(t *testing.T) {
	t.Parallel()
	cs := &countingStore{entered: make(chan struct{}, 1), hold: make(chan struct{})}
	e := newEnv(t, skipURLCheck, withCountingStore(cs))
	wh := e.createWebhook("/v1/webhooks/account", `{"url":"http://127.0.0.1:1/hook","events":["sync_end"]}`)
	queued := make(chan int, 64)
	server.OnEmitQueue(e.api, func(n int) { queued <- n })

	const n = 20
	results := make([]response, n+1)
	var wg sync.WaitGroup
	emit := func(i int) {
		wg.Go(func() {
			results[i] = e.do("POST", "/standin/v1/events", fmt.Sprintf(`{"event":"sync_end","connector_id":"c%d"}`, i))
		})
	}
	waitQueued := func(want int) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case got := <-queued:
				if got >= want {
					return
				}
			case <-timeout:
				t.Fatalf("timed out waiting for %d queued emits", want)
			}
		}
	}
	emit(0)
	select { // emit 0 is being stored, and held there
	case <-cs.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the first emit's transaction")
	}
	for i := 1; i <= n; i++ {
		emit(i)
	}
	waitQueued(n)
	close(cs.hold)
	wg.Wait()

	if got := cs.createMany.Load(); got != 2 {
		t.Errorf("%d emits made %d EventCreateMany calls, want 2 (the held one, then all the others)", n+1, got)
	}
	seen := map[string]bool{}
	for i, r := range results {
		if r.status != 200 {
			t.Fatalf("emit %d: status %d: %s", i, r.status, r.body)
		}
		var env struct{ Data emitted }
		decode(t, r.body, &env)
		if len(env.Data.Deliveries) != 1 || env.Data.Deliveries[0].WebhookID != wh || seen[env.Data.ID] {
			t.Fatalf("emit %d: %s", i, r.body)
		}
		seen[env.Data.ID] = true
		ev, err := e.store.EventGetByID(context.Background(), env.Data.ID)
		if err != nil {
			t.Fatalf("emit %d: event %s not stored: %v", i, env.Data.ID, err)
		}
		if want := fmt.Sprintf(`"connector_id":"c%d"`, i); !strings.Contains(string(ev.Source), want) {
			t.Errorf("emit %d got event %s with source %s", i, ev.ID, ev.Source)
		}
	}
}
