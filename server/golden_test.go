package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/store"
)

// TestGolden walks every endpoint once and compares each response body,
// byte for byte, with testdata/*.json (ids normalised, clock fixed).
func TestGolden(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t, http.StatusOK)
	n := &normalizer{fixed: []string{rcv.url, "http://receiver.test/hook"}}
	step := func(name string, want int, method, path, body string) response {
		t.Helper()
		r := e.mustDo(want, method, path, body)
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", name, ct)
		}
		golden(t, name+".json", n.normalize(r.body))
		return r
	}
	idOf := func(r response) string {
		var env struct {
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		decode(t, r.body, &env)
		return env.Data.ID
	}

	account := idOf(step("create_account", 200, "POST", "/v1/webhooks/account",
		`{"url":"`+rcv.url+`","events":["sync_start","sync_end"],"secret":"my_secret"}`))
	check := rcv.take(t)
	wantCheck := `{"event":"test_event","created":"2026-05-22T00:06:08.638Z","connector_type":"_connector_type","connector_id":"_connection_1","group_id":"_destination_1"}`
	if string(check.body) != wantCheck {
		t.Errorf("URL check body %s, want %s", check.body, wantCheck)
	}
	m := hmac.New(sha256.New, []byte("my_secret"))
	m.Write(check.body)
	if got, want := check.header.Get("X-Fivetran-Signature-256"), strings.ToUpper(hex.EncodeToString(m.Sum(nil))); got != want {
		t.Errorf("URL check signature %q, want %q", got, want)
	}

	group := idOf(step("create_group", 200, "POST", "/v1/webhooks/group/grp_1",
		`{"url":"`+rcv.url+`","events":["sync_end"],"active":false}`))
	if len(rcv.reqs) != 0 {
		t.Errorf("an inactive webhook's URL was checked")
	}
	step("create_extensions", 200, "POST", "/v1/webhooks/account",
		`{"url":"`+rcv.url+`","events":["sync_end","sync_end"],"secret":"tok","profile":"portable","signing":{"scheme":"token","header":"X-Token"}}`)
	if len(rcv.reqs) != 0 {
		t.Errorf("a Portable webhook's URL was checked")
	}

	step("get", 200, "GET", "/v1/webhooks/"+account, "")
	page1 := step("list_page1", 200, "GET", "/v1/webhooks?limit=2", "")
	var list struct {
		Data struct {
			NextCursor string `json:"next_cursor"`
		} `json:"data"`
	}
	decode(t, page1.body, &list)
	step("list_page2", 200, "GET", "/v1/webhooks?limit=2&cursor="+list.Data.NextCursor, "")

	step("update", 200, "PATCH", "/v1/webhooks/"+group, `{"active":true,"url":"`+rcv.url+`"}`)
	rcv.take(t) // the activation's URL check

	step("test", 200, "POST", "/v1/webhooks/"+account+"/test", `{"event":"sync_start"}`)
	if got, want := string(rcv.take(t).body), `{"event":"sync_start","created":"2026-05-22T00:06:08.638Z","connector_type":"_connector_type","connector_id":"_connector_1","destination_group_id":"_destination_1"}`; got != want {
		t.Errorf("test body %s, want %s", got, want)
	}

	emitted := step("emit", 200, "POST", "/standin/v1/events",
		`{"event":"sync_end","group_id":"grp_1","connector_id":"calm_fox","status":"FAILURE","reason":"boom"}`)
	var emit struct {
		Data struct {
			Deliveries []struct {
				ID        string `json:"id"`
				WebhookID string `json:"webhook_id"`
			} `json:"deliveries"`
		} `json:"data"`
	}
	decode(t, emitted.body, &emit)
	// A Fivetran connector's event: the two Fivetran webhooks, not the
	// Portable one.
	if len(emit.Data.Deliveries) != 2 {
		t.Fatalf("emit made %d deliveries, want 2", len(emit.Data.Deliveries))
	}
	first := emit.Data.Deliveries[0].ID
	step("deliveries", 200, "GET", "/standin/v1/deliveries?webhook_id="+account, "")

	at := testNow.Add(time.Second)
	_, err := e.store.AttemptRecord(context.Background(), store.AttemptRecordParams{
		Attempt: store.Attempt{
			DeliveryID:      first,
			URL:             rcv.url,
			StartedAt:       at,
			RequestHeaders:  http.Header{"Content-Type": {"application/json"}, "X-Fivetran-Signature-256": {"ABC"}},
			StatusCode:      500,
			Latency:         12 * time.Millisecond,
			ResponseHeaders: http.Header{"Content-Type": {"text/plain"}},
			ResponseExcerpt: []byte("oops"),
		},
		State:          store.DeliveryRetrying,
		FirstAttemptAt: &at,
		NextAttemptAt:  ptr(at.Add(6 * time.Minute)),
		UpdatedAt:      at,
	})
	if err != nil {
		t.Fatalf("record attempt: %v", err)
	}
	step("delivery", 200, "GET", "/standin/v1/deliveries/"+first, "")

	step("delete", 200, "DELETE", "/v1/webhooks/"+account, "")
	step("not_found", 404, "GET", "/v1/webhooks/"+account, "")
	step("delivery_not_found", 404, "GET", "/standin/v1/deliveries/nope", "")
}

func ptr[T any](v T) *T { return &v }
