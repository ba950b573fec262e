package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/server/client"
	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/testkit"
)

// TestForceRoute: POST …/force is Fivetran's older "sync now", under both
// prefixes: the answer of …/sync and the events of a forced sync.
func TestForceRoute(t *testing.T) {
	t.Parallel()
	e, _, all := newSimEnv(t)
	for i, path := range []string{"/v1/connections/assimilate_seem/force", "/v1/connectors/assimilate_seem/force"} {
		r := e.mustDo(200, "POST", path, "")
		if want := `{"code":"Success","message":"Sync has been successfully triggered for connector with id 'assimilate_seem'"}`; string(r.body) != want {
			t.Errorf("POST %s = %s", path, r.body)
		}
		if got := deliveries(t, e, all, 3*i); names(got) != "force_update_connector,sync_start,sync_end" {
			t.Errorf("POST %s emitted %s", path, names(got))
		}
	}
	r := e.mustDo(404, "POST", "/v1/connections/nope/force", "")
	if want := `{"code":"NotFound_Connector","message":"Cannot find entity 'Connector' with id 'nope'"}`; string(r.body) != want {
		t.Errorf("force on a missing connection = %s", r.body)
	}

	// gRPC: the same call.
	conn := startGRPC(t, e)
	resp, err := standinv1.NewConnectionServiceClient(conn).ForceConnection(context.Background(), &standinv1.ForceConnectionRequest{Id: "gather_harbor"})
	if err != nil || resp.GetMessage() != "Sync has been successfully triggered for connector with id 'gather_harbor'" {
		t.Errorf("gRPC ForceConnection = %v, %v", resp, err)
	}
}

// TestResyncTableRoutes: one table and a scope of tables, under both
// prefixes and over gRPC, each table's resync_table naming its schema and
// table in data.
func TestResyncTableRoutes(t *testing.T) {
	t.Parallel()
	e, _, all := newSimEnv(t)
	skip := 0
	for _, path := range []string{"/v1/connections/assimilate_seem/schemas/public/tables/orders/resync", "/v1/connectors/assimilate_seem/schemas/public/tables/orders/resync"} {
		r := e.mustDo(200, "POST", path, "")
		if want := `{"code":"Success","message":"Re-sync has been successfully triggered for 'public.orders'"}`; string(r.body) != want {
			t.Errorf("POST %s = %s", path, r.body)
		}
		got := deliveries(t, e, all, skip)
		if names(got) != "resync_table,sync_start,sync_end" {
			t.Fatalf("POST %s emitted %s", path, names(got))
		}
		want := `{"event":"resync_table","created":"2026-05-22T00:06:08.638Z","connector_type":"google_cloud_postgresql","connector_id":"assimilate_seem","connector_name":"ftar_pg","destination_group_id":"inappropriate_implode","data":{"schema":"public","table":"orders"}}`
		if got[0].raw != want {
			t.Errorf("resync_table body\n%s\nwant\n%s", got[0].raw, want)
		}
		skip += len(got)
	}
	for _, path := range []string{"/v1/connections/assimilate_seem/schemas/tables/resync", "/v1/connectors/assimilate_seem/schemas/tables/resync"} {
		r := e.mustDo(200, "POST", path, `{"public":["orders","users"],"sales":["deals"]}`)
		if want := `{"code":"Success","message":"Operation performed."}`; string(r.body) != want {
			t.Errorf("POST %s = %s", path, r.body)
		}
		got := deliveries(t, e, all, skip)
		if names(got) != "resync_table,resync_table,resync_table,sync_start,sync_end" {
			t.Fatalf("POST %s emitted %s", path, names(got))
		}
		var tables []string
		for _, s := range got[:3] {
			tables = append(tables, string(s.Data))
		}
		if want := `{"schema":"public","table":"orders"} {"schema":"public","table":"users"} {"schema":"sales","table":"deals"}`; strings.Join(tables, " ") != want {
			t.Errorf("resync_table data %s", strings.Join(tables, " "))
		}
		skip += len(got)
	}
	for _, body := range []string{`{}`, `{"public":[]}`, `{"public":"orders"}`, `{"public":[1]}`} {
		r := e.mustDo(400, "POST", "/v1/connections/assimilate_seem/schemas/tables/resync", body)
		if !strings.Contains(string(r.body), `"code":"InvalidInput"`) {
			t.Errorf("scope %s: %s", body, r.body)
		}
	}
	if got := deliveries(t, e, all, skip); len(got) != 0 {
		t.Errorf("refused scopes emitted %s", names(got))
	}

	conn := startGRPC(t, e)
	resp, err := standinv1.NewConnectionServiceClient(conn).ResyncTable(context.Background(), &standinv1.ResyncTableRequest{Id: "gather_harbor", Schema: "sf", Table: "account"})
	if err != nil || resp.GetMessage() != "Re-sync has been successfully triggered for 'sf.account'" {
		t.Errorf("gRPC ResyncTable = %v, %v", resp, err)
	}
}

