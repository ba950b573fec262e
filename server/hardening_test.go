package server_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/store"
)

// mutationCounter is a store that counts the successful calls of every
// method that writes, so a test can prove a refused request wrote nothing.
type mutationCounter struct {
	store.Store
	writes atomic.Int64
}

func (m *mutationCounter) count(err error) error {
	if err == nil {
		m.writes.Add(1)
	}
	return err
}

func (m *mutationCounter) WebhookCreate(ctx context.Context, wh *store.Webhook) error {
	return m.count(m.Store.WebhookCreate(ctx, wh))
}

func (m *mutationCounter) WebhookUpdate(ctx context.Context, p store.WebhookUpdateParams) (*store.Webhook, error) {
	wh, err := m.Store.WebhookUpdate(ctx, p)
	return wh, m.count(err)
}

func (m *mutationCounter) WebhookDelete(ctx context.Context, id string) error {
	return m.count(m.Store.WebhookDelete(ctx, id))
}

func (m *mutationCounter) WebhookHealthRecord(ctx context.Context, p store.WebhookHealthParams) (*store.Webhook, error) {
	wh, err := m.Store.WebhookHealthRecord(ctx, p)
	return wh, m.count(err)
}

func (m *mutationCounter) EventCreate(ctx context.Context, p store.EventCreateParams) ([]*store.Delivery, error) {
	ds, err := m.Store.EventCreate(ctx, p)
	return ds, m.count(err)
}

func (m *mutationCounter) EventCreateMany(ctx context.Context, p []store.EventCreateParams) ([]*store.Delivery, error) {
	ds, err := m.Store.EventCreateMany(ctx, p)
	return ds, m.count(err)
}

func (m *mutationCounter) GroupCreate(ctx context.Context, g *store.Group) error {
	return m.count(m.Store.GroupCreate(ctx, g))
}

func (m *mutationCounter) ConnectionCreate(ctx context.Context, p store.ConnectionCreateParams) ([]*store.Delivery, error) {
	ds, err := m.Store.ConnectionCreate(ctx, p)
	return ds, m.count(err)
}

func (m *mutationCounter) ConnectionUpdate(ctx context.Context, p store.ConnectionUpdateParams) (*store.Connection, []*store.Delivery, error) {
	c, ds, err := m.Store.ConnectionUpdate(ctx, p)
	return c, ds, m.count(err)
}

func (m *mutationCounter) DeliveryEnqueue(ctx context.Context, args store.DeliverArgs) error {
	return m.count(m.Store.DeliveryEnqueue(ctx, args))
}

func (m *mutationCounter) DeliveryCancel(ctx context.Context, id string, at time.Time) (*store.Delivery, error) {
	d, err := m.Store.DeliveryCancel(ctx, id, at)
	return d, m.count(err)
}

func (m *mutationCounter) AttemptRecord(ctx context.Context, p store.AttemptRecordParams) (*store.Attempt, error) {
	a, err := m.Store.AttemptRecord(ctx, p)
	return a, m.count(err)
}

func (m *mutationCounter) AttemptRecordMany(ctx context.Context, p []store.AttemptRecordParams) ([]*store.Attempt, error) {
	a, err := m.Store.AttemptRecordMany(ctx, p)
	return a, m.count(err)
}

// stateSnapshot is everything a request could change: every webhook, event,
// delivery, group and connection as stored (secrets, timestamps and states
// included) and the number of writes made.
type stateSnapshot struct {
	rows                         string
	webhooks, events, deliveries int
	groups, connections          int
	writes                       int64
}

func snapshot(t testing.TB, st store.Store, counter *mutationCounter) stateSnapshot {
	t.Helper()
	ctx := context.Background()
	const all = 100000
	whs, err := st.WebhookList(ctx, store.WebhookListParams{Limit: all})
	if err != nil {
		t.Fatalf("list webhooks: %v", err)
	}
	evs, err := st.EventList(ctx, store.EventListParams{Limit: all})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	ds, err := st.DeliveryList(ctx, store.DeliveryListParams{Limit: all})
	if err != nil {
		t.Fatalf("list deliveries: %v", err)
	}
	gs, err := st.GroupList(ctx, store.GroupListParams{Limit: all})
	if err != nil {
		t.Fatalf("list groups: %v", err)
	}
	cs, err := st.ConnectionList(ctx, store.ConnectionListParams{Limit: all})
	if err != nil {
		t.Fatalf("list connections: %v", err)
	}
	rows, _ := json.Marshal([]any{whs, evs, ds, gs, cs})
	return stateSnapshot{
		rows:     string(rows),
		webhooks: len(whs), events: len(evs), deliveries: len(ds), groups: len(gs), connections: len(cs),
		writes: counter.writes.Load(),
	}
}

