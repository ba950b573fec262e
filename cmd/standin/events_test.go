package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/standin-dev/standin/testkit"
)

func TestEventsListShow(t *testing.T) {
	t.Parallel()
	st := fast(t)
	rcv := testkit.NewReceiver(t, "s")
	whID := newWebhook(t, st, rcv.URL, "s")

	var first, second struct {
		ID         string
		Deliveries []struct{ ID string }
	}
	decodeJSON(t, ok(t, api(st, "trigger", "sync_start", "--group", "g1", "-o", "json")...), &first)
	decodeJSON(t, ok(t, api(st, "trigger", "sync_end", "--group", "g1", "--status", "FAILURE", "-o", "json")...), &second)
	ok(t, api(st, "trigger", "pause_connector")...) // nobody subscribed

	r := ok(t, api(st, "events", "list")...)
	rows := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(rows) != 4 || !strings.HasPrefix(rows[0], "ID") || !strings.Contains(rows[1], "pause_connector") ||
		!regexp.MustCompile(`^`+second.ID+`\s+sync_end\s+g1\s+20`).MatchString(rows[2]) || !strings.HasPrefix(rows[3], first.ID) {
		t.Errorf("events list, newest first:\n%s", r)
	}

	var page struct {
		Items []struct {
			ID, Event string
			Source    map[string]any
		}
		NextCursor string `json:"next_cursor"`
	}
	decodeJSON(t, ok(t, api(st, "events", "list", "--event", "sync_end", "--since", "1h", "-o", "json")...), &page)
	if len(page.Items) != 1 || page.Items[0].ID != second.ID || page.Items[0].Source["status"] != "FAILURE" || page.NextCursor != "" {
		t.Errorf("events list --event sync_end = %+v", page)
	}
	page.Items = nil
	decodeJSON(t, ok(t, api(st, "events", "list", "--limit", "2", "-o", "json")...), &page)
	if len(page.Items) != 2 || page.NextCursor == "" {
		t.Errorf("events list --limit 2 = %+v", page)
	}
	page.Items = nil
	decodeJSON(t, ok(t, api(st, "events", "list", "--limit", "2", "--cursor", page.NextCursor, "-o", "json")...), &page)
	if len(page.Items) != 1 || page.Items[0].ID != first.ID {
		t.Errorf("events list page 2 = %+v", page)
	}

	st.AwaitDelivery(await(t), second.Deliveries[0].ID)
	r = ok(t, api(st, "events", "show", second.ID)...)
	for _, re := range []string{
		`ID\s+` + second.ID,
		`Event\s+sync_end`,
		`Group\s+g1`,
		`Emitted:\n\{\n`,
		`"status": "FAILURE"`,
		`1 delivery:\nID\s+EVENT`,
		second.Deliveries[0].ID + `\s+sync_end\s+` + whID + `\s+succeeded\s+1\s+200`,
	} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("events show does not match %q:\n%s", re, r)
		}
	}
	var detail struct {
		Event      struct{ ID string }
		Deliveries []struct{ ID, State string }
	}
	decodeJSON(t, ok(t, api(st, "events", "show", second.ID, "-o", "json")...), &detail)
	if detail.Event.ID != second.ID || len(detail.Deliveries) != 1 || detail.Deliveries[0].State != "succeeded" {
		t.Errorf("events show -o json = %+v", detail)
	}

	r = cli(t, api(st, "events", "show", "nope")...)
	if r.code != exitFailure || !strings.Contains(r.stderr, "NotFound_Event") {
		t.Errorf("events show nope:\n%s", r)
	}
}
