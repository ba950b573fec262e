package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/standin-dev/standin/server"
)

// TestBadInput checks each refused request: its HTTP status, envelope code
// and message, and that nothing changed.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAuth("key", "secret"))
	rcv := newReceiver(t, http.StatusOK)
	id := e.createWebhook("/v1/webhooks/account", `{"url":"`+rcv.url+`","events":["sync_end"]}`)
	rcv.take(t)
	big := `{"url":"` + rcv.url + `","events":["sync_end"],"secret":"` + strings.Repeat("x", server.MaxBodyBytes) + `"}`

	tests := []struct {
		name, method, path, body string
		auth                     func(*http.Request) // nil: the right credentials
		status                   int
		code, message            string
	}{
		{"missing url", "POST", "/v1/webhooks/account", `{"events":["sync_end"]}`,
			nil, 400, "InvalidInput", "Field 'url' is required"},
		{"empty body", "POST", "/v1/webhooks/account", ``,
			nil, 400, "InvalidInput", "Field 'url' is required"},
		{"relative url", "POST", "/v1/webhooks/account", `{"url":"/hook","events":["sync_end"]}`,
			nil, 400, "InvalidInput", "Field 'url' must be an absolute http(s) URL"},
		{"ftp url", "POST", "/v1/webhooks/account", `{"url":"ftp://example.com/x","events":["sync_end"]}`,
			nil, 400, "InvalidInput", "Field 'url' must be an absolute http(s) URL"},
		{"missing events", "POST", "/v1/webhooks/account", `{"url":"` + rcv.url + `"}`,
			nil, 400, "InvalidInput", "Field 'events' is required"},
		{"empty events", "POST", "/v1/webhooks/group/g1", `{"url":"` + rcv.url + `","events":[]}`,
			nil, 400, "InvalidInput", "Field 'events' is required"},
		{"unknown event", "POST", "/v1/webhooks/account", `{"url":"` + rcv.url + `","events":["sync_end","foo"]}`,
			nil, 400, "InvalidInput", "Invalid event 'foo'"},
		{"event unknown to profile", "POST", "/v1/webhooks/account", `{"url":"` + rcv.url + `","events":["pause_connector"],"profile":"portable"}`,
			nil, 400, "InvalidInput", "Invalid event 'pause_connector'"},
		{"unknown profile", "POST", "/v1/webhooks/account", `{"url":"` + rcv.url + `","events":["sync_end"],"profile":"stitch"}`,
			nil, 400, "InvalidInput", "Invalid profile 'stitch': must be 'fivetran' or 'portable'"},
		{"bad signing", "POST", "/v1/webhooks/account", `{"url":"` + rcv.url + `","events":["sync_end"],"signing":{"scheme":"token"}}`,
			nil, 400, "InvalidInput", "Invalid value for field 'signing.header': a header name is required for scheme token (the receiver's auth_header_key); standin has no default"},
		{"malformed json", "POST", "/v1/webhooks/account", `{"url":`,
			nil, 400, "InvalidInput", "Invalid request body: unexpected EOF"},
		{"wrong type", "POST", "/v1/webhooks/account", `{"url":"` + rcv.url + `","events":"sync_end"}`,
			nil, 400, "InvalidInput", `Invalid request body: syntax error (line 1:`},
		{"unknown field", "POST", "/v1/webhooks/account", `{"url":"` + rcv.url + `","events":["sync_end"],"colour":"red"}`,
			nil, 400, "InvalidInput", `Invalid request body: (line 1:`},
		{"truncated cursor", "GET", "/v1/webhooks?cursor=dwAAAAAAAAACt0Wb", ``,
			nil, 400, "InvalidInput", "Invalid value for field 'cursor'"},
		{"unknown field in patch", "PATCH", "/v1/webhooks/" + id, `{"colour":"red"}`,
			nil, 400, "InvalidInput", `unknown field "colour"`},
		{"empty events in patch", "PATCH", "/v1/webhooks/" + id, `{"events":[]}`,
			nil, 400, "InvalidInput", "Field 'events' must not be empty"},
		{"bad url in patch", "PATCH", "/v1/webhooks/" + id, `{"url":"nope"}`,
			nil, 400, "InvalidInput", "Field 'url' must be an absolute http(s) URL"},
		{"profile change strands events", "PATCH", "/v1/webhooks/" + id, `{"profile":"portable","events":["resync_table"]}`,
			nil, 400, "InvalidInput", "Invalid event 'resync_table'"},
		{"unknown id get", "GET", "/v1/webhooks/no_such", ``,
			nil, 404, "NotFound_Webhook", "Cannot find entity 'Webhook' with id 'no_such'"},
		{"unknown id patch", "PATCH", "/v1/webhooks/no_such", `{"active":false}`,
			nil, 404, "NotFound_Webhook", "Cannot find entity 'Webhook' with id 'no_such'"},
		{"unknown id delete", "DELETE", "/v1/webhooks/no_such", ``,
			nil, 404, "NotFound_Webhook", "Cannot find entity 'Webhook' with id 'no_such'"},
		{"unknown id test", "POST", "/v1/webhooks/no_such/test", `{}`,
			nil, 404, "NotFound_Webhook", "Cannot find entity 'Webhook' with id 'no_such'"},
		{"test unknown event", "POST", "/v1/webhooks/" + id + "/test", `{"event":"foo"}`,
			nil, 400, "InvalidInput", "Invalid event 'foo'"},
		{"bad cursor", "GET", "/v1/webhooks?cursor=abc", ``,
			nil, 400, "InvalidInput", "Invalid value for field 'cursor'"},
		{"forged cursor", "GET", "/v1/webhooks?cursor=dwAAAAAAAAACt0WbFx", ``,
			nil, 400, "InvalidInput", "Invalid value for field 'cursor'"},
		{"limit 0", "GET", "/v1/webhooks?limit=0", ``,
			nil, 400, "InvalidInput", "Field 'limit' must be between 1 and 1000"},
		{"limit 1001", "GET", "/v1/webhooks?limit=1001", ``,
			nil, 400, "InvalidInput", "Field 'limit' must be between 1 and 1000"},
		{"limit -1", "GET", "/v1/webhooks?limit=-1", ``,
			nil, 400, "InvalidInput", "Field 'limit' must be between 1 and 1000"},
		{"limit abc", "GET", "/v1/webhooks?limit=abc", ``,
			nil, 400, "InvalidInput", "Invalid value 'abc' for parameter 'limit'"},
		{"wrong credentials", "POST", "/v1/webhooks/account", `{"url":"` + rcv.url + `","events":["sync_end"]}`,
			func(r *http.Request) { r.SetBasicAuth("key", "wrong") }, 401, "Unauthorized", "Invalid API key or secret"},
		{"missing credentials", "POST", "/v1/webhooks/account", `{"url":"` + rcv.url + `","events":["sync_end"]}`,
			func(*http.Request) {}, 401, "Unauthorized", "Missing credentials"},
		{"missing credentials, unknown path", "GET", "/v1/nothing", ``,
			func(*http.Request) {}, 401, "Unauthorized", "Missing credentials"},
		{"wrong method", "PUT", "/v1/webhooks/" + id, `{"active":false}`,
			nil, 405, "MethodNotAllowed", "Method PUT is not allowed for path '/v1/webhooks/" + id + "'"},
		{"unknown path", "GET", "/v1/nothing", ``,
			nil, 404, "NotFound", "No route for path '/v1/nothing'"},
		{"emulator path under /v1", "POST", "/v1/events", `{"event":"sync_end"}`,
			nil, 404, "NotFound", "No route for path '/v1/events'"},
		{"body too large", "POST", "/v1/webhooks/account", big,
			nil, 413, "InvalidInput", "Request body is larger than the limit of 1048576 bytes (1 MiB)"},
		{"emit without event", "POST", "/standin/v1/events", `{}`,
			nil, 400, "InvalidInput", "Field 'event' is required"},
		{"emit unknown event", "POST", "/standin/v1/events", `{"event":"x"}`,
			nil, 400, "InvalidInput", "Invalid event 'x'"},
		{"emit test_event", "POST", "/standin/v1/events", `{"event":"test_event"}`,
			nil, 400, "InvalidInput", "Invalid event 'test_event'"},
		{"emit bad status", "POST", "/standin/v1/events", `{"event":"sync_end","status":"MEH"}`,
			nil, 400, "InvalidInput", "Invalid value 'MEH' for field 'status'"},
		{"emit reason on sync_start", "POST", "/standin/v1/events", `{"event":"sync_start","reason":"x"}`,
			nil, 400, "InvalidInput", "Field 'reason' only applies to event 'sync_end'"},
		{"emit data and reason", "POST", "/standin/v1/events", `{"event":"sync_end","data":{"a":1},"reason":"x"}`,
			nil, 400, "InvalidInput", "Field 'data' cannot be combined"},
		{"emit bad rescheduled_at", "POST", "/standin/v1/events", `{"event":"sync_end","rescheduled_at":"tomorrow"}`,
			nil, 400, "InvalidInput", "Invalid value 'tomorrow' for field 'rescheduled_at'"},
		{"deliveries bad status", "GET", "/standin/v1/deliveries?status=done", ``,
			nil, 400, "InvalidInput", "Invalid value 'done' for field 'status'"},
		{"deliveries bad cursor", "GET", "/standin/v1/deliveries?cursor=" + "dwAAAAAAAAACt0WbFw", ``,
			nil, 400, "InvalidInput", "Invalid value for field 'cursor'"},
		{"deliveries limit", "GET", "/standin/v1/deliveries?limit=5000", ``,
			nil, 400, "InvalidInput", "Field 'limit' must be between 1 and 1000"},
	}
	before := e.webhookCount()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prep := tt.auth
			if prep == nil {
				prep = func(r *http.Request) { r.SetBasicAuth("key", "secret") }
			}
			r := e.doWith(tt.method, tt.path, tt.body, prep)
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
			if tt.status == 401 && r.header.Get("WWW-Authenticate") != `Basic realm="standin"` {
				t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
			}
			if after := e.webhookCount(); after != before {
				t.Errorf("webhook count %d after the request, want %d", after, before)
			}
		})
	}
	// Nothing was updated either.
	r := e.mustDo(200, "GET", "/v1/webhooks/"+id, "")
	if !strings.Contains(string(r.body), `"events":["sync_end"],"active":true`) || strings.Contains(string(r.body), "profile") {
		t.Errorf("webhook changed: %s", r.body)
	}
	if len(rcv.reqs) != 0 {
		t.Errorf("refused requests reached the receiver %d times", len(rcv.reqs))
	}
}

