package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/testkit"
)

// End-to-end tests of the faithful senders: a real standin (testkit: API,
// River workers, SQLite) and real receivers, over HTTP on 127.0.0.1.

// call sends a JSON request to sd and returns the HTTP status and body.
func call(t *testing.T, sd *testkit.Standin, method, path, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, sd.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// mustCall is call requiring HTTP status want.
func mustCall(t *testing.T, sd *testkit.Standin, want int, method, path, body string) []byte {
	t.Helper()
	status, b := call(t, sd, method, path, body)
	if status != want {
		t.Fatalf("%s %s: HTTP %d, want %d: %s", method, path, status, want, b)
	}
	return b
}

// webhookID creates a webhook with a raw JSON body and returns its id.
func webhookID(t *testing.T, sd *testkit.Standin, path, body string) string {
	t.Helper()
	var env struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	decode(t, mustCall(t, sd, 200, "POST", path, body), &env)
	return env.Data.ID
}

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// bodyOf parses a received body.
func bodyOf(t *testing.T, r testkit.Request) map[string]any {
	t.Helper()
	var m map[string]any
	decode(t, r.Body, &m)
	return m
}

// eventsOf lists the event names of received requests.
func eventsOf(t *testing.T, reqs []testkit.Request) []string {
	t.Helper()
	var out []string
	for _, r := range reqs {
		out = append(out, bodyOf(t, r)["event"].(string))
	}
	return out
}

// TestManagementAPIParity checks the details of Fivetran's webhook API
// (docs/fidelity.md §1) that hold for every response, on the real composition
// root: 200 (not 201) on create, the messages, Fivetran-style ids, created_at
// with milliseconds, created_by, the masked secret everywhere, NotFound_*
// codes and the OpenAPI document.
func TestManagementAPIParity(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{URLCheck: true})
	rcv := testkit.NewReceiver(t, "")

	idRE := regexp.MustCompile(`^[a-z]+_[a-z]+$`)
	timeRE := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	type webhookJSON struct {
		ID        string   `json:"id"`
		Type      string   `json:"type"`
		GroupID   *string  `json:"group_id"`
		URL       string   `json:"url"`
		Events    []string `json:"events"`
		Active    bool     `json:"active"`
		Secret    string   `json:"secret"`
		CreatedAt string   `json:"created_at"`
		CreatedBy string   `json:"created_by"`
	}
	var env struct {
		Code    string      `json:"code"`
		Message *string     `json:"message"`
		Data    webhookJSON `json:"data"`
	}
	check := func(what string, wh webhookJSON) {
		t.Helper()
		if !idRE.MatchString(wh.ID) || !timeRE.MatchString(wh.CreatedAt) || wh.CreatedBy != server.CreatedBy || wh.Secret != "******" {
			t.Errorf("%s: webhook %+v", what, wh)
		}
	}

	status, b := call(t, sd, "POST", "/v1/webhooks/account", `{"url":"`+rcv.URL+`/a","events":["sync_end"],"secret":"s3cret"}`)
	decode(t, b, &env)
	if status != 200 || env.Code != "Success" || *env.Message != "Account webhook has been created" || env.Data.Type != "account" || env.Data.GroupID != nil || !env.Data.Active {
		t.Fatalf("create account: HTTP %d %s", status, b)
	}
	check("create account", env.Data)
	account := env.Data.ID
	if strings.Contains(string(b), "s3cret") {
		t.Errorf("the secret leaked: %s", b)
	}
	// The URL check came first: one test_event, signed.
	reqs := rcv.AwaitRequests(waitCtx(t), 1)
	if bodyOf(t, reqs[0])["event"] != "test_event" || reqs[0].Header.Get(delivery.HeaderFivetranSignature) == "" {
		t.Fatalf("URL check: %v", reqs)
	}

	status, b = call(t, sd, "POST", "/v1/webhooks/group/elegant_canyon", `{"url":"`+rcv.URL+`/g","events":["sync_start"],"active":false}`)
	decode(t, b, &env)
	if status != 200 || env.Data.Type != "group" || env.Data.GroupID == nil || *env.Data.GroupID != "elegant_canyon" || env.Data.Active {
		t.Fatalf("create group webhook: HTTP %d %s", status, b)
	}
	check("create group", env.Data)

	env.Message = nil
	decode(t, mustCall(t, sd, 200, "GET", "/v1/webhooks/"+account, ""), &env)
	check("get", env.Data)
	if env.Message != nil {
		t.Errorf("GET has a message: %q", *env.Message)
	}
	var list struct {
		Data struct {
			Items      []webhookJSON `json:"items"`
			NextCursor *string       `json:"next_cursor"`
		} `json:"data"`
	}
	decode(t, mustCall(t, sd, 200, "GET", "/v1/webhooks", ""), &list)
	if len(list.Data.Items) != 2 || list.Data.NextCursor != nil {
		t.Errorf("list: %+v", list.Data)
	}
	for _, wh := range list.Data.Items {
		check("list", wh)
	}
	decode(t, mustCall(t, sd, 200, "PATCH", "/v1/webhooks/"+account, `{"secret":"other"}`), &env)
	if *env.Message != "Webhook has been updated" {
		t.Errorf("update message %q", *env.Message)
	}
	check("update", env.Data)

	if b := mustCall(t, sd, 200, "DELETE", "/v1/webhooks/"+account, ""); string(b) != `{"code":"Success","message":"Webhook with id '`+account+`' has been deleted"}` {
		t.Errorf("delete: %s", b)
	}
	b = mustCall(t, sd, 404, "GET", "/v1/webhooks/"+account, "")
	var errEnv struct{ Code, Message string }
	decode(t, b, &errEnv)
	if !strings.HasPrefix(errEnv.Code, "NotFound") || errEnv.Message != "Cannot find entity 'Webhook' with id '"+account+"'" {
		t.Errorf("after delete: %s", b)
	}

	// The OpenAPI document is served at its stable path and names the
	// simulator's routes too.
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	decode(t, mustCall(t, sd, 200, "GET", "/standin/v1/openapi.json", ""), &doc)
	for _, p := range []string{"/v1/webhooks/account", "/v1/groups", "/v1/connections/{id}/sync", "/v1/connectors/{id}/sync",
		"/standin/v1/connections/{id}/sync", "/standin/v1/portable/flows/{flow_id}/run"} {
		if _, ok := doc.Paths[p]; !ok {
			t.Errorf("openapi.json has no path %s", p)
		}
	}
}