// TestConnectionSchemaFilter: ?schema= filters by exact schema name, alone
// and with the group, on both list calls.
func TestConnectionSchemaFilter(t *testing.T) {
	t.Parallel()
	e, _, _ := newSimEnv(t)
	e.mustDo(200, "POST", "/standin/v1/connections", `{"id":"second_pg","group_id":"elegant_canyon","service":"postgres","schema":"ftar_pg"}`)
	e.mustDo(200, "POST", "/standin/v1/connections", `{"id":"prefix_pg","group_id":"inappropriate_implode","service":"postgres","schema":"ftar_pg_2"}`)
	ids := func(path string) string {
		t.Helper()
		var env struct {
			Data struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
			} `json:"data"`
		}
		decode(t, e.mustDo(200, "GET", path, "").body, &env)
		var out []string
		for _, it := range env.Data.Items {
			out = append(out, it.ID)
		}
		return strings.Join(out, ",")
	}
	for path, want := range map[string]string{
		"/v1/connections?schema=ftar_pg":                                        "assimilate_seem,second_pg",
		"/v1/connections?schema=ftar_pg&group_id=elegant_canyon":                "second_pg",
		"/v1/connections?schema=ftar_pg&group_id=inappropriate_implode":         "assimilate_seem",
		"/v1/connections?schema=FTAR_PG":                                        "",
		"/v1/groups/inappropriate_implode/connections?schema=ftar_pg":           "assimilate_seem",
		"/v1/groups/inappropriate_implode/connectors?schema=ftar_pg_2":          "prefix_pg",
		"/v1/groups/elegant_canyon/connections?schema=hubspot_staging":          "brisk_otter",
		"/v1/connections?schema=hubspot_staging&group_id=inappropriate_implode": "",
	} {
		if got := ids(path); got != want {
			t.Errorf("GET %s = [%s], want [%s]", path, got, want)
		}
	}
}