// TestStrictHTTPS refuses http:// URLs in strict mode.
func TestStrictHTTPS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *server.APIConfig) { c.StrictHTTPS = true })
	r := e.mustDo(400, "POST", "/v1/webhooks/account", `{"url":"http://example.com/hook","events":["sync_end"],"active":false}`)
	if want := `{"code":"InvalidInput","message":"Field 'url' must be an absolute https URL"}`; string(r.body) != want {
		t.Errorf("body %s, want %s", r.body, want)
	}
	e.mustDo(200, "POST", "/v1/webhooks/account", `{"url":"https://example.com/hook","events":["sync_end"],"active":false}`)
}

// TestPagination lists 250 webhooks 100 at a time.
func TestPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	var created []string
	for i := range 250 {
		created = append(created, e.createWebhook("/v1/webhooks/account",
			fmt.Sprintf(`{"url":"http://127.0.0.1:1/hook/%d","events":["sync_end"]}`, i)))
	}
	var got []string
	var sizes []int
	cursor := ""
	for page := 0; ; page++ {
		if page > 3 {
			t.Fatal("too many pages")
		}
		path := "/v1/webhooks?limit=100"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := e.mustDo(200, "GET", path, "")
		var env struct {
			Data struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
				NextCursor *string `json:"next_cursor"`
			} `json:"data"`
		}
		decode(t, r.body, &env)
		sizes = append(sizes, len(env.Data.Items))
		for _, it := range env.Data.Items {
			got = append(got, it.ID)
		}
		if env.Data.NextCursor == nil {
			if strings.Contains(string(r.body), "next_cursor") {
				t.Errorf("last page has next_cursor: %s", r.body)
			}
			break
		}
		cursor = *env.Data.NextCursor
	}
	if fmt.Sprint(sizes) != "[100 100 50]" {
		t.Errorf("page sizes %v, want [100 100 50]", sizes)
	}
	if strings.Join(got, ",") != strings.Join(created, ",") {
		t.Errorf("listed ids differ from created ids in creation order")
	}

	// The default page size is 100; an empty list is an empty items array.
	r := e.mustDo(200, "GET", "/v1/webhooks", "")
	var env struct {
		Data struct {
			Items []json.RawMessage `json:"items"`
		} `json:"data"`
	}
	decode(t, r.body, &env)
	if len(env.Data.Items) != 100 {
		t.Errorf("default page has %d items, want 100", len(env.Data.Items))
	}
	empty := newEnv(t)
	if r := empty.mustDo(200, "GET", "/v1/webhooks", ""); string(r.body) != `{"code":"Success","data":{"items":[]}}` {
		t.Errorf("empty list %s", r.body)
	}
}

