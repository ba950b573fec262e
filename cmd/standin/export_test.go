package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server/export"
	"github.com/standin-dev/standin/testkit"
)

// replayedHeaders are the headers a replay must send exactly as recorded.
var replayedHeaders = []string{"Content-Type", "User-Agent", delivery.HeaderFivetranSignature,
	delivery.HeaderWebhookID, delivery.HeaderWebhookTimestamp, delivery.HeaderWebhookSignature}

// TestExportReplay exports a delivery log (a failed attempt and its retry,
// to a Fivetran-signed and a Standard Webhooks webhook) and replays it
// against a fresh receiver: the same bodies and signatures, byte for byte,
// in the original order. With --secret the requests are signed again and
// verify with the new secret; a refusing receiver makes replay exit 3.
func TestExportReplay(t *testing.T) {
	t.Parallel()
	st := testkit.Start(t, testkit.Config{ManualClock: true})
	orig := answering(t, "s", testkit.Response{Status: http.StatusOK})
	orig.FailFirst(1, http.StatusBadGateway)
	whID := newWebhook(t, st, orig.URL, "s")
	std := &testkit.Receiver{Secret: "whsec_c3RhbmRpbg==", Signing: delivery.Signing{Scheme: delivery.SchemeStandard}}
	std.Start(t)
	newWebhook(t, st, std.URL, "whsec_c3RhbmRpbg==", "--signing-scheme", "standard")
	ok(t, api(st, "trigger", "sync_end", "--status", "FAILURE")...)
	st.Advance(6 * time.Minute)
	if n := len(orig.Requests()); n != 2 {
		t.Fatalf("original receiver got %d requests, want 2 (one retry)", n)
	}

	exp := ok(t, api(st, "export", "--webhook", whID)...)
	var rec export.Record
	if err := json.Unmarshal([]byte(strings.TrimSpace(exp.stdout)), &rec); err != nil {
		t.Fatalf("export is not one JSON line: %v\n%s", err, exp)
	}
	if len(rec.Deliveries) != 1 || rec.Deliveries[0].WebhookID != whID || len(rec.Deliveries[0].Attempts) != 2 {
		t.Fatalf("export of webhook %s: %+v", whID, rec)
	}
	if a := rec.Deliveries[0].Attempts; a[0].Response.Status != http.StatusBadGateway || a[1].Response.Status != http.StatusOK || a[1].EmulatedDelayMS != 360000 {
		t.Errorf("exported attempts: %+v", a)
	}
	file := filepath.Join(t.TempDir(), "log.jsonl")
	all := ok(t, api(st, "export")...)
	if err := os.WriteFile(file, []byte(all.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	recorded := append(orig.Requests(), std.Requests()...)

	fresh := answering(t, "", testkit.Response{Status: http.StatusOK})
	r := ok(t, "replay", file, "--to", fresh.URL, "--as-fast-as-possible")
	if !strings.HasSuffix(r.stdout, "3 requests, 0 refused\n") {
		t.Errorf("replay output:\n%s", r)
	}
	got := fresh.Requests()
	if len(got) != 3 {
		t.Fatalf("fresh receiver got %d requests, want 3", len(got))
	}
	for _, g := range got {
		i := indexOfBody(recorded, g)
		if i < 0 {
			t.Errorf("replayed request %q matches no recorded one", g.Body)
			continue
		}
		for _, h := range replayedHeaders {
			if g.Header.Get(h) != recorded[i].Header.Get(h) {
				t.Errorf("header %s: replayed %q, recorded %q", h, g.Header.Get(h), recorded[i].Header.Get(h))
			}
		}
	}
	// Original order: the first attempts (one per webhook), then the retry.
	if got[2].Header.Get(delivery.HeaderFivetranSignature) == "" || !bytes.Equal(got[2].Body, orig.Requests()[1].Body) {
		t.Errorf("the retry was not replayed last")
	}

	for _, r := range recorded {
		if r.SignatureErr != nil {
			t.Fatalf("recorded request does not verify: %v", r.SignatureErr)
		}
	}

	// Re-signed with another secret, each in its own scheme, which the
	// export names.
	resigned := answering(t, "", testkit.Response{Status: http.StatusOK})
	ok(t, "replay", file, "--to", resigned.URL, "--as-fast-as-possible", "--secret", "new")
	for _, g := range resigned.Requests() {
		var s delivery.Signing
		if g.Header.Get(delivery.HeaderWebhookSignature) != "" {
			s.Scheme = delivery.SchemeStandard
		}
		if err := s.Verify("new", g.Header, g.Body, time.Now()); err != nil {
			t.Errorf("re-signed %s request does not verify with the new secret: %v", s.Scheme, err)
		}
		if i := indexOfBody(recorded, g); i >= 0 {
			t.Errorf("re-signed request carries the old signature")
		}
	}

	// A raw capture, as a receiver logged it, replayed against a receiver
	// that refuses: exit 3, and each answer printed.
	capture := filepath.Join(t.TempDir(), "capture.jsonl")
	line := `{"method":"POST","headers":{"Content-Type":"application/json","X-Fivetran-Signature-256":["AB"]},"body":"{\"event\":\"sync_end\"}"}` + "\n"
	if err := os.WriteFile(capture, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	refusing := answering(t, "", testkit.Response{Status: http.StatusUnauthorized, Body: "bad signature"})
	r = cli(t, "replay", capture, "--to", refusing.URL, "--as-fast-as-possible")
	if r.code != exitUndelivered || !strings.Contains(r.stdout, "line 1: HTTP 401 bad signature\n") {
		t.Errorf("replay to a refusing receiver: %s", r)
	}
	if got := refusing.Requests(); len(got) != 1 || string(got[0].Body) != `{"event":"sync_end"}` || got[0].Header.Get(delivery.HeaderFivetranSignature) != "AB" {
		t.Errorf("raw capture replayed as %+v", got)
	}
}

// indexOfBody returns the index of the request in rs with g's body and
// signature headers, -1 when none.
func indexOfBody(rs []testkit.Request, g testkit.Request) int {
	for i, r := range rs {
		if bytes.Equal(r.Body, g.Body) && r.Header.Get(delivery.HeaderFivetranSignature) == g.Header.Get(delivery.HeaderFivetranSignature) &&
			r.Header.Get(delivery.HeaderWebhookSignature) == g.Header.Get(delivery.HeaderWebhookSignature) {
			return i
		}
	}
	return -1
}

// TestListenCaptureReplay captures what standin sends with standin listen
// --capture and replays the capture: the receiver gets the same body and
// signature.
func TestListenCaptureReplay(t *testing.T) {
	t.Parallel()
	st := fast(t)
	capture := filepath.Join(t.TempDir(), "capture.jsonl")
	bg, url := startListen(t, "--secret", "s", "--capture", capture)
	newWebhook(t, st, url, "s")
	ok(t, api(st, "trigger", "sync_end")...)
	if err := bg.stdout.awaitCount(await(t), "sync_end", 1); err != nil {
		t.Fatal(err)
	}
	if code := bg.stop(t); code != exitOK {
		t.Fatalf("listen exited %d", code)
	}
	raw, err := os.ReadFile(capture)
	if err != nil {
		t.Fatal(err)
	}
	var line export.Request
	if err := json.Unmarshal(bytes.TrimSpace(raw), &line); err != nil {
		t.Fatalf("capture is not one JSON line: %v\n%s", err, raw)
	}
	fresh := answering(t, "s", testkit.Response{Status: http.StatusOK})
	r := ok(t, "replay", capture, "--to", fresh.URL)
	if !strings.Contains(r.stdout, "line 1: HTTP 200") {
		t.Errorf("replay output:\n%s", r)
	}
	got := fresh.Requests()
	if len(got) != 1 || string(got[0].Body) != line.Body || got[0].SignatureErr != nil ||
		got[0].Header.Get(delivery.HeaderFivetranSignature) != line.Header.Get(delivery.HeaderFivetranSignature) {
		t.Fatalf("replayed capture: %+v, captured %+v", got, line)
	}
}

// TestExportTimeline writes the timeline of a retried delivery under the
// manual clock, where the real offsets are the planned ones exactly, as CSV
// and as JSON; bad parameters are refused with 400 InvalidInput.
func TestExportTimeline(t *testing.T) {
	t.Parallel()
	st := testkit.Start(t, testkit.Config{ManualClock: true})
	rcv := answering(t, "s", testkit.Response{Status: http.StatusOK})
	rcv.FailFirst(1, http.StatusServiceUnavailable)
	whID := newWebhook(t, st, rcv.URL, "s")
	ok(t, api(st, "trigger", "sync_end")...)
	st.Advance(time.Hour)

	r := ok(t, api(st, "export", "--timeline", "csv", "--event", "sync_end")...)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || lines[0] != "delivery_id,event,webhook_id,attempt,manual,planned_offset_ms,actual_offset_ms,started_at,status,succeeded,error" {
		t.Fatalf("timeline csv:\n%s", r.stdout)
	}
	for i, want := range []string{",sync_end," + whID + ",1,false,0,0,", ",sync_end," + whID + ",2,false,360000,360000,"} {
		if !strings.Contains(lines[i+1], want) {
			t.Errorf("row %d %q does not contain %q", i+1, lines[i+1], want)
		}
	}
	if !strings.HasSuffix(lines[1], ",503,false,receiver answered HTTP 503") || !strings.HasSuffix(lines[2], ",200,true,") {
		t.Errorf("statuses: %q, %q", lines[1], lines[2])
	}

	r = ok(t, api(st, "export", "--timeline", "json", "--event", "sync_end")...)
	var rows []export.TimelineRow
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 2 || rows[1].ActualOffsetMS != 360000 || rows[1].Status != 200 {
		t.Errorf("timeline json (%v): %+v\n%s", err, rows, r.stdout)
	}

	for _, q := range []string{"?since=yesterday", "?format=xml", "?colour=red"} {
		resp, err := http.Get(st.URL + "/standin/v1/export" + q)
		if err != nil {
			t.Fatal(err)
		}
		var env struct{ Code, Message string }
		err = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusBadRequest || env.Code != "InvalidInput" {
			t.Errorf("GET export%s: HTTP %d %+v (%v)", q, resp.StatusCode, env, err)
		}
	}
}