// TestConnectionExtraFields: the connection's other fields are accepted on
// create, returned in Fivetran's key order, kept by PATCH (config merged,
// secrets masked, null clears) and refused with InvalidInput when their
// type or value is wrong, changing nothing.
func TestConnectionExtraFields(t *testing.T) {
	t.Parallel()
	e, _, all := newSimEnv(t)
	r := e.mustDo(200, "POST", "/standin/v1/connections", `{"id":"rich_pg","group_id":"elegant_canyon","service":"postgres","schema":"rich",
		"service_version":3,"connected_by":"_airworthy","pause_after_trial":true,"daily_sync_time":"14:00","networking_method":"SshTunnel",
		"data_delay_sensitivity":"CUSTOM","data_delay_threshold":30,"proxy_agent_id":"agent_1","hybrid_deployment_agent_id":"hda_1",
		"setup_tests":[{"title":"Connecting","status":"PASSED"}],"source_sync_details":{"last_synced":"2026-01-01"},
		"config":{"host":"db.example","port":5432,"password":"hunter2"}}`)
	want := `"service_version":3,"schema":"rich","paused":false,"pause_after_trial":true,"connected_by":"_airworthy",`
	if !strings.Contains(string(r.body), want) {
		t.Errorf("create: %s\nwant it to contain %s", r.body, want)
	}
	wantTail := `"daily_sync_time":"14:00","networking_method":"SshTunnel","data_delay_sensitivity":"CUSTOM","data_delay_threshold":30,"proxy_agent_id":"agent_1","private_link_id":null,"hybrid_deployment_agent_id":"hda_1","setup_tests":[{"status":"PASSED","title":"Connecting"}],"source_sync_details":{"last_synced":"2026-01-01"},"config":{"host":"db.example","password":"******","port":5432}}}`
	if !strings.HasSuffix(string(r.body), wantTail) {
		t.Errorf("create: %s\nwant it to end with %s", r.body, wantTail)
	}
	if got := string(e.mustDo(200, "GET", "/v1/connections/rich_pg", "").body); !strings.HasSuffix(got, wantTail) {
		t.Errorf("GET: %s", got)
	}

	before := len(deliveries(t, e, all, 0))
	r = e.mustDo(200, "PATCH", "/v1/connections/rich_pg", `{"daily_sync_time":"03:00","pause_after_trial":false,"proxy_agent_id":null,"config":{"port":6543,"user":"ro","host":null}}`)
	wantTail = `"daily_sync_time":"03:00","networking_method":"SshTunnel","data_delay_sensitivity":"CUSTOM","data_delay_threshold":30,"proxy_agent_id":null,"private_link_id":null,"hybrid_deployment_agent_id":"hda_1","setup_tests":[{"status":"PASSED","title":"Connecting"}],"source_sync_details":{"last_synced":"2026-01-01"},"config":{"password":"******","port":6543,"user":"ro"}}}`
	if !strings.HasSuffix(string(r.body), wantTail) || !strings.Contains(string(r.body), `"pause_after_trial":false`) {
		t.Errorf("PATCH: %s\nwant it to end with %s", r.body, wantTail)
	}
	if got := string(e.mustDo(200, "GET", "/v1/connectors/rich_pg", "").body); !strings.HasSuffix(got, wantTail) {
		t.Errorf("GET after PATCH: %s", got)
	}
	if got := deliveries(t, e, all, before); names(got) != "edit_connector" {
		t.Errorf("PATCH emitted %s", names(got))
	}

	for _, body := range []string{`{"daily_sync_time":"25:00"}`, `{"daily_sync_time":14}`, `{"networking_method":"Carrier pigeon"}`,
		`{"data_delay_threshold":-1}`, `{"config":[1]}`, `{"setup_tests":{}}`, `{"pause_after_trial":"yes"}`} {
		r := e.mustDo(400, "PATCH", "/v1/connections/rich_pg", body)
		var env struct{ Code, Message string }
		decode(t, r.body, &env)
		var field map[string]json.RawMessage
		decode(t, []byte(body), &field)
		for name := range field {
			if env.Code != "InvalidInput" || !strings.Contains(env.Message, "'"+name+"'") {
				t.Errorf("PATCH %s = %s", body, r.body)
			}
		}
	}
	if got := string(e.mustDo(200, "GET", "/v1/connections/rich_pg", "").body); !strings.HasSuffix(got, wantTail) {
		t.Errorf("refused PATCHes changed the connection: %s", got)
	}
	e.mustDo(400, "POST", "/standin/v1/connections", `{"group_id":"elegant_canyon","service":"postgres","schema":"x","networking_method":"nope"}`)
}

// TestGroupWebhookUnknownGroup: Fivetran refuses a group webhook for a group
// that does not exist; standin says so in Fivetran's words and how to
// register it; a registered group (and a seed group) works.
func TestGroupWebhookUnknownGroup(t *testing.T) {
	t.Parallel()
	e, _, _ := newSimEnv(t)
	n := e.webhookCount()
	r := e.mustDo(404, "POST", "/v1/webhooks/group/no_such_group", `{"url":"http://127.0.0.1:1/hook","events":["sync_end"]}`)
	want := `{"code":"NotFound_Group","message":"Cannot find entity 'Group' with id 'no_such_group'. standin: register the group first with POST /standin/v1/groups {\"id\":\"no_such_group\",\"name\":\"…\"}"}`
	if string(r.body) != want {
		t.Errorf("unknown group\n%s\nwant\n%s", r.body, want)
	}
	if e.webhookCount() != n {
		t.Error("the refused webhook was stored")
	}
	e.mustDo(200, "POST", "/standin/v1/groups", `{"id":"no_such_group","name":"Now it exists"}`)
	e.createWebhook("/v1/webhooks/group/no_such_group", `{"url":"http://127.0.0.1:1/hook","events":["sync_end"]}`)
	e.createWebhook("/v1/webhooks/group/elegant_canyon", `{"url":"http://127.0.0.1:1/hook","events":["sync_end"]}`)
}

