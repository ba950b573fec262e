package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/testkit"
)

// attemptFaults reads the fault of each attempt of a delivery from the
// REST delivery log.
func attemptFaults(t *testing.T, sd *testkit.Standin, id string) []string {
	t.Helper()
	var env struct {
		Data struct {
			Attempts []struct {
				Fault *string `json:"fault"`
			} `json:"attempts"`
		} `json:"data"`
	}
	decode(t, mustCall(t, sd, 200, "GET", "/standin/v1/deliveries/"+id, ""), &env)
	var out []string
	for _, a := range env.Data.Attempts {
		if a.Fault == nil {
			out = append(out, "")
			continue
		}
		out = append(out, *a.Fault)
	}
	return out
}

// TestFaultsREST: a webhook's faults (the extension field) and an emit's
// own faults reach the wire and the delivery log: the duplicate arrives
// twice byte for byte, the bad signature does not verify with the secret,
// the unknown field is there under a valid signature, and each attempt
// names the fault that changed it. Faults are off by default.
func TestFaultsREST(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t)
	rcv := testkit.NewReceiver(t, "s3cret")
	whID := webhookID(t, sd, "/v1/webhooks/account",
		`{"url":"`+rcv.URL+`/hook","events":["sync_end"],"secret":"s3cret","faults":{"seed":7,"duplicate_count":1}}`)

	var wh struct {
		Data struct {
			Faults map[string]any `json:"faults"`
		} `json:"data"`
	}
	decode(t, mustCall(t, sd, 200, "GET", "/v1/webhooks/"+whID, ""), &wh)
	require.Equal(t, map[string]any{"seed": float64(7), "duplicate_count": float64(1)}, wh.Data.Faults)

	// The webhook's duplicate: two identical requests.
	ctx := waitCtx(t)
	ev := sd.Emit(testkit.Event{Event: "sync_end"})
	reqs := rcv.AwaitRequests(ctx, 2)
	require.Equal(t, reqs[0].Body, reqs[1].Body, "the duplicate's body, byte for byte")
	require.Equal(t, reqs[0].Header, reqs[1].Header, "the duplicate's headers")
	require.NoError(t, reqs[0].SignatureErr)
	d, _ := sd.AwaitDelivery(ctx, ev.Deliveries[0].ID, delivery.DeliverySucceeded)
	require.Equal(t, []string{"duplicate"}, attemptFaults(t, sd, d.ID))

	// The emit's own faults replace the webhook's: a wrong signature.
	status, body := call(t, sd, "POST", "/standin/v1/events", `{"event":"sync_end","faults":{"bad_signature":1}}`)
	require.Equal(t, 200, status, string(body))
	var emitted struct {
		Data struct {
			Deliveries []struct{ ID string } `json:"deliveries"`
		} `json:"data"`
	}
	decode(t, body, &emitted)
	reqs = rcv.AwaitRequests(ctx, 3)
	bad := reqs[2]
	require.Error(t, bad.SignatureErr, "signed with a wrong secret")
	require.False(t, delivery.VerifyFivetran("s3cret", bad.Body, bad.Header.Get(delivery.HeaderFivetranSignature)))
	require.NotEmpty(t, bad.Header.Get(delivery.HeaderFivetranSignature))
	sd.AwaitDelivery(ctx, emitted.Data.Deliveries[0].ID, delivery.DeliverySucceeded)
	require.Equal(t, []string{"bad_signature"}, attemptFaults(t, sd, emitted.Data.Deliveries[0].ID))

	// An unknown field, validly signed.
	ev = sd.Emit(testkit.Event{Event: "sync_end", Faults: &delivery.Faults{ExtraFields: 1}})
	extra := rcv.AwaitRequests(ctx, 4)[3]
	require.NoError(t, extra.SignatureErr)
	var fields map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(extra.Body, &fields))
	require.Contains(t, fields, delivery.UnknownFieldName)
	_, attempts := sd.AwaitDelivery(ctx, ev.Deliveries[0].ID, delivery.DeliverySucceeded)
	require.Equal(t, "extra_fields", attempts[0].Fault)

	// {} on an emit asks for none, even on a faulty webhook; PATCH {}
	// removes the webhook's.
	ev = sd.Emit(testkit.Event{Event: "sync_end", Faults: &delivery.Faults{}})
	_, attempts = sd.AwaitDelivery(ctx, ev.Deliveries[0].ID, delivery.DeliverySucceeded)
	require.Empty(t, attempts[0].Fault)
	require.Len(t, rcv.AwaitRequests(ctx, 5), 5, "no duplicate")
	got := mustCall(t, sd, 200, "PATCH", "/v1/webhooks/"+whID, `{"faults":{}}`)
	require.NotContains(t, string(got), `"faults"`)

	// Bad faults are refused, and change nothing.
	for _, tc := range []struct{ body, field string }{
		{`{"faults":{"duplicate":1.5}}`, "faults.duplicate"},
		{`{"faults":{"duplicate_count":9}}`, "faults.duplicate_count"},
		{`{"faults":{"delay":"1h"}}`, "faults.delay"},
		{`{"faults":{"bad_signature":-1}}`, "faults.bad_signature"},
	} {
		status, body := call(t, sd, "PATCH", "/v1/webhooks/"+whID, tc.body)
		require.Equal(t, http.StatusBadRequest, status, tc.body)
		require.Contains(t, string(body), tc.field, tc.body)
		status, body = call(t, sd, "POST", "/standin/v1/events", `{"event":"sync_end",`+strings.TrimPrefix(tc.body, "{"))
		require.Equal(t, http.StatusBadRequest, status, tc.body)
		require.Contains(t, string(body), tc.field, tc.body)
	}
	wh.Data.Faults = nil
	decode(t, mustCall(t, sd, 200, "GET", "/v1/webhooks/"+whID, ""), &wh)
	require.Nil(t, wh.Data.Faults, "removed, and not set by refused calls")
	require.Len(t, rcv.Requests(), 5, "refused emits sent nothing")

	// The counts tell faults from genuine failures.
	metrics := mustCall(t, sd, 200, "GET", "/metrics", "")
	for _, line := range []string{`standin_delivery_faults_total{kind="duplicate"} 1`,
		`standin_delivery_faults_total{kind="bad_signature"} 1`, `standin_delivery_faults_total{kind="extra_fields"} 1`,
		`standin_delivery_faults_total{kind="delay"} 0`} {
		require.True(t, bytes.Contains(metrics, []byte(line)), "metrics lack %s:\n%s", line, metrics)
	}
}