// TestSyncE2E triggers a sync over Fivetran's API and receives its events:
// force_update_connector and sync_start at once, sync_end when the 5
// emulated minutes are over, all signed, one sync_id, only to webhooks of
// the connection's group and account.
func TestSyncE2E(t *testing.T) {
	t.Parallel()
	// 5 emulated minutes = 500 ms: room for sync_start's immediate delivery
	// to land first even on a loaded machine under -race.
	const scale = 600
	sd := testkit.Start(t, testkit.Config{TimeScale: scale})
	acct := testkit.NewReceiver(t, "acct-secret")
	mine := testkit.NewReceiver(t, "")
	other := testkit.NewReceiver(t, "")
	webhookID(t, sd, "/v1/webhooks/account", `{"url":"`+acct.URL+`","events":["sync_start","sync_end","force_update_connector"],"secret":"acct-secret"}`)
	webhookID(t, sd, "/v1/webhooks/group/inappropriate_implode", `{"url":"`+mine.URL+`","events":["sync_start","sync_end"]}`)
	otherID := webhookID(t, sd, "/v1/webhooks/group/elegant_canyon", `{"url":"`+other.URL+`","events":["sync_start","sync_end"]}`)

	triggered := time.Now()
	mustCall(t, sd, 200, "POST", "/v1/connectors/assimilate_seem/sync", `{"force":true}`)
	ctx := waitCtx(t)
	reqs := acct.AwaitRequests(ctx, 3)
	got := eventsOf(t, reqs)
	if !slices.Contains(got, "force_update_connector") || !slices.Contains(got, "sync_start") || got[2] != "sync_end" {
		t.Fatalf("account receiver got %v", got)
	}
	bodies := map[string]map[string]any{}
	times := map[string]time.Time{}
	for _, r := range reqs {
		if r.SignatureErr != nil {
			t.Errorf("signature: %v", r.SignatureErr)
		}
		b := bodyOf(t, r)
		bodies[b["event"].(string)], times[b["event"].(string)] = b, r.ReceivedAt
	}
	syncID := bodies["sync_start"]["sync_id"]
	if syncID == nil || bodies["sync_end"]["sync_id"] != syncID || bodies["sync_end"]["connector_name"] != "ftar_pg" {
		t.Errorf("bodies %v", bodies)
	}
	// The worker may start an attempt up to 1 ms before it is due.
	if wait := times["sync_end"].Sub(triggered); wait < 5*time.Minute/scale-time.Millisecond {
		t.Errorf("sync_end came %v after the sync was triggered, before the sync's %v were over", wait, 5*time.Minute/scale)
	}
	if mreqs := mine.AwaitRequests(ctx, 2); fmt.Sprint(eventsOf(t, mreqs)) != "[sync_start sync_end]" {
		t.Errorf("group receiver got %v", eventsOf(t, mreqs))
	}
	if n := len(other.Requests()); n != 0 {
		t.Errorf("the other group's receiver got %d requests", n)
	}
	if list, _ := sd.Store().DeliveryList(ctx, store.DeliveryListParams{WebhookID: otherID, Limit: 10}); len(list) != 0 {
		t.Errorf("the other group's webhook has %d deliveries", len(list))
	}

	// The sync has ended: scheduled, succeeded_at is its end.
	var c struct {
		SucceededAt string `json:"succeeded_at"`
		Status      struct {
			SyncState string `json:"sync_state"`
		} `json:"status"`
	}
	if err := sd.Do(ctx, "GET", "/v1/connections/assimilate_seem", nil, &c); err != nil {
		t.Fatal(err)
	}
	if c.Status.SyncState != "scheduled" || c.SucceededAt != bodies["sync_end"]["created"] {
		t.Errorf("after the sync: %+v, sync_end created %v", c, bodies["sync_end"]["created"])
	}
}