// TestSigningOnTheWire: what receivers get for the signing values users
// copy from Fivetran's webhooks connector, the GitHub-style prefix, and a
// Portable webhook's default (no signature).
func TestSigningOnTheWire(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t)
	hexMAC := func(newHash func() hash.Hash, secret string, body []byte) string {
		m := hmac.New(newHash, []byte(secret))
		m.Write(body)
		return hex.EncodeToString(m.Sum(nil))
	}
	for _, tc := range []struct {
		name, profile, signing string
		header                 string
		want                   func(body []byte) string
	}{
		{"fivetran aliases, prefixed", "", `{"scheme":"HMAC","algorithm":"SHA_256","encoding":"HEXA_DECIMAL","lower_hex":true,"prefix_algorithm":true}`,
			"X-Fivetran-Hmac-Sign", func(b []byte) string { return "sha256=" + hexMAC(sha256.New, "k1", b) }},
		{"SHA_512 prefixed", "", `{"scheme":"HMAC","algorithm":"SHA_512","encoding":"HEXA_DECIMAL","lower_hex":true,"prefix_algorithm":true}`,
			"X-Fivetran-Hmac-Sign", func(b []byte) string { return "sha512=" + hexMAC(sha512.New, "k1", b) }},
		{"MD5 upper hex", "", `{"scheme":"HMAC","algorithm":"MD5","encoding":"HEXA_DECIMAL"}`,
			"X-Fivetran-Hmac-Sign", func(b []byte) string { return strings.ToUpper(hexMAC(md5.New, "k1", b)) }},
		{"SHA_1 base64", "", `{"scheme":"HMAC","algorithm":"SHA_1"}`,
			"X-Fivetran-Hmac-Sign", func(b []byte) string {
				m := hmac.New(sha1.New, []byte("k1"))
				m.Write(b)
				return base64.StdEncoding.EncodeToString(m.Sum(nil))
			}},
		{"TOKEN_BASED", "", `{"scheme":"TOKEN_BASED","header":"X-Api-Key"}`, "X-Api-Key", func([]byte) string { return "k1" }},
		{"fivetran prefixed", "", `{"prefix_algorithm":true}`,
			"X-Fivetran-Signature-256", func(b []byte) string { return "sha256=" + strings.ToUpper(hexMAC(sha256.New, "k1", b)) }},
		{"portable asking for fivetran", "portable", `{"scheme":"fivetran"}`,
			"X-Fivetran-Signature-256", func(b []byte) string { return strings.ToUpper(hexMAC(sha256.New, "k1", b)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rcv := testkit.NewReceiver(t, "")
			profile := ""
			if tc.profile != "" {
				profile = `,"profile":"` + tc.profile + `"`
			}
			var wh struct {
				Data struct {
					ID      string          `json:"id"`
					Signing json.RawMessage `json:"signing"`
				} `json:"data"`
			}
			_, err := sd.Client().Do(waitCtx(t), "POST", "/v1/webhooks/account", nil,
				json.RawMessage(`{"url":"`+rcv.URL+`","events":["sync_end"],"active":false,"secret":"k1"`+profile+`,"signing":`+tc.signing+`}`), &wh.Data)
			if err != nil {
				t.Fatal(err)
			}
			for _, alias := range []string{`"HMAC"`, `"TOKEN_BASED"`, `"SHA_`, `"HEXA_DECIMAL"`} {
				if strings.Contains(string(wh.Data.Signing), alias) {
					t.Errorf("signing kept the alias %s instead of standin's spelling: %s", alias, wh.Data.Signing)
				}
			}
			if _, err := sd.Client().Do(waitCtx(t), "POST", "/v1/webhooks/"+wh.Data.ID+"/test", nil, map[string]string{"event": "sync_end"}, nil); err != nil {
				t.Fatal(err)
			}
			reqs := rcv.AwaitRequests(waitCtx(t), 1)
			if got, want := reqs[0].Header.Get(tc.header), tc.want(reqs[0].Body); got != want {
				t.Errorf("%s = %q, want %q", tc.header, got, want)
			}
		})
	}

	// A Portable webhook with a secret and no signing sends no signature,
	// on deliveries and on its Test call.
	rcv := testkit.NewReceiver(t, "")
	sd.CreateWebhook(testkit.WebhookParams{URL: rcv.URL, Events: []string{"sync_end"}, Secret: "k1", Profile: "portable"})
	sd.Emit(testkit.Event{Event: "sync_end", FlowID: 77})
	reqs := rcv.AwaitRequests(waitCtx(t), 1)
	for _, h := range []string{"X-Fivetran-Signature-256", "X-Fivetran-Hmac-Sign", "Webhook-Signature"} {
		if v := reqs[0].Header.Get(h); v != "" {
			t.Errorf("Portable delivery carries %s: %q", h, v)
		}
	}

	// The token scheme without a header is refused: standin has no default.
	_, err := sd.Client().Do(waitCtx(t), "POST", "/v1/webhooks/account", nil,
		json.RawMessage(`{"url":"`+rcv.URL+`","events":["sync_end"],"secret":"k1","signing":{"scheme":"TOKEN_BASED"}}`), nil)
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != 400 || !strings.Contains(apiErr.Message, "a header name is required for scheme token") {
		t.Errorf("token without header: %v", err)
	}
}