// forgeCursor builds a cursor the way the server does, with its fixed key:
// the MAC is not a secret, it only catches hand-edited cursors, so a test
// can make well-formed cursors that point nowhere or at the wrong list.
func forgeCursor(kind byte, pos []byte) string {
	m := hmac.New(sha256.New, []byte("standin cursor v1"))
	m.Write([]byte{kind})
	m.Write(pos)
	b := append([]byte{kind}, pos...)
	b = append(b, m.Sum(nil)[:4]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestHostileRequests sends malformed and hostile requests to every REST
// endpoint. Each must get a Fivetran-style envelope (exactly code and
// message) with the right HTTP status and a message naming the problem, must
// not reach the receiver, and must not change anything: the stored
// webhooks and deliveries are byte-identical afterwards and the store saw
// no write at all. TestBadInput (webhooks_test.go) covers the basic cases;
// these are the rest.
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	counter := &mutationCounter{}
	e := newEnv(t, withAuth("key", "secret"), skipURLCheck, func(c *server.APIConfig) {
		counter.Store = c.Store
		c.Store = counter
	})
	rcv := newReceiver(t, http.StatusOK)
	id := e.createWebhook("/v1/webhooks/account", `{"url":"`+rcv.url+`","events":["sync_end"],"secret":"s1"}`)
	group := e.createWebhook("/v1/webhooks/group/g1", `{"url":"`+rcv.url+`","events":["sync_start"],"active":false}`)
	e.mustDo(200, "POST", "/standin/v1/events", `{"event":"sync_end"}`)
	e.mustDo(200, "POST", "/standin/v1/events", `{"event":"sync_end"}`)

	okURL := rcv.url
	create := func(fields string) string { return `{"url":"` + okURL + `","events":["sync_end"]` + fields + `}` }
	longURL := "http://127.0.0.1:1/" + strings.Repeat("a", server.MaxURLLength)
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	basic := func(userpass string) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(userpass)))
		}
	}
	header := func(k, v string) func(*http.Request) {
		return func(r *http.Request) {
			r.SetBasicAuth("key", "secret")
			r.Header.Set(k, v)
		}
	}
	const (
		bad     = "InvalidInput"
		missing = "NotFound"
		unauth  = "Unauthorized"
		method  = "MethodNotAllowed"
	)

	tests := []struct {
		name, method, path, body string
		prep                     func(*http.Request) // nil: the right credentials
		status                   int
		code, message            string
	}{
		// Bodies that are not a JSON object of the right shape.
		{"null body", "POST", "/v1/webhooks/account", `null`, nil, 400, bad, "Invalid request body: syntax error (line 1:1): unexpected token null"},
		{"array body", "POST", "/v1/webhooks/account", `[]`, nil, 400, bad, "unexpected token ["},
		{"string body", "POST", "/v1/webhooks/account", `"x"`, nil, 400, bad, `unexpected token "x"`},
		{"trailing garbage", "POST", "/v1/webhooks/account", create("") + ` x`, nil, 400, bad, "invalid value x"},
		{"duplicate key", "POST", "/v1/webhooks/account", `{"url":"http://a/","url":"http://b/","events":["sync_end"]}`, nil, 400, bad, `duplicate field "url"`},
		{"invalid utf-8", "POST", "/v1/webhooks/account", "{\"url\":\"http://a/\xff\",\"events\":[\"sync_end\"]}", nil, 400, bad, "invalid UTF-8"},
		{"events wrong element type", "POST", "/v1/webhooks/account", `{"url":"http://a/","events":[1]}`, nil, 400, bad, "invalid value for string field events: 1"},
		{"active as string", "POST", "/v1/webhooks/account", create(`,"active":"yes"`), nil, 400, bad, `invalid value for bool field active: "yes"`},
		{"secret as number", "POST", "/v1/webhooks/account", create(`,"secret":5`), nil, 400, bad, "invalid value for string field secret: 5"},
		{"signing as string", "POST", "/v1/webhooks/account", create(`,"signing":"hmac"`), nil, 400, bad, "Invalid request body"},
		{"unknown signing field", "POST", "/v1/webhooks/account", create(`,"signing":{"key":"x"}`), nil, 400, bad, `unknown field "key"`},
		{"id in body", "POST", "/v1/webhooks/account", create(`,"id":"mine"`), nil, 400, bad, `unknown field "id"`},
		{"chunked body over the limit", "POST", "/v1/webhooks/account", "", func(r *http.Request) {
			r.SetBasicAuth("key", "secret")
			r.Body = io.NopCloser(io.MultiReader(strings.NewReader(`{"url":"`), bytes.NewReader(bytes.Repeat([]byte("a"), server.MaxBodyBytes))))
			r.ContentLength = -1 // sent chunked: the limit must hold without a Content-Length
		}, 413, bad, "Request body is larger than the limit of 1048576 bytes"},
		// URLs.
		{"url over the length limit", "POST", "/v1/webhooks/account", `{"url":"` + longURL + `","events":["sync_end"]}`, nil, 400, bad, "Field 'url' must be at most 2048 characters long"},
		{"javascript url", "POST", "/v1/webhooks/account", `{"url":"javascript:alert(1)","events":["sync_end"]}`, nil, 400, bad, "Field 'url' must be an absolute http(s) URL"},
		{"file url", "POST", "/v1/webhooks/account", `{"url":"file:///etc/passwd","events":["sync_end"]}`, nil, 400, bad, "Field 'url' must be an absolute http(s) URL"},
		{"url without host", "POST", "/v1/webhooks/account", `{"url":"http://","events":["sync_end"]}`, nil, 400, bad, "Field 'url' must be an absolute http(s) URL"},
		{"url with a space in the host", "POST", "/v1/webhooks/account", `{"url":"http://exa mple.com/","events":["sync_end"]}`, nil, 400, bad, "Field 'url' must be an absolute http(s) URL"},
		{"url with a newline", "POST", "/v1/webhooks/account", `{"url":"http://a/\nHost: b","events":["sync_end"]}`, nil, 400, bad, "Field 'url' must be an absolute http(s) URL"},
		{"patch url over the length limit", "PATCH", "/v1/webhooks/" + id, `{"url":"` + longURL + `"}`, nil, 400, bad, "Field 'url' must be at most 2048 characters long"},
		{"patch gopher url", "PATCH", "/v1/webhooks/" + id, `{"url":"gopher://127.0.0.1:70/"}`, nil, 400, bad, "Field 'url' must be an absolute http(s) URL"},
		// Events.
		{"events null", "POST", "/v1/webhooks/account", `{"url":"http://a/","events":null}`, nil, 400, bad, "Field 'events' is required"},
		{"empty event name", "POST", "/v1/webhooks/account", `{"url":"http://a/","events":[""]}`, nil, 400, bad, "Invalid event ''"},
		{"event name with different case", "POST", "/v1/webhooks/account", `{"url":"http://a/","events":["SYNC_END"]}`, nil, 400, bad, "Invalid event 'SYNC_END'"},
		{"duplicate then unknown event", "PATCH", "/v1/webhooks/" + id, `{"events":["sync_end","sync_end","nope"]}`, nil, 400, bad, "Invalid event 'nope'"},
		{"test event wrong type", "POST", "/v1/webhooks/" + id + "/test", `{"event":1}`, nil, 400, bad, "invalid value for string field event: 1"},
		{"test test_event", "POST", "/v1/webhooks/" + id + "/test", `{"event":"test_event"}`, nil, 400, bad, "Invalid event 'test_event'"},
		// Content types.
		{"text/plain body", "POST", "/v1/webhooks/account", create(""), header("Content-Type", "text/plain"), 415, bad, "Unsupported Content-Type 'text/plain'"},
		{"form body", "POST", "/v1/webhooks/account", "url=http%3A%2F%2Fa%2F&events=sync_end", header("Content-Type", "application/x-www-form-urlencoded"), 415, bad, "Unsupported Content-Type 'application/x-www-form-urlencoded'"},
		{"multipart body", "POST", "/standin/v1/events", `{"event":"sync_end"}`, header("Content-Type", "multipart/form-data; boundary=x"), 415, bad, "Unsupported Content-Type 'multipart/form-data; boundary=x'"},
		{"xml patch", "PATCH", "/v1/webhooks/" + id, `<active>false</active>`, header("Content-Type", "application/xml"), 415, bad, "Unsupported Content-Type 'application/xml'"},
		{"malformed content type", "POST", "/v1/webhooks/" + id + "/test", `{}`, header("Content-Type", "json;;;"), 415, bad, "Unsupported Content-Type 'json;;;'"},
		// Ids and path tricks.
		{"dot-dot id", "GET", "/v1/webhooks/%2E%2E", ``, nil, 404, "NotFound_Webhook", "Cannot find entity 'Webhook' with id '..'"},
		{"encoded slashes in id", "GET", "/v1/webhooks/..%2F..%2Fetc%2Fpasswd", ``, nil, 404, missing, "No route for path '/v1/webhooks/../../etc/passwd'"},
		{"dot segments", "DELETE", "/v1/webhooks/../webhooks/" + id, ``, nil, 404, missing, "No route for path '/v1/webhooks/../webhooks/" + id + "'"},
		{"NUL in id", "PATCH", "/v1/webhooks/a%00b", `{"active":false}`, nil, 404, "NotFound_Webhook", `with id 'a` + "\x00" + `b'`},
		{"very long id", "DELETE", "/v1/webhooks/" + strings.Repeat("a", 4000), ``, nil, 404, "NotFound_Webhook", "Cannot find entity 'Webhook' with id 'aaaa"},
		{"empty id on test", "POST", "/v1/webhooks//test", `{}`, nil, 404, "NotFound_Webhook", "Cannot find entity 'Webhook' with id ''"},
		{"group id with encoded slash", "POST", "/v1/webhooks/group/a%2F..%2Fb", create(""), nil, 404, missing, "No route for path '/v1/webhooks/group/a/../b'"},
		{"group id with control character", "POST", "/v1/webhooks/group/g%0A1", create(`,"active":false`), nil, 400, bad, "Field 'group_id' must be printable text"},
		{"very long group id", "POST", "/v1/webhooks/group/" + strings.Repeat("g", server.MaxGroupIDLength+1), create(`,"active":false`), nil, 400, bad, "Field 'group_id' must be at most 256 characters long"},
		{"delivery id with dot segments", "GET", "/standin/v1/deliveries/..%2F..%2F", ``, nil, 404, missing, "No route for path '/standin/v1/deliveries/../../'"},
		{"unknown delivery id", "GET", "/standin/v1/deliveries/" + group, ``, nil, 404, "NotFound_Delivery", "Cannot find entity 'Delivery' with id '" + group + "'"},
		// Query parameters and cursors.
		{"limit fraction", "GET", "/v1/webhooks?limit=1.5", ``, nil, 400, bad, "Invalid value '1.5' for parameter 'limit'"},
		{"limit over int32", "GET", "/v1/webhooks?limit=99999999999", ``, nil, 400, bad, "Invalid value '99999999999' for parameter 'limit'"},
		{"limit empty", "GET", "/v1/webhooks?limit=", ``, nil, 400, bad, "Invalid value '' for parameter 'limit'"},
		{"limit repeated", "GET", "/v1/webhooks?limit=1&limit=2", ``, nil, 400, bad, "Invalid value '1,2' for parameter 'limit'"},
		{"deliveries limit -1", "GET", "/standin/v1/deliveries?limit=-1", ``, nil, 400, bad, "Field 'limit' must be between 1 and 1000"},
		{"deliveries limit non-numeric", "GET", "/standin/v1/deliveries?limit=ten", ``, nil, 400, bad, "Invalid value 'ten' for parameter 'limit'"},
		{"padded cursor", "GET", "/v1/webhooks?cursor=" + forgeCursor('w', binary.BigEndian.AppendUint64(nil, 1)) + "%3D%3D", ``, nil, 400, bad, "Invalid value for field 'cursor'"},
		{"huge cursor", "GET", "/v1/webhooks?cursor=" + strings.Repeat("A", 10000), ``, nil, 400, bad, "Invalid value for field 'cursor'"},
		{"cursor at seq 0", "GET", "/v1/webhooks?cursor=" + forgeCursor('w', make([]byte, 8)), ``, nil, 400, bad, "Invalid value for field 'cursor'"},
		{"delivery cursor on webhooks", "GET", "/v1/webhooks?cursor=" + forgeCursor('d', []byte("01900000-0000-7000-8000-000000000000")), ``, nil, 400, bad, "Invalid value for field 'cursor'"},
		{"webhook cursor on deliveries", "GET", "/standin/v1/deliveries?cursor=" + forgeCursor('w', binary.BigEndian.AppendUint64(nil, 1)), ``, nil, 400, bad, "Invalid value for field 'cursor'"},
		{"cursor of a delivery that does not exist", "GET", "/standin/v1/deliveries?cursor=" + forgeCursor('d', []byte("no-such-delivery")), ``, nil, 400, bad, "Invalid value for field 'cursor'"},
		// Credentials.
		{"bearer token", "GET", "/v1/webhooks", ``, func(r *http.Request) { r.Header.Set("Authorization", "Bearer secret") }, 401, unauth, "Malformed Authorization header: use HTTP Basic authentication"},
		{"basic with bad base64", "GET", "/v1/webhooks", ``, func(r *http.Request) { r.Header.Set("Authorization", "Basic !!!") }, 401, unauth, "Malformed Authorization header"},
		{"basic without colon", "POST", "/standin/v1/events", `{"event":"sync_end"}`, basic("keysecret"), 401, unauth, "Malformed Authorization header"},
		{"basic empty key and secret", "DELETE", "/v1/webhooks/" + id, ``, basic(":"), 401, unauth, "Invalid API key or secret"},
		{"secret prefix", "PATCH", "/v1/webhooks/" + id, `{"active":false}`, basic("key:secre"), 401, unauth, "Invalid API key or secret"},
		{"key in wrong case", "POST", "/v1/webhooks/" + id + "/test", `{}`, basic("KEY:secret"), 401, unauth, "Invalid API key or secret"},
		{"key and secret swapped", "GET", "/standin/v1/deliveries", ``, basic("secret:key"), 401, unauth, "Invalid API key or secret"},
		{"no credentials on the emulator API", "POST", "/standin/v1/events", `{"event":"sync_end"}`, func(*http.Request) {}, 401, unauth, "Missing credentials"},
		{"no credentials on the delivery log", "GET", "/standin/v1/deliveries", ``, func(*http.Request) {}, 401, unauth, "Missing credentials"},
		{"no credentials, oversized body", "POST", "/v1/webhooks/account", strings.Repeat("x", server.MaxBodyBytes+1), func(*http.Request) {}, 401, unauth, "Missing credentials"},
		// Methods.
		{"DELETE the collection", "DELETE", "/v1/webhooks", ``, nil, 405, method, "Method DELETE is not allowed for path '/v1/webhooks'"},
		{"POST the collection", "POST", "/v1/webhooks", create(""), nil, 405, method, "Method POST is not allowed for path '/v1/webhooks'"},
		{"PUT account", "PUT", "/v1/webhooks/account", create(""), nil, 405, method, "Method PUT is not allowed for path '/v1/webhooks/account'"},
		{"GET test", "GET", "/v1/webhooks/" + id + "/test", ``, nil, 405, method, "Method GET is not allowed"},
		{"OPTIONS", "OPTIONS", "/v1/webhooks", ``, nil, 405, method, "Method OPTIONS is not allowed for path '/v1/webhooks'"},
		{"PUT events", "PUT", "/standin/v1/events", `{}`, nil, 405, method, "Method PUT is not allowed for path '/standin/v1/events'"},
		{"PUT a delivery", "PUT", "/standin/v1/deliveries/x", `{}`, nil, 405, method, "Method PUT is not allowed"},
		{"PATCH healthz", "PATCH", "/healthz", ``, nil, 405, method, "Method PATCH is not allowed for path '/healthz'"},
		{"POST openapi", "POST", "/standin/v1/openapi.json", `{}`, nil, 405, method, "Method POST is not allowed"},
		{"method override header", "POST", "/v1/webhooks/" + id, ``, header("X-HTTP-Method-Override", "DELETE"), 405, method, "Method POST is not allowed"},
		// Emitting.
		{"emit data array", "POST", "/standin/v1/events", `{"event":"sync_end","data":[1]}`, nil, 400, bad, "unexpected token ["},
		{"emit data string", "POST", "/standin/v1/events", `{"event":"sync_end","data":"x"}`, nil, 400, bad, `unexpected token "x"`},
		{"emit deeply nested data", "POST", "/standin/v1/events", `{"event":"sync_end","data":{"a":` + deep + `}}`, nil, 400, bad, "exceeded max recursion depth"},
		{"emit flow_id not a number", "POST", "/standin/v1/events", `{"event":"sync_end","flow_id":"abc"}`, nil, 400, bad, `invalid value for int64 field flowId: "abc"`},
		{"emit very long event name", "POST", "/standin/v1/events", `{"event":"` + strings.Repeat("e", 5000) + `"}`, nil, 400, bad, "Invalid event 'eeee"},
		{"emit event as array", "POST", "/standin/v1/events", `{"event":["sync_end"]}`, nil, 400, bad, "invalid value for string field event"},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d cases", len(tests))
	}
	before := snapshot(t, e.store, counter)
	if before.webhooks != 2 || before.events != 2 || before.deliveries != 2 || before.writes != 4 {
		t.Fatalf("setup: %+v; want 2 webhooks, 2 events, 2 deliveries, 4 writes", before)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prep := tt.prep
			if prep == nil {
				prep = func(r *http.Request) { r.SetBasicAuth("key", "secret") }
			}
			r := e.doWith(tt.method, tt.path, tt.body, prep)
			if r.status != tt.status {
				t.Errorf("status %d, want %d (body %.300s)", r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var env map[string]any
			decode(t, r.body, &env)
			if env["code"] != tt.code {
				t.Errorf("code %v, want %s (body %.300s)", env["code"], tt.code, r.body)
			}
			if msg, _ := env["message"].(string); !strings.Contains(msg, tt.message) {
				t.Errorf("message %.300q, want it to contain %q", msg, tt.message)
			}
			if len(env) != 2 {
				t.Errorf("envelope has keys %v, want code and message only", env)
			}
			if after := snapshot(t, e.store, counter); after != before {
				a, b := after, before
				a.rows, b.rows = "", "" // too long to print
				t.Errorf("state changed: %+v (or the stored rows differ), want %+v", a, b)
			}
		})
	}
	if n := len(rcv.reqs); n != 0 {
		t.Errorf("refused requests reached the receiver %d times", n)
	}
}