// TestUpdatePartial changes one field at a time.
func TestUpdatePartial(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv := newReceiver(t, http.StatusOK)
	id := e.createWebhook("/v1/webhooks/group/g1", `{"url":"`+rcv.url+`","events":["sync_start","sync_end"],"secret":"one"}`)
	rcv.take(t)
	get := func() map[string]any {
		var env struct {
			Data map[string]any `json:"data"`
		}
		decode(t, e.mustDo(200, "GET", "/v1/webhooks/"+id, "").body, &env)
		return env.Data
	}
	want := get()

	e.mustDo(200, "PATCH", "/v1/webhooks/"+id, `{"active":false}`)
	want["active"] = false
	if got := get(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after active:false\n got %v\nwant %v", got, want)
	}
	e.mustDo(200, "PATCH", "/v1/webhooks/"+id, `{"events":["resync_table","resync_table"]}`)
	want["events"] = []any{"resync_table"}
	if got := get(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after events\n got %v\nwant %v", got, want)
	}
	e.mustDo(200, "PATCH", "/v1/webhooks/"+id, `{}`)
	if got := get(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after an empty patch\n got %v\nwant %v", got, want)
	}
	e.mustDo(200, "PATCH", "/v1/webhooks/"+id, `{"signing":{"scheme":"fivetran","lower_hex":true},"secret":"two"}`)
	want["signing"] = map[string]any{"scheme": "fivetran", "lower_hex": true}
	if got := get(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after signing\n got %v\nwant %v", got, want)
	}
	if len(rcv.reqs) != 0 {
		t.Errorf("updates of an inactive webhook checked its URL")
	}

	// Activation checks the URL, signed with the new secret and scheme.
	e.mustDo(200, "PATCH", "/v1/webhooks/"+id, `{"active":true}`)
	check := rcv.take(t)
	if sig := check.header.Get("X-Fivetran-Signature-256"); sig == "" || sig != strings.ToLower(sig) {
		t.Errorf("URL check signature %q, want lower-case hex", sig)
	}
	// Already active: no new check.
	e.mustDo(200, "PATCH", "/v1/webhooks/"+id, `{"active":true}`)
	if len(rcv.reqs) != 0 {
		t.Errorf("re-activating an active webhook checked its URL")
	}
	// signing {} goes back to the default, which is then omitted.
	e.mustDo(200, "PATCH", "/v1/webhooks/"+id, `{"signing":{}}`)
	if got := get(); got["signing"] != nil {
		t.Errorf("signing after reset: %v", got["signing"])
	}
}