// recordMatchesWire checks that the stored record of a delivery's event
// (GET /standin/v1/events/{id}) has exactly the keys of the body that went
// on the wire (destination_group_id is the record's group_id) with the same
// values.
func recordMatchesWire(t *testing.T, e *testEnv, deliveryID string) {
	t.Helper()
	d, err := e.store.DeliveryGetByID(context.Background(), deliveryID)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Data struct {
			Event struct {
				Source map[string]any `json:"source"`
			} `json:"event"`
		} `json:"data"`
	}
	decode(t, e.mustDo(200, "GET", "/standin/v1/events/"+d.EventID, "").body, &env)
	var wire map[string]any
	decode(t, d.Body, &wire)
	if g, ok := wire["destination_group_id"]; ok {
		delete(wire, "destination_group_id")
		wire["group_id"] = g
	}
	rec := env.Data.Event.Source
	if len(rec) != len(wire) {
		t.Errorf("%s record %v\nwire %s", d.EventName, rec, d.Body)
	}
	for k, w := range wire {
		r, ok := rec[k]
		if k == "created" {
			rt, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(r))
			wt, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(w))
			if !ok || !rt.Equal(wt) {
				t.Errorf("%s record created %v, wire %v", d.EventName, r, w)
			}
			continue
		}
		if !ok || !reflect.DeepEqual(r, w) {
			t.Errorf("%s record %s = %v, wire %v", d.EventName, k, r, w)
		}
	}
}

// TestStoredRecordsOwnPlatform: a simulated Fivetran sync's and a Portable
// flow run's stored records show only their platform's fields, the values
// that went on the wire.
func TestStoredRecordsOwnPlatform(t *testing.T) {
	t.Parallel()
	e, _, fivetran := newSimEnv(t)
	portable := e.createWebhook("/v1/webhooks/account", `{"url":"http://127.0.0.1:1/p","events":["sync_start","sync_end"],"profile":"portable"}`)
	e.mustDo(200, "POST", "/standin/v1/connections/assimilate_seem/sync", `{"status":"FAILURE","reason":"disk full"}`)
	e.mustDo(200, "POST", "/standin/v1/portable/flows/42/run", `{"status":"FAILED"}`)
	for _, wh := range []string{fivetran, portable} {
		list, err := e.store.DeliveryList(context.Background(), store.DeliveryListParams{WebhookID: wh, Limit: 10})
		if err != nil || len(list) != 2 {
			t.Fatalf("deliveries of %s: %d, %v", wh, len(list), err)
		}
		for _, d := range list {
			recordMatchesWire(t, e, d.ID)
		}
	}
	// An ad-hoc emit naming Portable fields only is a Portable event.
	r := e.mustDo(200, "POST", "/standin/v1/events", `{"event":"sync_end","flow_id":9,"status":"FAILURE"}`)
	var env struct {
		Data struct {
			Deliveries []struct {
				ID        string `json:"id"`
				WebhookID string `json:"webhook_id"`
			} `json:"deliveries"`
		} `json:"data"`
	}
	decode(t, r.body, &env)
	if len(env.Data.Deliveries) != 1 || env.Data.Deliveries[0].WebhookID != portable {
		t.Fatalf("Portable-only emit delivered to %+v", env.Data.Deliveries)
	}
	recordMatchesWire(t, e, env.Data.Deliveries[0].ID)
}

