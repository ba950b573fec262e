package server_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/store"
)

// stepClock is a test clock that stays where it was last set.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func withClock(c *stepClock) func(*server.APIConfig) {
	return func(cfg *server.APIConfig) { cfg.Now = c.Now }
}

// cursorValue matches a next_cursor, whose position is a random id.
var cursorValue = regexp.MustCompile(`"next_cursor":"[^"]+"`)

// logEnv is an API with a receiver and four events a minute apart:
//
//	testNow+0m sync_start  -> account
//	testNow+1m sync_end    -> account, group (grp_1)
//	testNow+2m sync_end    -> account
//	testNow+3m sync_start  -> account
type logEnv struct {
	*testEnv
	clock   *stepClock
	account string
	group   string
	events  []string   // event ids, oldest first
	dels    [][]string // delivery ids per event
}

func newLogEnv(t *testing.T) *logEnv {
	t.Helper()
	clock := &stepClock{t: testNow}
	e := &logEnv{testEnv: newEnv(t, skipURLCheck, withClock(clock)), clock: clock}
	e.account = e.createWebhook("/v1/webhooks/account", `{"url":"http://receiver.test/hook","events":["sync_start","sync_end"],"secret":"s"}`)
	e.group = e.createWebhook("/v1/webhooks/group/grp_1", `{"url":"http://receiver.test/hook","events":["sync_end"]}`)
	for i, spec := range []string{
		`{"event":"sync_start","connector_id":"calm_fox","sync_id":"00000000-0000-4000-8000-000000000001"}`,
		`{"event":"sync_end","connector_id":"calm_fox","group_id":"grp_1","sync_id":"00000000-0000-4000-8000-000000000001","status":"FAILURE","reason":"boom"}`,
		`{"event":"sync_end","connector_id":"calm_fox","sync_id":"00000000-0000-4000-8000-000000000002"}`,
		`{"event":"sync_start","connector_id":"calm_fox","sync_id":"00000000-0000-4000-8000-000000000003"}`,
	} {
		clock.Set(testNow.Add(time.Duration(i) * time.Minute))
		var env struct {
			Data struct {
				ID         string `json:"id"`
				Deliveries []struct {
					ID string `json:"id"`
				} `json:"deliveries"`
			} `json:"data"`
		}
		decode(t, e.mustDo(200, "POST", "/standin/v1/events", spec).body, &env)
		e.events = append(e.events, env.Data.ID)
		var ids []string
		for _, d := range env.Data.Deliveries {
			ids = append(ids, d.ID)
		}
		e.dels = append(e.dels, ids)
	}
	clock.Set(testNow.Add(10 * time.Minute))
	return e
}