// TestURLCheck refuses webhooks whose receiver does not accept the test
// event, and changes nothing.
func TestURLCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	failing := newReceiver(t, http.StatusInternalServerError)
	created := newReceiver(t, http.StatusCreated)

	r := e.mustDo(400, "POST", "/v1/webhooks/account", `{"url":"`+failing.url+`","events":["sync_end"]}`)
	if want := fmt.Sprintf(`{"code":"InvalidInput","message":"URL check failed: '%s' answered the test event with HTTP 500 Internal Server Error (expected 2xx)"}`, failing.url); string(r.body) != want {
		t.Errorf("body %s\nwant %s", r.body, want)
	}
	failing.take(t)

	down := downURL(t)
	r = e.mustDo(400, "POST", "/v1/webhooks/group/g1", `{"url":"`+down+`","events":["sync_end"]}`)
	if !strings.Contains(string(r.body), "URL check failed: cannot deliver a test event to '"+down+"'") {
		t.Errorf("body %s", r.body)
	}

	// Fivetran accepts any 2xx.
	e.mustDo(200, "POST", "/v1/webhooks/account", `{"url":"`+created.url+`","events":["sync_end"]}`)
	created.take(t)
	if n := e.webhookCount(); n != 1 {
		t.Fatalf("%d webhooks, want only the one that passed", n)
	}
	// Portable has no URL check: created, and activated, against a failing
	// receiver without a request.
	portable := e.createWebhook("/v1/webhooks/account", `{"url":"`+failing.url+`","events":["sync_end"],"profile":"portable","active":false}`)
	e.mustDo(200, "PATCH", "/v1/webhooks/"+portable, `{"active":true}`)
	e.createWebhook("/v1/webhooks/account", `{"url":"`+down+`","events":["sync_end"],"profile":"portable"}`)
	if len(failing.reqs) != 0 {
		t.Fatalf("a Portable webhook's URL was checked: %d requests", len(failing.reqs))
	}
	e.mustDo(200, "DELETE", "/v1/webhooks/"+portable, "")

	// Created inactive: no check. Activating it against a failing receiver
	// is refused and leaves it inactive.
	id := e.createWebhook("/v1/webhooks/account", `{"url":"`+failing.url+`","events":["sync_end"],"active":false}`)
	if len(failing.reqs) != 0 {
		t.Fatal("an inactive webhook was checked")
	}
	e.mustDo(400, "PATCH", "/v1/webhooks/"+id, `{"active":true,"url":"`+down+`"}`)
	r = e.mustDo(200, "GET", "/v1/webhooks/"+id, "")
	if !strings.Contains(string(r.body), `"url":"`+failing.url+`","events":["sync_end"],"active":false`) {
		t.Errorf("refused activation changed the webhook: %s", r.body)
	}

	// SkipURLCheck creates without asking the receiver.
	skip := newEnv(t, skipURLCheck)
	skip.mustDo(200, "POST", "/v1/webhooks/account", `{"url":"`+failing.url+`","events":["sync_end"]}`)
	if len(failing.reqs) != 0 {
		t.Error("SkipURLCheck checked the URL")
	}
}