// TestEmitRegisteredConnector: the registry fills a registered connection's
// fields and routes by its group; a contradicting field is refused naming
// it, storing nothing; an unregistered id stays ad-hoc.
func TestEmitRegisteredConnector(t *testing.T) {
	t.Parallel()
	e, _, account := newSimEnv(t)
	staging := e.createWebhook("/v1/webhooks/group/elegant_canyon", `{"url":"http://127.0.0.1:1/s","events":["sync_end"]}`)
	warehouse := e.createWebhook("/v1/webhooks/group/inappropriate_implode", `{"url":"http://127.0.0.1:1/w","events":["sync_end"]}`)

	conn := connection(t, e, "/v1/connections/brisk_otter")
	e.mustDo(200, "POST", "/standin/v1/events", `{"event":"sync_end","connector_id":"brisk_otter","sync_id":"b4703f73-6315-4e22-8d7a-3bfb18b2fed2"}`)
	want := `{"event":"sync_end","created":"2026-05-22T00:06:08.638Z","connector_type":"` + conn["service"].(string) + `","connector_id":"brisk_otter","connector_name":"` + conn["schema"].(string) + `","sync_id":"b4703f73-6315-4e22-8d7a-3bfb18b2fed2","destination_group_id":"` + conn["group_id"].(string) + `","data":{"status":"SUCCESSFUL"}}`
	if want != `{"event":"sync_end","created":"2026-05-22T00:06:08.638Z","connector_type":"hubspot","connector_id":"brisk_otter","connector_name":"hubspot_staging","sync_id":"b4703f73-6315-4e22-8d7a-3bfb18b2fed2","destination_group_id":"elegant_canyon","data":{"status":"SUCCESSFUL"}}` {
		t.Fatalf("GET /v1/connections/brisk_otter disagrees with the seed: %v", conn)
	}
	for _, wh := range []string{account, staging} {
		got := deliveries(t, e, wh, 0)
		if len(got) != 1 || got[0].raw != want {
			t.Errorf("webhook %s got %v\nwant %s", wh, got, want)
		}
	}
	if got := deliveries(t, e, warehouse, 0); len(got) != 0 {
		t.Errorf("the other group's webhook got %s", names(got))
	}

	// Given values that agree are fine; contradicting ones are refused.
	e.mustDo(200, "POST", "/standin/v1/events", `{"event":"sync_end","connector_id":"brisk_otter","connector_type":"hubspot","group_id":"elegant_canyon"}`)
	for field, body := range map[string]string{
		"connector_type": `{"event":"sync_end","connector_id":"brisk_otter","connector_type":"google_cloud_postgresql"}`,
		"connector_name": `{"event":"sync_end","connector_id":"brisk_otter","connector_name":"ftar_pg"}`,
		"group_id":       `{"event":"sync_end","connector_id":"brisk_otter","group_id":"inappropriate_implode"}`,
	} {
		r := e.mustDo(400, "POST", "/standin/v1/events", body)
		if !strings.Contains(string(r.body), `"code":"InvalidInput","message":"Field '`+field+`' is `) {
			t.Errorf("%s: %s", body, r.body)
		}
		r = e.mustDo(400, "POST", "/standin/v1/events:batch", `{"events":[{"event":"sync_start"},`+body+`]}`)
		if !strings.Contains(string(r.body), `"message":"events[1]: Field '`+field+`' is `) {
			t.Errorf("batch %s: %s", body, r.body)
		}
	}
	if got := deliveries(t, e, account, 0); len(got) != 2 {
		t.Errorf("refused emits delivered: %s", names(got))
	}

	// Unregistered: ad-hoc, as given.
	e.mustDo(200, "POST", "/standin/v1/events", `{"event":"sync_end","connector_id":"calm_fox","connector_type":"stripe","connector_name":"payments","group_id":"inappropriate_implode"}`)
	got := deliveries(t, e, warehouse, 0)
	if len(got) != 1 || got[0].Type != "stripe" || got[0].Name != "payments" || got[0].ConnectorID != "calm_fox" {
		t.Errorf("ad-hoc connector: %v", got)
	}
}

