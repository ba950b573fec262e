package server_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server"
)

// TestEventFieldLengths: ids and names of an emitted event are bounded like
// group ids; a longer one is refused with 400 naming the field, and nothing
// is stored.
func TestEventFieldLengths(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	max := strings.Repeat("c", server.MaxEventFieldLength)
	for _, field := range []string{"connector_id", "connector_name", "connector_type", "sync_id", "group_id", "destination_type"} {
		r := e.do(http.MethodPost, "/standin/v1/events", fmt.Sprintf(`{"event":"sync_start","%s":"%s"}`, field, max+"c"))
		want := fmt.Sprintf("Field '%s' must be at most %d characters long", field, server.MaxEventFieldLength)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), want) {
			t.Errorf("%s of %d bytes: %d %s, want 400 %q", field, server.MaxEventFieldLength+1, r.status, r.body, want)
		}
	}
	if r := e.do(http.MethodGet, "/standin/v1/events", ""); !strings.Contains(string(r.body), `"items":[]`) {
		t.Errorf("refused events were stored: %s", r.body)
	}
	e.mustDo(http.StatusOK, http.MethodPost, "/standin/v1/events", `{"event":"sync_start","connector_id":"`+max+`"}`)
}

// TestEmitDeliveriesLimit: one emit request may create at most
// MaxEmitDeliveries deliveries (lowered here to 5); above, it is refused
// with 400 before anything is stored.
func TestEmitDeliveriesLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	server.SetMaxEmitDeliveries(e.api, 5)
	for i := range 3 {
		e.createWebhook("/v1/webhooks/account", fmt.Sprintf(`{"url":"http://127.0.0.1:1/%d","events":["sync_end"]}`, i))
	}
	e.mustDo(http.StatusOK, http.MethodPost, "/standin/v1/events", `{"event":"sync_end"}`) // 3 deliveries
	r := e.do(http.MethodPost, "/standin/v1/events:batch", `{"events":[{"event":"sync_end"},{"event":"sync_end"}]}`)
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "more than 5 deliveries") {
		t.Errorf("batch of 6 deliveries: %d %s, want 400", r.status, r.body)
	}
	for i := range 3 {
		e.createWebhook("/v1/webhooks/account", fmt.Sprintf(`{"url":"http://127.0.0.1:1/more%d","events":["sync_end"]}`, i))
	}
	r = e.do(http.MethodPost, "/standin/v1/events", `{"event":"sync_end"}`)
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "would create 6 deliveries, more than the limit of 5") {
		t.Errorf("one event to 6 webhooks: %d %s, want 400", r.status, r.body)
	}
	var page struct {
		Data struct{ Items []struct{ ID string } }
	}
	decode(t, e.mustDo(http.StatusOK, http.MethodGet, "/standin/v1/events", "").body, &page)
	if len(page.Data.Items) != 1 {
		t.Errorf("%d events stored, want only the first", len(page.Data.Items))
	}
}

// TestListPageBytes: a page of events or deliveries ends early, with a
// cursor, once it holds MaxPageBytes; following the cursors reads every
// item once. The allocations of one list call are logged (they count the
// whole test process, so they are not asserted).
func TestListPageBytes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	e.createWebhook("/v1/webhooks/account", `{"url":"http://127.0.0.1:1/","events":["sync_start"]}`)
	const events = 24
	big := strings.Repeat("x", 900<<10) // 900 KiB, under the 1 MiB body limit
	for i := range events {
		e.mustDo(http.StatusOK, http.MethodPost, "/standin/v1/events", fmt.Sprintf(`{"event":"sync_start","data":{"n":%d,"blob":"%s"}}`, i, big))
	}
	for _, path := range []string{"/standin/v1/events", "/standin/v1/deliveries"} {
		seen := map[string]bool{}
		cursor, pages := "", 0
		var alloc uint64
		for {
			q := "?limit=1000"
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r := e.mustDo(http.StatusOK, http.MethodGet, path+q, "")
			runtime.ReadMemStats(&after)
			alloc = max(alloc, after.TotalAlloc-before.TotalAlloc)
			var page struct {
				Data struct {
					Items      []struct{ ID string }
					NextCursor string `json:"next_cursor"`
				}
			}
			decode(t, r.body, &page)
			pages++
			if len(r.body) > 2*server.MaxPageBytes {
				t.Errorf("%s page %d: %d bytes", path, pages, len(r.body))
			}
			for _, it := range page.Data.Items {
				if seen[it.ID] {
					t.Errorf("%s: %s listed twice", path, it.ID)
				}
				seen[it.ID] = true
			}
			if cursor = page.Data.NextCursor; cursor == "" {
				break
			}
			if pages > events {
				t.Fatalf("%s: more pages than events", path)
			}
		}
		t.Logf("%s: %d items in %d pages of limit 1000; at most %.1f MB allocated per list call", path, len(seen), pages, float64(alloc)/1e6)
		if len(seen) != events || pages < 2 {
			t.Errorf("%s: %d items in %d pages, want %d items over several pages", path, len(seen), pages, events)
		}
	}
}

// TestGRPCHeaderListSize: gRPC metadata over MaxHeaderBytes is refused;
// below it calls work.
func TestGRPCHeaderListSize(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	conn := startGRPC(t, e)
	client := standinv1.NewWebhookServiceClient(conn)
	call := func(n int) error {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-pad", base64.RawStdEncoding.EncodeToString(make([]byte, n)))
		_, err := client.ListWebhooks(ctx, &standinv1.ListWebhooksRequest{})
		return err
	}
	if err := call(16 << 10); err != nil {
		t.Fatalf("16 KiB of metadata: %v", err)
	}
	if err := call(1 << 20); err == nil {
		t.Errorf("1 MiB of metadata accepted, want refused")
	} else {
		t.Logf("1 MiB of metadata: %v", status.Convert(err).Message())
	}
	if err := call(0); err != nil {
		t.Errorf("a call after the refused one: %v", err)
	}
}