// TestSyncEndSurvivesRestart starts a sync, stops standin before the sync
// ends, and starts another standin on the same database: sync_end is still
// delivered, because it was stored with its River job when the sync began.
func TestSyncEndSurvivesRestart(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "standin.db")
	rcv := testkit.NewReceiver(t, "")
	ctx := waitCtx(t)

	first := testkit.NewHarness()
	sdA := testkit.Start(first, testkit.Config{DatabaseURL: db, TimeScale: 60})
	webhookID(t, sdA, "/v1/webhooks/account", `{"url":"`+rcv.URL+`","events":["sync_start","sync_end"]}`)
	var started struct {
		SyncID string `json:"sync_id"`
		EndsAt string `json:"ends_at"`
	}
	// 3 emulated minutes at 60x: 3 s of real time, ample for the shutdown.
	if err := sdA.Do(ctx, "POST", "/standin/v1/connections/gather_harbor/sync", map[string]any{"duration": "3m", "status": "FAILURE", "reason": "boom"}, &started); err != nil {
		t.Fatal(err)
	}
	rcv.AwaitRequests(ctx, 1)
	closing := time.Now()
	first.Close() // the process is gone before the sync ends
	if n := len(rcv.Requests()); n != 1 {
		t.Fatalf("receiver got %d requests before the restart, want sync_start only (ends at %s; the shutdown took %v)", n, started.EndsAt, time.Since(closing))
	}

	testkit.Start(t, testkit.Config{DatabaseURL: db, TimeScale: 60})
	reqs := rcv.AwaitRequests(ctx, 2)
	end := bodyOf(t, reqs[1])
	if end["event"] != "sync_end" || end["sync_id"] != started.SyncID || fmt.Sprint(end["data"]) != "map[reason:boom status:FAILURE]" {
		t.Errorf("after the restart: %s", reqs[1].Body)
	}
}