// TestCallerDataKeyOrder: a dbt_run_failed body with caller data reads as
// Fivetran's, the caller's keys in the caller's order, in single and batch
// emits.
func TestCallerDataKeyOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, skipURLCheck)
	wh := e.createWebhook("/v1/webhooks/account", `{"url":"http://127.0.0.1:1/hook","events":["dbt_run_failed"]}`)
	data := `{"result":{"description":"Job failed","stepResults":[{"step":{"name":"run","command":"dbt run"},"startTime":"2026-05-22T00:00:00.000Z","endTime":"2026-05-22T00:01:00.000Z","success":false,"commandResult":{"error":"boom","output":"","exitCode":1},"failedModelRuns":1,"successfulModelRuns":0}]},"startTime":"2026-05-22T00:00:00.000Z","endTime":"2026-05-22T00:01:00.000Z","dbtJobId":"steady_harbor","dbtJobName":"daily_models","startupDetails":{"type":"scheduled","userId":"_airworthy"}}`
	spaced := strings.ReplaceAll(strings.ReplaceAll(data, `,"`, `, "`), `":`, `": `)
	e.mustDo(200, "POST", "/standin/v1/events", `{"event":"dbt_run_failed","group_id":"g1","data":`+spaced+`}`)
	e.mustDo(200, "POST", "/standin/v1/events:batch", `{"events":[{"event":"dbt_run_failed","group_id":"g1","data":`+spaced+`}]}`)
	want := `{"event":"dbt_run_failed","created":"2026-05-22T00:06:08.638Z","destination_group_id":"g1","data":` + data + `}`
	got := deliveries(t, e, wh, 0)
	if len(got) != 2 {
		t.Fatalf("%d deliveries, want 2", len(got))
	}
	for _, s := range got {
		if s.raw != want {
			t.Errorf("body\n%s\nwant\n%s", s.raw, want)
		}
	}
	// gRPC callers say data_json for the same bytes.
	conn := startGRPC(t, e)
	_, err := standinv1.NewEventServiceClient(conn).EmitEvent(context.Background(), &standinv1.EmitEventRequest{Event: "dbt_run_failed", GroupId: "g1", DataJson: data})
	if err != nil {
		t.Fatal(err)
	}
	if got := deliveries(t, e, wh, 2); len(got) != 1 || got[0].raw != want {
		t.Errorf("gRPC data_json: %v", got)
	}
}

// TestURLCheckConnector: the URL check's test_event names current docs'
// _connection_1 by default; URLCheckConnectorID switches to older docs'.
func TestURLCheckConnector(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opts []func(*server.APIConfig)
		want string
	}{
		{nil, `"connector_id":"_connection_1"`},
		{[]func(*server.APIConfig){func(c *server.APIConfig) { c.URLCheckConnectorID = delivery.LegacyURLCheckConnectorID }}, `"connector_id":"_connector_1"`},
	} {
		e := newEnv(t, tc.opts...)
		rcv := newReceiver(t, 200)
		e.createWebhook("/v1/webhooks/account", `{"url":"`+rcv.url+`","events":["sync_end"]}`)
		body := `{"event":"test_event","created":"2026-05-22T00:06:08.638Z","connector_type":"_connector_type",` + tc.want + `,"group_id":"_destination_1"}`
		if got := string(rcv.take(t).body); got != body {
			t.Errorf("URL check body %s, want %s", got, body)
		}
	}
}
