package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/testkit"
)

// TestTriggerFaults: --fault reaches the wire: the duplicate arrives twice
// byte for byte, the bad signature does not verify with the secret, the
// unknown field is there; bad values are usage errors or the API's 400.
func TestTriggerFaults(t *testing.T) {
	t.Parallel()
	st := fast(t)
	rcv := testkit.NewReceiver(t, "s")
	newWebhook(t, st, rcv.URL, "s")

	ok(t, api(st, "trigger", "sync_end", "--fault", "duplicate-count=1", "--fault", "seed=3", "--wait", "--poll-interval", "5ms")...)
	reqs := rcv.AwaitRequests(await(t), 2)
	if !bytes.Equal(reqs[0].Body, reqs[1].Body) || reqs[0].Header.Get(delivery.HeaderFivetranSignature) != reqs[1].Header.Get(delivery.HeaderFivetranSignature) {
		t.Errorf("the duplicate differs:\n%s\n%s", reqs[0].Body, reqs[1].Body)
	}

	r := ok(t, api(st, "trigger", "sync_end", "--fault", "bad-signature", "--fault", "extra-fields", "-o", "json")...)
	var ev struct{ Deliveries []struct{ ID string } }
	decodeJSON(t, r, &ev)
	req := rcv.AwaitRequests(await(t), 3)[2]
	if delivery.VerifyFivetran("s", req.Body, req.Header.Get(delivery.HeaderFivetranSignature)) {
		t.Errorf("the bad signature verifies with the secret")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(req.Body, &fields); err != nil || fields[delivery.UnknownFieldName] == nil {
		t.Errorf("no unknown field in %s", req.Body)
	}
	_, attempts := st.AwaitDelivery(await(t), ev.Deliveries[0].ID, delivery.DeliverySucceeded)
	if attempts[0].Fault != "bad_signature,extra_fields" {
		t.Errorf("attempt fault %q", attempts[0].Fault)
	}

	for _, tc := range []struct {
		flag string
		code int
		msg  string
	}{
		{"wobble", exitUsage, "--fault"},
		{"duplicate=lots", exitUsage, "probability"},
		{"delay", exitUsage, "duration"},
		{"duplicate=3", exitFailure, "faults.duplicate"},
	} {
		if r := cli(t, api(st, "trigger", "sync_end", "--fault", tc.flag)...); r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("--fault %s: want exit %d and %q:\n%s", tc.flag, tc.code, tc.msg, r)
		}
	}
}

// TestSyncFaultsReorder: standin sync --fault reorder delivers the sync's
// sync_end before its sync_start.
func TestSyncFaultsReorder(t *testing.T) {
	t.Parallel()
	st := fast(t)
	rcv := testkit.NewReceiver(t, "s")
	newWebhook(t, st, rcv.URL, "s")
	ok(t, api(st, "sync", "assimilate_seem", "--duration", "0s", "--fault", "reorder")...)
	reqs := rcv.AwaitRequests(await(t), 2)
	var first, second struct{ Event string }
	if json.Unmarshal(reqs[0].Body, &first) != nil || json.Unmarshal(reqs[1].Body, &second) != nil ||
		first.Event != "sync_end" || second.Event != "sync_start" {
		t.Errorf("order: %s then %s", reqs[0].Body, reqs[1].Body)
	}
}
