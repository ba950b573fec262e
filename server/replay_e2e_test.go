package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/standin-dev/standin/delivery"
	standinv1 "github.com/standin-dev/standin/proto/standin/v1"
	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/testkit"
)

// sentSet counts requests by signature and body, the multiset a replay
// must reproduce (concurrent first attempts reach a receiver in either
// order).
func sentSet(reqs []testkit.Request) map[string]int {
	m := map[string]int{}
	for _, r := range reqs {
		m[r.Header.Get(delivery.HeaderFivetranSignature)+" "+string(r.Body)]++
	}
	return m
}

// sameSent fails the test unless got holds exactly the requests of want,
// byte for byte, signatures included, each verifying with got's secret.
func sameSent(t *testing.T, what string, want, got []testkit.Request) {
	t.Helper()
	w, g := sentSet(want), sentSet(got)
	if len(got) != len(want) || len(w) != len(g) {
		t.Errorf("%s: the receiver got %d requests, want %d", what, len(got), len(want))
	}
	for k, n := range w {
		if g[k] != n {
			t.Errorf("%s: request %q received %d times, want %d", what, k, g[k], n)
		}
	}
	for i, r := range got {
		if r.SignatureErr != nil {
			t.Errorf("%s: request %d: %v", what, i, r.SignatureErr)
		}
	}
}