// TestFaultsGRPC asks for faults over gRPC: a webhook's and an emit's.
func TestFaultsGRPC(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t)
	rcv := testkit.NewReceiver(t, "s3cret")
	webhooks := standinv1.NewWebhookServiceClient(sd.GRPCConn())
	events := standinv1.NewEventServiceClient(sd.GRPCConn())
	ctx := waitCtx(t)

	wh, err := webhooks.CreateAccountWebhook(ctx, &standinv1.CreateAccountWebhookRequest{Webhook: &standinv1.WebhookSpec{
		Url: rcv.URL + "/hook", Events: []string{"sync_start"}, Secret: "s3cret",
		Faults: &standinv1.Faults{BadSignature: proto.Float64(1)},
	}})
	require.NoError(t, err)
	require.InDelta(t, 1, wh.GetData().GetFaults().GetBadSignature(), 0)

	em, err := events.EmitEvent(ctx, &standinv1.EmitEventRequest{Event: "sync_start"})
	require.NoError(t, err)
	r := rcv.AwaitRequests(ctx, 1)[0]
	require.Error(t, r.SignatureErr)
	_, attempts := sd.AwaitDelivery(ctx, em.GetData().GetDeliveries()[0].GetId(), delivery.DeliverySucceeded)
	require.Equal(t, "bad_signature", attempts[0].Fault)

	em, err = events.EmitEvent(ctx, &standinv1.EmitEventRequest{Event: "sync_start",
		Faults: &standinv1.Faults{DuplicateCount: proto.Int32(2)}})
	require.NoError(t, err)
	reqs := rcv.AwaitRequests(ctx, 4)[1:]
	require.Equal(t, reqs[0].Body, reqs[1].Body)
	require.Equal(t, reqs[0].Body, reqs[2].Body)
	require.NoError(t, reqs[0].SignatureErr, "the emit's faults replace the webhook's")
	_, attempts = sd.AwaitDelivery(ctx, em.GetData().GetDeliveries()[0].GetId(), delivery.DeliverySucceeded)
	require.Equal(t, "duplicate", attempts[0].Fault)

	_, err = events.EmitEvent(ctx, &standinv1.EmitEventRequest{Event: "sync_start",
		Faults: &standinv1.Faults{ExtraFields: proto.Float64(2)}})
	require.Error(t, err)
}