// TestPortableProfileE2E: a Portable webhook gets Portable's payloads,
// treats only 200 as success (201 is retried) on Portable's schedule, and
// its test call sends Portable's test event; a flow run reaches Portable
// webhooks only.
func TestPortableProfileE2E(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{TimeScale: 1000})
	portable := testkit.NewReceiver(t, "")
	portable.Respond(testkit.Response{Status: http.StatusCreated})
	fivetran := testkit.NewReceiver(t, "")
	fivetran.Default = testkit.Response{Status: http.StatusCreated} // any 2xx is fine for Fivetran
	pID := webhookID(t, sd, "/v1/webhooks/account", `{"url":"`+portable.URL+`","events":["sync_start","sync_end"],"profile":"portable"}`)
	fID := webhookID(t, sd, "/v1/webhooks/account", `{"url":"`+fivetran.URL+`","events":["sync_start","sync_end"]}`)

	var run struct {
		RunAttemptID string `json:"run_attempt_id"`
		Events       []struct {
			Event      string `json:"event"`
			Deliveries []struct {
				ID        string `json:"id"`
				WebhookID string `json:"webhook_id"`
			} `json:"deliveries"`
		} `json:"events"`
	}
	ctx := waitCtx(t)
	if err := sd.Do(ctx, "POST", "/standin/v1/portable/flows/3120/run", map[string]any{"duration": "1m"}, &run); err != nil {
		t.Fatal(err)
	}
	if len(run.Events) != 2 || len(run.Events[0].Deliveries) != 1 || run.Events[0].Deliveries[0].WebhookID != pID {
		t.Fatalf("flow run: %+v (Fivetran webhook %s must get nothing)", run, fID)
	}
	d, attempts := sd.AwaitDelivery(ctx, run.Events[0].Deliveries[0].ID)
	if d.State != testkit.StateSucceeded || len(attempts) != 2 {
		t.Fatalf("sync_start: %s after %d attempts, want succeeded after 2", d.State, len(attempts))
	}
	if a := attempts[0]; a.Status != 201 || a.Succeeded || a.Error != "receiver answered HTTP 201" {
		t.Errorf("attempt 1: %d %v %q", a.Status, a.Succeeded, a.Error)
	}
	wantDelay, _ := delivery.ScheduleFor(delivery.ProfilePortable).Offset(1)
	if a := attempts[1]; a.Status != 200 || !a.Succeeded || a.EmulatedDelay.Round(time.Second) != wantDelay {
		t.Errorf("attempt 2: %d %v at +%v, want 200 at +%v (Portable's schedule)", a.Status, a.Succeeded, a.EmulatedDelay, wantDelay)
	}
	sd.AwaitDelivery(ctx, run.Events[1].Deliveries[0].ID)
	reqs := portable.Requests()
	if got := eventsOf(t, reqs); len(got) != 3 || got[0] != "sync_start" || !slices.Contains(got, "sync_end") {
		t.Fatalf("portable receiver got %v", got)
	}
	var start, end []byte
	for _, r := range reqs {
		if bodyOf(t, r)["event"] == "sync_end" {
			end = r.Body
		} else {
			start = r.Body
		}
	}
	keys := regexp.MustCompile(`"([a-z_]+)":`)
	var got []string
	for _, m := range keys.FindAllStringSubmatch(string(end), -1) {
		got = append(got, m[1])
	}
	if want := "created destination_id destination_type details event flow_id run_attempt_id source_id source_type status"; strings.Join(got, " ") != want {
		t.Errorf("sync_end keys %v, want %s: %s", got, want, end)
	}
	if !strings.Contains(string(end), `"run_attempt_id":`+run.RunAttemptID+`,`) || !strings.Contains(string(start), `"event":"sync_start","flow_id":3120,"run_attempt_id":`+run.RunAttemptID+`,`) {
		t.Errorf("bodies %s %s", start, end)
	}
	if n := len(fivetran.Requests()); n != 0 {
		t.Errorf("Fivetran receiver got %d requests", n)
	}

	// The same 201 is a success for a Fivetran webhook.
	emitted := sd.Emit(testkit.Event{Event: "sync_start"})
	for _, dl := range emitted.Deliveries {
		d, attempts := sd.AwaitDelivery(ctx, dl.ID)
		if dl.WebhookID == fID && (d.State != testkit.StateSucceeded || len(attempts) != 1 || attempts[0].Status != 201) {
			t.Errorf("Fivetran delivery answered 201: %s after %d attempts", d.State, len(attempts))
		}
	}

	// The test call sends Portable's test event; succeed only on 200.
	portable.Respond(testkit.Response{Status: http.StatusAccepted})
	var result struct {
		Succeed bool `json:"succeed"`
		Status  int  `json:"status"`
	}
	for _, want := range []struct {
		succeed bool
		status  int
	}{{false, 202}, {true, 200}} {
		if err := sd.Do(ctx, "POST", "/v1/webhooks/"+pID+"/test", map[string]any{}, &result); err != nil {
			t.Fatal(err)
		}
		if result.Succeed != want.succeed || result.Status != want.status {
			t.Errorf("test call: %+v, want %+v", result, want)
		}
		reqs := portable.Requests()
		if b := bodyOf(t, reqs[len(reqs)-1]); b["event"] != "test" || b["flow_id"] == nil || b["connector_id"] != nil {
			t.Errorf("test body %s", reqs[len(reqs)-1].Body)
		}
	}
}