// TestReplayRESTAndGRPC replays a recorded log over REST (POST
// /standin/v1/replay, inline and from the log) and gRPC
// (ExportService.Replay) against fresh receivers: the recorded bodies and
// signatures byte for byte, a re-signed replay verifying with the new
// secret, and bad input a 400 InvalidInput that sends nothing.
func TestReplayRESTAndGRPC(t *testing.T) {
	t.Parallel()
	sd := testkit.Start(t, testkit.Config{ManualClock: true})
	orig := testkit.NewReceiver(t, "old")
	orig.FailFirst(1, http.StatusServiceUnavailable)
	sd.CreateWebhook(testkit.WebhookParams{URL: orig.URL, Events: []string{"sync_start", "sync_end"}, Secret: "old"})
	sd.Emit(testkit.Event{Event: "sync_start"})
	sd.Emit(testkit.Event{Event: "sync_end", Status: "FAILURE"})
	sd.Advance(time.Hour)
	want := orig.Requests()
	if len(want) != 3 {
		t.Fatalf("the receiver got %d requests, want 3 (one refused, its retry, the other event)", len(want))
	}
	var exp bytes.Buffer
	sd.Export(&exp, testkit.ExportFilter{})

	type result struct {
		Code string `json:"code"`
		Data struct {
			Requests []struct {
				Label      string  `json:"label"`
				Event      string  `json:"event"`
				DeliveryID string  `json:"delivery_id"`
				Attempt    int     `json:"attempt"`
				Status     int     `json:"status"`
				LatencyMs  float64 `json:"latency_ms"`
				Refused    bool    `json:"refused"`
			} `json:"requests"`
			Sent    int `json:"sent"`
			Refused int `json:"refused"`
		} `json:"data"`
	}
	body := func(v map[string]any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// REST, inline export, recorded signatures; the receiver refuses one.
	inline := testkit.NewReceiver(t, "old")
	inline.FailFirst(1, http.StatusTeapot)
	var res result
	if err := json.Unmarshal(mustCall(t, sd, http.StatusOK, http.MethodPost, "/standin/v1/replay",
		body(map[string]any{"to": inline.URL, "export": exp.String()})), &res); err != nil {
		t.Fatal(err)
	}
	sameSent(t, "REST inline", want, inline.Requests())
	if res.Code != "Success" || res.Data.Sent != 3 || res.Data.Refused != 1 || len(res.Data.Requests) != 3 ||
		res.Data.Requests[0].Status != http.StatusTeapot || !res.Data.Requests[0].Refused || res.Data.Requests[1].Status != http.StatusOK {
		t.Errorf("REST inline result: %+v", res)
	}
	for _, r := range res.Data.Requests {
		if r.Event == "" || r.DeliveryID == "" || r.Attempt < 1 || r.LatencyMs <= 0 {
			t.Errorf("REST inline result: %+v", r)
		}
	}

	// REST, from the log, filtered, re-signed with a new secret.
	var ends []testkit.Request
	for _, r := range want {
		if strings.Contains(string(r.Body), `"event":"sync_end"`) {
			ends = append(ends, r)
		}
	}
	rotated := testkit.NewReceiver(t, "new")
	res = result{}
	if err := json.Unmarshal(mustCall(t, sd, http.StatusOK, http.MethodPost, "/standin/v1/replay",
		body(map[string]any{"to": rotated.URL, "event": "sync_end", "secret": "new"})), &res); err != nil {
		t.Fatal(err)
	}
	got := rotated.Requests()
	if len(got) != len(ends) || res.Data.Sent != len(ends) || res.Data.Refused != 0 {
		t.Fatalf("REST from the log: received %d, result %+v; want %d sync_end requests", len(got), res, len(ends))
	}
	for i, r := range got {
		if r.SignatureErr != nil || !bytes.Equal(r.Body, ends[0].Body) {
			t.Errorf("re-signed request %d: %q, signature %v", i, r.Body, r.SignatureErr)
		}
		if r.Header.Get(delivery.HeaderFivetranSignature) == ends[0].Header.Get(delivery.HeaderFivetranSignature) {
			t.Errorf("re-signed request %d kept the old signature", i)
		}
	}

	// gRPC, inline export.
	viaGRPC := testkit.NewReceiver(t, "old")
	resp, err := standinv1.NewExportServiceClient(sd.GRPCConn()).Replay(context.Background(),
		&standinv1.ReplayRequest{To: viaGRPC.URL, Export: exp.String()})
	if err != nil {
		t.Fatal(err)
	}
	sameSent(t, "gRPC", want, viaGRPC.Requests())
	if d := resp.GetData(); d.GetSent() != 3 || d.GetRefused() != 0 || len(d.GetRequests()) != 3 || d.GetRequests()[2].GetStatus() != http.StatusOK {
		t.Errorf("gRPC result: %v", d)
	}

	// A receiver that does not answer: every request refused, with the
	// transport error; still a Success.
	resp, err = standinv1.NewExportServiceClient(sd.GRPCConn()).Replay(context.Background(),
		&standinv1.ReplayRequest{To: downURL(t), Export: exp.String()})
	if err != nil {
		t.Fatal(err)
	}
	if d := resp.GetData(); d.GetSent() != 3 || d.GetRefused() != 3 || d.GetRequests()[0].GetStatus() != 0 || d.GetRequests()[0].GetError() == "" {
		t.Errorf("gRPC replay to a receiver that is down: %v", d)
	}

	// Bad input: 400 InvalidInput (InvalidArgument over gRPC), nothing sent.
	idle := testkit.NewReceiver(t, "")
	empty := ""
	for _, bad := range []map[string]any{
		{"export": exp.String()},
		{"to": "ftp://127.0.0.1/x", "export": exp.String()},
		{"to": idle.URL, "export": "not json"},
		{"to": idle.URL, "export": exp.String(), "event": "sync_end"},
		{"to": idle.URL, "since": "yesterday"},
		{"to": idle.URL, "export": exp.String(), "secret": empty},
		{"to": idle.URL, "export": `{"method":"POST","body":"{}"}` + "\n" + `{"method":"GET","body":""}`},
		{"to": idle.URL, "export": `{"method":"POST","body":"{}"}`, "secret": "s"},
		{"to": idle.URL, "export": exp.String(), "surprise": true},
	} {
		status, b := call(t, sd, http.MethodPost, "/standin/v1/replay", body(bad))
		var env struct{ Code, Message string }
		if err := json.Unmarshal(b, &env); err != nil || status != http.StatusBadRequest || env.Code != "InvalidInput" || env.Message == "" {
			t.Errorf("replay %v: HTTP %d %s, want 400 InvalidInput", bad, status, b)
		}
	}
	_, err = standinv1.NewExportServiceClient(sd.GRPCConn()).Replay(context.Background(),
		&standinv1.ReplayRequest{To: idle.URL, Export: "{"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("gRPC replay of a broken export: %v, want InvalidArgument", err)
	}
	if n := len(idle.Requests()); n != 0 {
		t.Errorf("bad replays sent %d requests", n)
	}
}

// TestReplayBounds: a replay of more requests than the bound, or of a
// delivery log selection larger than its byte bound, is a 400 that names
// the way out, and sends nothing. (Not parallel: it lowers the bounds.)
func TestReplayBounds(t *testing.T) {
	defer server.SetReplayLimits(2, 512)()
	sd := testkit.Start(t, testkit.Config{ManualClock: true})
	orig := testkit.NewReceiver(t, "")
	sd.CreateWebhook(testkit.WebhookParams{URL: orig.URL, Events: []string{"sync_start", "sync_end"}})
	sd.Emit(testkit.Event{Event: "sync_start"})
	sd.Emit(testkit.Event{Event: "sync_end"})
	sd.Emit(testkit.Event{Event: "sync_end"})
	sd.Advance(time.Minute)
	if n := len(orig.Requests()); n != 3 {
		t.Fatalf("the receiver got %d requests, want 3", n)
	}
	var exp bytes.Buffer
	sd.Export(&exp, testkit.ExportFilter{})

	idle := testkit.NewReceiver(t, "")
	for _, tc := range []struct {
		req  map[string]any
		want string
	}{
		{map[string]any{"to": idle.URL, "export": exp.String()}, "more than 2"},
		{map[string]any{"to": idle.URL, "event": "sync_end"}, "larger than 512 bytes"},
	} {
		b, _ := json.Marshal(tc.req)
		status, got := call(t, sd, http.MethodPost, "/standin/v1/replay", string(b))
		var env struct{ Code, Message string }
		if err := json.Unmarshal(got, &env); err != nil || status != http.StatusBadRequest || env.Code != "InvalidInput" || !strings.Contains(env.Message, tc.want) {
			t.Errorf("replay %v: HTTP %d %s, want 400 InvalidInput saying %q", tc.req["event"], status, got, tc.want)
		}
	}
	if n := len(idle.Requests()); n != 0 {
		t.Errorf("refused replays sent %d requests", n)
	}
}