// TestFaultsReorder: a webhook asking for reordering gets a run's sync_end
// before its sync_start, and the held-back sync_start's attempt says so; a
// run's own faults replace the webhook's.
func TestFaultsReorder(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t)
	rcv := testkit.NewReceiver(t, "")
	webhookID(t, sd, "/v1/webhooks/account",
		`{"url":"`+rcv.URL+`/p","events":["sync_start","sync_end"],"profile":"portable","faults":{"reorder":true}}`)
	ctx := waitCtx(t)

	var run struct {
		Data struct {
			Events []struct {
				Event      string                `json:"event"`
				Deliveries []struct{ ID string } `json:"deliveries"`
			} `json:"events"`
		} `json:"data"`
	}
	decode(t, mustCall(t, sd, 200, "POST", "/standin/v1/portable/flows/3120/run", `{"duration":"0s"}`), &run)
	require.Len(t, run.Data.Events, 2)
	reqs := rcv.AwaitRequests(ctx, 2)
	require.Equal(t, []string{"sync_end", "sync_start"}, eventsOf(t, reqs), "sync_end arrives first")
	require.Equal(t, bodyOf(t, reqs[0])["run_attempt_id"], bodyOf(t, reqs[1])["run_attempt_id"], "one run")
	start, end := run.Data.Events[0], run.Data.Events[1]
	require.Equal(t, "sync_start", start.Event)
	_, attempts := sd.AwaitDelivery(ctx, start.Deliveries[0].ID, delivery.DeliverySucceeded)
	require.Equal(t, "reorder", attempts[0].Fault)
	_, attempts = sd.AwaitDelivery(ctx, end.Deliveries[0].ID, delivery.DeliverySucceeded)
	require.Empty(t, attempts[0].Fault)

	// The run's own faults ({}: none) replace the webhook's: in order.
	mustCall(t, sd, 200, "POST", "/standin/v1/portable/flows/3120/run", `{"duration":"1s","faults":{}}`)
	reqs = rcv.AwaitRequests(ctx, 4)[2:]
	require.Equal(t, []string{"sync_start", "sync_end"}, eventsOf(t, reqs))

	status, body := call(t, sd, "POST", "/standin/v1/portable/flows/3120/run", `{"faults":{"duplicate":7}}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, string(body), "faults.duplicate")
}

// TestFaultsPreviousSecret: bad_signature_secret "previous" signs with the
// secret before the webhook's last rotation: it verifies with the old
// secret and not with the current one.
func TestFaultsPreviousSecret(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t)
	rcv := testkit.NewReceiver(t, "new_secret")
	whID := webhookID(t, sd, "/v1/webhooks/account", `{"url":"`+rcv.URL+`/h","events":["sync_end"],"secret":"old_secret"}`)
	mustCall(t, sd, 200, "PATCH", "/v1/webhooks/"+whID, `{"secret":"new_secret","secret_rotation_window":"1h"}`)
	ctx := waitCtx(t)

	sd.Emit(testkit.Event{Event: "sync_end", Faults: &delivery.Faults{BadSignature: 1, BadSignatureSecret: "previous"}})
	r := rcv.AwaitRequests(ctx, 1)[0]
	sig := r.Header.Get(delivery.HeaderFivetranSignature)
	require.True(t, delivery.VerifyFivetran("old_secret", r.Body, sig), "signed with the previous secret")
	require.False(t, delivery.VerifyFivetran("new_secret", r.Body, sig))
	require.Error(t, r.SignatureErr)

	// Without the fault, the same webhook signs with the new secret.
	sd.Emit(testkit.Event{Event: "sync_end"})
	r = rcv.AwaitRequests(ctx, 2)[1]
	require.NoError(t, r.SignatureErr)

	status, body := call(t, sd, "PATCH", "/v1/webhooks/"+whID, `{"faults":{"bad_signature_secret":"older"}}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, string(body), "faults.bad_signature_secret")
}