// TestGoldenDeliveryLog walks the delivery and event log endpoints once and
// compares each response body with testdata/*.json (ids and cursors
// normalised, clock fixed).
func TestGoldenDeliveryLog(t *testing.T) {
	t.Parallel()
	e := newLogEnv(t)
	n := &normalizer{}
	step := func(name string, want int, method, path, body string) response {
		t.Helper()
		r := e.mustDo(want, method, path, body)
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", name, ct)
		}
		got := cursorValue.ReplaceAll(n.normalize(r.body), []byte(`"next_cursor":"<cursor>"`))
		golden(t, "log_"+name+".json", got)
		return r
	}
	// Number the ids in a fixed order first: webhooks, then each event and
	// its deliveries.
	n.normalize([]byte(`"id":"` + e.account + `","id":"` + e.group + `"`))
	for i, ev := range e.events {
		n.normalize([]byte(`"id":"` + ev + `","id":"` + strings.Join(e.dels[i], `","id":"`) + `"`))
	}

	step("events", 200, "GET", "/standin/v1/events", "")
	page1 := step("events_page1", 200, "GET", "/standin/v1/events?limit=3", "")
	var list struct {
		Data struct {
			NextCursor string `json:"next_cursor"`
		} `json:"data"`
	}
	decode(t, page1.body, &list)
	step("events_page2", 200, "GET", "/standin/v1/events?limit=3&cursor="+list.Data.NextCursor, "")
	step("events_filtered", 200, "GET", "/standin/v1/events?event=sync_end&since=2026-05-22T00:07:08.638Z&until=2026-05-22T00:08:08.638Z", "")
	step("event", 200, "GET", "/standin/v1/events/"+e.events[1], "")
	step("deliveries_since_until", 200, "GET", "/standin/v1/deliveries?since=2026-05-22T00:07:08.638Z&until=2026-05-22T00:09:00Z&webhook_id="+e.account, "")

	// A delivery that failed at +0, was retried at +6m on the schedule
	// (1 s real later: time scale 360), then redelivered by hand.
	d := e.dels[1][0]
	first := testNow.Add(time.Minute + time.Second)
	next := first.Add(time.Second)
	record := func(a store.Attempt, state store.DeliveryState, nextAt *time.Time) {
		t.Helper()
		a.DeliveryID, a.URL = d, "http://receiver.test/hook"
		a.RequestHeaders = http.Header{"Content-Type": {"application/json"}, "User-Agent": {"standin"}, "X-Fivetran-Signature-256": {"SIG" + a.StartedAt.Format("05")}}
		a.ResponseHeaders = http.Header{"Content-Type": {"text/plain"}}
		if _, err := e.store.AttemptRecord(context.Background(), store.AttemptRecordParams{
			Attempt: a, State: state, FirstAttemptAt: &first, NextAttemptAt: nextAt, UpdatedAt: a.StartedAt,
		}); err != nil {
			t.Fatalf("record attempt: %v", err)
		}
	}
	record(store.Attempt{StartedAt: first, StatusCode: 500, Latency: 12 * time.Millisecond, Error: "receiver answered HTTP 500", ResponseExcerpt: []byte("oops")},
		store.DeliveryRetrying, &next)
	next2 := first.Add(4600 * time.Millisecond)
	record(store.Attempt{StartedAt: next, EmulatedDelay: 6 * time.Minute, Error: "dial tcp 127.0.0.1:9: connect: connection refused", Latency: time.Millisecond},
		store.DeliveryRetrying, &next2)
	record(store.Attempt{Manual: true, StartedAt: first.Add(3 * time.Second), EmulatedDelay: 18 * time.Minute, StatusCode: 200, Succeeded: true, Latency: 3 * time.Millisecond},
		store.DeliverySucceeded, nil)
	step("delivery", 200, "GET", "/standin/v1/deliveries/"+d, "")

	step("redeliver", 200, "POST", "/standin/v1/deliveries/"+d+"/redeliver", "")
	step("cancel", 200, "POST", "/standin/v1/deliveries/"+e.dels[1][1]+"/cancel", "")
	step("cancel_finished", 409, "POST", "/standin/v1/deliveries/"+d+"/cancel", "")
	step("event_not_found", 404, "GET", "/standin/v1/events/nope", "")
	step("redeliver_not_found", 404, "POST", "/standin/v1/deliveries/nope/redeliver", "")
}