// TestSigningSchemesE2E delivers one event to a webhook per signing scheme
// and checks that each arrives verifiable with the receiver's Verify, and
// not with a wrong secret.
func TestSigningSchemesE2E(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t)
	type scheme struct {
		name    string
		signing delivery.Signing
		secret  string
		header  string            // the header that must carry the signature
		check   func(string) bool // its value's form
	}
	upperHex := regexp.MustCompile(`^[0-9A-F]+$`).MatchString
	lowerHex := regexp.MustCompile(`^[0-9a-f]+$`).MatchString
	b64 := regexp.MustCompile(`^[A-Za-z0-9+/]+=*$`).MatchString
	schemes := []scheme{
		{"fivetran default upper hex", delivery.Signing{}, "s1", delivery.HeaderFivetranSignature, upperHex},
		{"fivetran lower hex", delivery.Signing{Scheme: delivery.SchemeFivetran, LowerHex: true}, "s1", delivery.HeaderFivetranSignature, lowerHex},
		{"token", delivery.Signing{Scheme: delivery.SchemeToken, Header: "X-Api-Token"}, "tok-123", "X-Api-Token", func(v string) bool { return v == "tok-123" }},
		{"standard webhooks", delivery.Signing{Scheme: delivery.SchemeStandard}, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", delivery.HeaderWebhookSignature, func(v string) bool { return strings.HasPrefix(v, "v1,") }},
		{"hmac custom header", delivery.Signing{Scheme: delivery.SchemeHMAC, Header: "X-Signature"}, "s2", "X-Signature", b64},
	}
	for _, alg := range []string{"SHA1", "SHA224", "SHA256", "SHA384", "SHA512", "MD5"} {
		schemes = append(schemes,
			scheme{"hmac " + alg + " base64", delivery.Signing{Scheme: delivery.SchemeHMAC, Algorithm: alg}, "k-" + alg, delivery.HeaderHMACSign, b64},
			scheme{"hmac " + alg + " hex", delivery.Signing{Scheme: delivery.SchemeHMAC, Algorithm: alg, Encoding: "HEX"}, "k-" + alg, delivery.HeaderHMACSign, upperHex},
			scheme{"hmac " + alg + " lower hex", delivery.Signing{Scheme: delivery.SchemeHMAC, Algorithm: alg, Encoding: "HEX", LowerHex: true}, "k-" + alg, delivery.HeaderHMACSign, lowerHex},
		)
	}
	sigHeaders := []string{delivery.HeaderFivetranSignature, delivery.HeaderHMACSign, delivery.HeaderWebhookID, delivery.HeaderWebhookTimestamp, delivery.HeaderWebhookSignature}

	for i, sc := range schemes {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			rcv := testkit.NewReceiver(t, sc.secret)
			rcv.Signing = sc.signing
			group := fmt.Sprintf("sig_%d", i)
			sd.CreateWebhook(testkit.WebhookParams{GroupID: group, URL: rcv.URL, Events: []string{"sync_end"}, Secret: sc.secret, Signing: &sc.signing})
			sd.Emit(testkit.Event{Event: "sync_end", GroupID: group})
			reqs := rcv.AwaitRequests(waitCtx(t), 1)
			r := reqs[0]
			if r.SignatureErr != nil {
				t.Errorf("does not verify: %v", r.SignatureErr)
			}
			if v := r.Header.Get(sc.header); !sc.check(v) {
				t.Errorf("%s: %q", sc.header, v)
			}
			for _, h := range sigHeaders {
				if h != sc.header && r.Header.Get(h) != "" && sc.signing.Scheme != delivery.SchemeStandard {
					t.Errorf("unexpected header %s: %q", h, r.Header.Get(h))
				}
			}
			if err := sc.signing.Verify(sc.secret+"x", r.Header, r.Body, time.Now()); !errors.Is(err, delivery.ErrInvalidSignature) {
				t.Errorf("verifies with a wrong secret: %v", err)
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		t.Parallel()
		rcv := testkit.NewReceiver(t, "")
		none := delivery.Signing{Scheme: delivery.SchemeNone}
		sd.CreateWebhook(testkit.WebhookParams{GroupID: "sig_none", URL: rcv.URL, Events: []string{"sync_end"}, Secret: "unused", Signing: &none})
		sd.Emit(testkit.Event{Event: "sync_end", GroupID: "sig_none"})
		reqs := rcv.AwaitRequests(waitCtx(t), 1)
		for _, h := range sigHeaders {
			if v := reqs[0].Header.Get(h); v != "" {
				t.Errorf("scheme none sent %s: %q", h, v)
			}
		}
		if reqs[0].Header.Get("Content-Type") != "application/json" || !json.Valid(reqs[0].Body) {
			t.Errorf("request %v %s", reqs[0].Header, reqs[0].Body)
		}
	})
}