// TestAcceptedEdgeInput pins the inputs that look odd but are accepted on
// purpose, so a tightening elsewhere does not refuse them by accident:
// duplicate events are dropped (the first kept), a JSON Content-Type may
// carry parameters or a +json suffix, a body may come without a
// Content-Type, a URL may be exactly MaxURLLength long, and the Basic
// scheme name is case-insensitive (RFC 9110).
func TestAcceptedEdgeInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAuth("key", "secret"), skipURLCheck)
	exact := "http://127.0.0.1:1/" + strings.Repeat("a", server.MaxURLLength-len("http://127.0.0.1:1/"))
	for _, tt := range []struct {
		name, body, contentType, auth string
		want                          string
	}{
		{"duplicate events", `{"url":"http://127.0.0.1:1/h","events":["sync_end","sync_start","sync_end"]}`, "application/json", "", `"events":["sync_end","sync_start"]`},
		{"charset parameter", `{"url":"http://127.0.0.1:1/h","events":["sync_end"]}`, "application/json; charset=utf-8", "", `"code":"Success"`},
		{"+json suffix", `{"url":"http://127.0.0.1:1/h","events":["sync_end"]}`, "application/vnd.fivetran+json", "", `"code":"Success"`},
		{"no content type", `{"url":"http://127.0.0.1:1/h","events":["sync_end"]}`, "", "", `"code":"Success"`},
		{"url of exactly the limit", `{"url":"` + exact + `","events":["sync_end"]}`, "application/json", "", `"url":"` + exact + `"`},
		{"lower-case basic", `{"url":"http://127.0.0.1:1/h","events":["sync_end"]}`, "application/json", "basic " + base64.StdEncoding.EncodeToString([]byte("key:secret")), `"code":"Success"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.doWith("POST", "/v1/webhooks/account", tt.body, func(r *http.Request) {
				r.SetBasicAuth("key", "secret")
				if tt.auth != "" {
					r.Header.Set("Authorization", tt.auth)
				}
				if tt.contentType == "" {
					r.Header.Del("Content-Type")
				} else {
					r.Header.Set("Content-Type", tt.contentType)
				}
			})
			if r.status != 200 || !strings.Contains(string(r.body), tt.want) {
				t.Errorf("%d %.300s; want 200 containing %s", r.status, r.body, tt.want)
			}
		})
	}
	// A JSON Content-Type on a request without a body is not an error.
	if r := e.doWith("GET", "/v1/webhooks", "", func(r *http.Request) {
		r.SetBasicAuth("key", "secret")
		r.Header.Set("Content-Type", "text/plain")
	}); r.status != 200 {
		t.Errorf("GET with a Content-Type and no body: %d %s", r.status, r.body)
	}
}