// TestDeliveryLogBadInput checks each refused request of the delivery and
// event logs: its HTTP status, envelope code and message, and that no
// delivery changed.
func TestDeliveryLogBadInput(t *testing.T) {
	t.Parallel()
	e := newLogEnv(t)
	cancelled := e.dels[0][0]
	if r := e.mustDo(200, "POST", "/standin/v1/deliveries/"+cancelled+"/cancel", ""); !strings.Contains(string(r.body), `"state":"cancelled"`) {
		t.Fatalf("cancel: %s", r.body)
	}
	orphan := e.dels[1][1] // to the group webhook, deleted below
	e.mustDo(200, "DELETE", "/v1/webhooks/"+e.group, "")
	// A well-formed cursor whose event does not exist, and one of the other
	// list: both come from real pages.
	var page struct {
		Data struct {
			NextCursor string `json:"next_cursor"`
		} `json:"data"`
	}
	decode(t, e.mustDo(200, "GET", "/standin/v1/deliveries?limit=1", "").body, &page)
	deliveryCursor := page.Data.NextCursor

	tests := []struct {
		name, method, path string
		status             int
		code, message      string
		body               string
	}{
		{"events bad cursor", "GET", "/standin/v1/events?cursor=abc",
			400, "InvalidInput", "Invalid value for field 'cursor'", ""},
		{"events cursor of deliveries", "GET", "/standin/v1/events?cursor=" + deliveryCursor,
			400, "InvalidInput", "Invalid value for field 'cursor'", ""},
		{"deliveries cursor of events", "GET", "/standin/v1/deliveries?cursor=" + eventCursor(t, e),
			400, "InvalidInput", "Invalid value for field 'cursor'", ""},
		{"events bad since", "GET", "/standin/v1/events?since=yesterday",
			400, "InvalidInput", "Invalid value 'yesterday' for field 'since': must be an RFC 3339 time", ""},
		{"events bad until", "GET", "/standin/v1/events?until=2026-05-22",
			400, "InvalidInput", "Invalid value '2026-05-22' for field 'until': must be an RFC 3339 time", ""},
		{"deliveries bad since", "GET", "/standin/v1/deliveries?since=1716336368",
			400, "InvalidInput", "Invalid value '1716336368' for field 'since'", ""},
		{"deliveries bad until", "GET", "/standin/v1/deliveries?until=2026-13-01T00:00:00Z",
			400, "InvalidInput", "Invalid value '2026-13-01T00:00:00Z' for field 'until'", ""},
		{"events limit 0", "GET", "/standin/v1/events?limit=0",
			400, "InvalidInput", "Field 'limit' must be between 1 and 1000", ""},
		{"events limit 1001", "GET", "/standin/v1/events?limit=1001",
			400, "InvalidInput", "Field 'limit' must be between 1 and 1000", ""},
		{"unknown event", "GET", "/standin/v1/events/no_such",
			404, "NotFound_Event", "Cannot find entity 'Event' with id 'no_such'", ""},
		{"unknown delivery get", "GET", "/standin/v1/deliveries/no_such",
			404, "NotFound_Delivery", "Cannot find entity 'Delivery' with id 'no_such'", ""},
		{"unknown delivery redeliver", "POST", "/standin/v1/deliveries/no_such/redeliver",
			404, "NotFound_Delivery", "Cannot find entity 'Delivery' with id 'no_such'", ""},
		{"unknown delivery cancel", "POST", "/standin/v1/deliveries/no_such/cancel",
			404, "NotFound_Delivery", "Cannot find entity 'Delivery' with id 'no_such'", ""},
		{"cancel cancelled", "POST", "/standin/v1/deliveries/" + cancelled + "/cancel",
			409, "Conflict", "Cannot cancel delivery '" + cancelled + "' in state 'cancelled': only pending and retrying deliveries can be cancelled", ""},
		{"redeliver to deleted webhook", "POST", "/standin/v1/deliveries/" + orphan + "/redeliver",
			409, "Conflict", "Cannot redeliver delivery '" + orphan + "': its webhook '" + e.group + "' was deleted", ""},
		{"redeliver with GET", "GET", "/standin/v1/deliveries/" + cancelled + "/redeliver",
			405, "MethodNotAllowed", "Method GET is not allowed", ""},
		{"redeliver unknown field", "POST", "/standin/v1/deliveries/" + cancelled + "/redeliver",
			400, "InvalidInput", `unknown field "colour"`, `{"colour":"red"}`},
		{"cancel malformed body", "POST", "/standin/v1/deliveries/" + e.dels[2][0] + "/cancel",
			400, "InvalidInput", "Invalid request body", `{"id":`},
	}
	before := deliveryStates(t, e.testEnv)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.body)
			if r.status != tt.status {
				t.Errorf("status %d, want %d (body %s)", r.status, tt.status, r.body)
			}
			var env map[string]any
			decode(t, r.body, &env)
			if env["code"] != tt.code {
				t.Errorf("code %v, want %s (body %s)", env["code"], tt.code, r.body)
			}
			if msg, _ := env["message"].(string); !strings.Contains(msg, tt.message) {
				t.Errorf("message %q, want %q", msg, tt.message)
			}
			if len(env) != 2 {
				t.Errorf("envelope has keys %v, want code and message only", env)
			}
		})
	}
	if after := deliveryStates(t, e.testEnv); after != before {
		t.Errorf("deliveries changed:\n%s\nwant\n%s", after, before)
	}
}

// eventCursor returns a real next_cursor of the event list.
func eventCursor(t *testing.T, e *logEnv) string {
	t.Helper()
	var page struct {
		Data struct {
			NextCursor string `json:"next_cursor"`
		} `json:"data"`
	}
	decode(t, e.mustDo(200, "GET", "/standin/v1/events?limit=1", "").body, &page)
	if page.Data.NextCursor == "" {
		t.Fatal("no event cursor")
	}
	return page.Data.NextCursor
}