// TestTestEndpoint reports the receiver's answer in data, always with 200.
func TestTestEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	rcv := newReceiver(t, http.StatusInternalServerError)
	id := e.createWebhook("/v1/webhooks/account", `{"url":"`+rcv.url+`","events":["sync_end"],"secret":"s"}`)

	r := e.mustDo(200, "POST", "/v1/webhooks/"+id+"/test", ``)
	if want := `{"code":"Success","message":"Operation performed.","data":{"succeed":false,"status":500,"message":"Internal Server Error"}}`; string(r.body) != want {
		t.Errorf("body %s\nwant %s", r.body, want)
	}
	got := rcv.take(t)
	if want := `{"event":"sync_end","created":"2026-05-22T00:06:08.638Z","connector_type":"_connector_type","connector_id":"_connector_1","destination_group_id":"_destination_1"}`; string(got.body) != want {
		t.Errorf("test body %s\nwant %s", got.body, want)
	}
	if got.header.Get("X-Fivetran-Signature-256") == "" {
		t.Error("test event is not signed")
	}

	down := e.createWebhook("/v1/webhooks/account", `{"url":"`+downURL(t)+`","events":["sync_end"]}`)
	r = e.mustDo(200, "POST", "/v1/webhooks/"+down+"/test", `{"event":"sync_end"}`)
	var env struct {
		Data struct {
			Succeed bool   `json:"succeed"`
			Status  int    `json:"status"`
			Message string `json:"message"`
		} `json:"data"`
	}
	decode(t, r.body, &env)
	if env.Data.Succeed || env.Data.Status != 0 || !strings.Contains(env.Data.Message, "connection refused") {
		t.Errorf("test of a down receiver: %s", r.body)
	}
}