// TestWebhookHealthE2E: a Fivetran webhook whose receiver fails every
// delivery for 3 emulated days is deactivated, saying why in
// disabled_reason and in the delivery log; a Portable webhook failing as
// long is not (Portable documents no such rule). Re-activating clears the
// reason. At a time scale of 1e6, 3 days take 0.26 s: events are emitted,
// each awaited, until it happens.
func TestWebhookHealthE2E(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{TimeScale: 1e6})
	failing := testkit.NewReceiver(t, "")
	failing.Default = testkit.Response{Status: http.StatusServiceUnavailable}
	alsoFailing := testkit.NewReceiver(t, "")
	alsoFailing.Default = testkit.Response{Status: http.StatusInternalServerError}
	fID := webhookID(t, sd, "/v1/webhooks/account", `{"url":"`+failing.URL+`","events":["sync_start"]}`)
	pID := webhookID(t, sd, "/v1/webhooks/account", `{"url":"`+alsoFailing.URL+`","events":["sync_start"],"profile":"portable"}`)

	type webhookJSON struct {
		Active         bool    `json:"active"`
		DisabledReason *string `json:"disabled_reason"`
	}
	get := func(id string) webhookJSON {
		t.Helper()
		var wh webhookJSON
		if err := sd.Do(context.Background(), "GET", "/v1/webhooks/"+id, nil, &wh); err != nil {
			t.Fatal(err)
		}
		return wh
	}
	ctx := waitCtx(t)
	iterations := 0
	start := time.Now()
	for i := 0; get(fID).Active; i++ {
		if i == 5000 {
			t.Fatal("the webhook was not deactivated")
		}
		iterations = i + 1
		emitted := sd.Emit(testkit.Event{Event: "sync_start"})
		for _, d := range emitted.Deliveries {
			// Past pending: attempted once, or cancelled without an attempt
			// when an earlier delivery's retry deactivated the webhook first.
			sd.AwaitDelivery(ctx, d.ID, testkit.StateRetrying, testkit.StateFailed, testkit.StateSucceeded, testkit.StateCancelled)
		}
	}
	t.Logf("deactivated after %d events in %v", iterations, time.Since(start))
	wh := get(fID)
	if wh.DisabledReason == nil || !strings.Contains(*wh.DisabledReason, "every delivery failed for 3 days (emulated)") ||
		!strings.Contains(*wh.DisabledReason, "receiver answered HTTP 503") {
		t.Fatalf("disabled_reason %v", wh.DisabledReason)
	}
	stored, err := sd.Store().WebhookGetByID(ctx, fID)
	if err != nil {
		t.Fatal(err)
	}
	// Stored times keep microseconds: a microsecond is a second emulated.
	if span := time.Duration(float64(stored.UpdatedAt.Sub(*stored.FailingSince)) * 1e6); span < 72*time.Hour-2*time.Second {
		t.Errorf("deactivated after failing for %v emulated, before 72h", span)
	}
	// The deactivation is recorded on the webhook just before the attempt
	// that caused it, and it cancels the webhook's other open deliveries as
	// their retries come due. Wait until none is open, so that the log below
	// is complete and no retry of an old event fails after the activation
	// further down (starting a new failing run).
	for _, open := range []delivery.DeliveryState{testkit.StatePending, testkit.StateRetrying} {
		for _, d := range sd.ListDeliveries(testkit.DeliveryFilter{WebhookID: fID, State: open, Limit: 1000}).Items {
			sd.AwaitDelivery(ctx, d.ID, testkit.StateFailed, testkit.StateSucceeded, testkit.StateCancelled)
		}
	}
	// The delivery log: the attempt that deactivated the webhook says so,
	// and its delivery is cancelled rather than retried.
	var page struct {
		Items []struct {
			ID        string `json:"id"`
			LastError string `json:"last_error"`
		} `json:"items"`
	}
	if err := sd.Do(ctx, "GET", "/standin/v1/deliveries?status=cancelled&webhook_id="+fID, nil, &page); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range page.Items {
		found = found || strings.Contains(d.LastError, "webhook deactivated by standin: every delivery failed for 3 days")
	}
	if !found {
		t.Errorf("no cancelled delivery says why: %+v", page.Items)
	}
	if p := get(pID); !p.Active || p.DisabledReason != nil {
		t.Errorf("the Portable webhook: %+v", p)
	}

	// A user's activation clears the reason and the failing run.
	wh = webhookJSON{}
	if err := sd.Do(ctx, "PATCH", "/v1/webhooks/"+fID, map[string]any{"active": true}, &wh); err != nil {
		t.Fatal(err)
	}
	if !wh.Active || wh.DisabledReason != nil {
		t.Errorf("after activation: %+v", wh)
	}
	if stored, _ := sd.Store().WebhookGetByID(ctx, fID); stored.FailingSince != nil {
		t.Errorf("failing_since after activation: %v", stored.FailingSince)
	}

	// A success ends a run of failures.
	recovered := testkit.NewReceiver(t, "")
	recovered.Respond(testkit.Response{Status: 500})
	if err := sd.Do(ctx, "PATCH", "/v1/webhooks/"+fID, map[string]any{"url": recovered.URL}, nil); err != nil {
		t.Fatal(err)
	}
	emitted := sd.Emit(testkit.Event{Event: "sync_start"})
	for _, d := range emitted.Deliveries {
		if d.WebhookID == fID {
			if d, _ := sd.AwaitDelivery(ctx, d.ID); d.State != testkit.StateSucceeded {
				t.Fatalf("%+v", d)
			}
		}
	}
	if stored, _ := sd.Store().WebhookGetByID(ctx, fID); stored.FailingSince != nil || !stored.Active {
		t.Errorf("after a success: failing_since %v active %v", stored.FailingSince, stored.Active)
	}
}