// deliveryStates lists every delivery's id, state and attempts.
func deliveryStates(t *testing.T, e *testEnv) string {
	t.Helper()
	list, err := e.store.DeliveryList(context.Background(), store.DeliveryListParams{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, d := range list {
		b.WriteString(d.ID + " " + string(d.State) + " " + d.UpdatedAt.String() + "\n")
	}
	return b.String()
}

// TestEventLogPaging pages through more events than one page holds, with
// and without a name filter, and checks the order and the cursors.
func TestEventLogPaging(t *testing.T) {
	t.Parallel()
	e := newLogEnv(t)
	type page struct {
		Data struct {
			Items []struct {
				ID    string `json:"id"`
				Event string `json:"event"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		} `json:"data"`
	}
	walk := func(query string) []string {
		t.Helper()
		var ids []string
		cursor := ""
		for range 10 {
			path := "/standin/v1/events?limit=1&" + query
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			var p page
			decode(t, e.mustDo(200, "GET", path, "").body, &p)
			for _, it := range p.Data.Items {
				ids = append(ids, it.ID)
			}
			if p.Data.NextCursor == nil {
				return ids
			}
			cursor = *p.Data.NextCursor
		}
		t.Fatalf("paging %q did not end", query)
		return nil
	}
	ev := e.events
	if got, want := strings.Join(walk(""), " "), strings.Join([]string{ev[3], ev[2], ev[1], ev[0]}, " "); got != want {
		t.Errorf("all events newest first:\n got %s\nwant %s", got, want)
	}
	if got, want := strings.Join(walk("event=sync_start"), " "), ev[3]+" "+ev[0]; got != want {
		t.Errorf("sync_start events:\n got %s\nwant %s", got, want)
	}
	if got, want := strings.Join(walk("since=2026-05-22T00:07:08.638Z"), " "), ev[3]+" "+ev[2]+" "+ev[1]; got != want {
		t.Errorf("events since +1m:\n got %s\nwant %s", got, want)
	}
}

// TestDeliveryLogGRPC calls the new RPCs over gRPC: codes and reasons match
// the REST envelopes.
func TestDeliveryLogGRPC(t *testing.T) {
	t.Parallel()
	e := newLogEnv(t)
	conn := startGRPC(t, e.testEnv)
	ctx := context.Background()
	events := standinv1.NewEventServiceClient(conn)
	deliveries := standinv1.NewDeliveryServiceClient(conn)

	list, err := events.ListEvents(ctx, &standinv1.ListEventsRequest{Event: "sync_end"})
	if err != nil || len(list.GetData().GetItems()) != 2 || list.GetData().GetItems()[0].GetId() != e.events[2] {
		t.Fatalf("ListEvents: %v %v", list, err)
	}
	got, err := events.GetEvent(ctx, &standinv1.GetEventRequest{Id: e.events[1]})
	if err != nil {
		t.Fatalf("GetEvent: %v", err)
	}
	var ids []string
	for _, d := range got.GetData().GetDeliveries() {
		ids = append(ids, d.GetId())
	}
	if strings.Join(ids, " ") != strings.Join(e.dels[1], " ") || got.GetData().GetEvent().GetGroupId() != "grp_1" {
		t.Errorf("GetEvent: deliveries %v, want %v in creation order; event %v", ids, e.dels[1], got.GetData().GetEvent())
	}
	_, err = events.GetEvent(ctx, &standinv1.GetEventRequest{Id: "nope"})
	if status.Code(err) != codes.NotFound || reason(err) != "NotFound_Event" {
		t.Errorf("GetEvent unknown: %v (reason %q)", err, reason(err))
	}

	id := e.dels[0][0]
	red, err := deliveries.RedeliverDelivery(ctx, &standinv1.RedeliverDeliveryRequest{Id: id})
	if err != nil || red.GetData().GetId() != id || red.GetCode() != "Success" {
		t.Errorf("RedeliverDelivery: %v %v", red, err)
	}
	c, err := deliveries.CancelDelivery(ctx, &standinv1.CancelDeliveryRequest{Id: id})
	if err != nil || c.GetData().GetState() != string(store.DeliveryCancelled) || c.GetData().FinishedAt == nil {
		t.Errorf("CancelDelivery: %v %v", c, err)
	}
	_, err = deliveries.CancelDelivery(ctx, &standinv1.CancelDeliveryRequest{Id: id})
	if status.Code(err) != codes.FailedPrecondition || reason(err) != "Conflict" {
		t.Errorf("CancelDelivery twice: %v (reason %q)", err, reason(err))
	}
}
