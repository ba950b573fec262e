package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/delivery/check"
	"github.com/standin-dev/standin/testkit"
)

// TestCheckThroughAPI: with --api-url the running standin sends the probes
// and stores the report, which GET /standin/v1/checks/{id} reads back; the
// exit codes are those of the in-process check.
func TestCheckThroughAPI(t *testing.T) {
	t.Parallel()
	st := testkit.Start(t)
	good := checkReceiver(t, delivery.Signing{}, "s3cret", true)
	wh := st.CreateWebhook(testkit.WebhookParams{URL: good, Events: []string{"sync_end"}, Secret: "s3cret"})

	r := ok(t, "check", "--api-url", st.URL, "--webhook", wh.ID, "--events", "sync_end", "-o", "json")
	var rep check.Report
	decodeJSON(t, r, &rep)
	if rep.ID == "" || rep.WebhookID != wh.ID || rep.URL != good || !rep.SecretSet || rep.Failed() {
		t.Fatalf("report: id %q webhook %q url %q secret_set %v summary %+v\n%s", rep.ID, rep.WebhookID, rep.URL, rep.SecretSet, rep.Summary, r)
	}
	if p := rep.Probe(check.ProbeRejectsForged); p == nil || p.Verdict != check.Pass {
		t.Fatalf("rejects_forged: %+v", p)
	}
	if !strings.Contains(r.stderr, "report stored as "+rep.ID) {
		t.Errorf("stderr lacks the stored id:\n%s", r)
	}
	got, err := st.Client().GetCheck(t.Context(), rep.ID)
	if err != nil {
		t.Fatalf("GET the stored report: %v", err)
	}
	var stored check.Report
	if err := json.Unmarshal(got.Raw, &stored); err != nil {
		t.Fatal(err)
	}
	if stored.ID != rep.ID || len(stored.Probes) != len(check.Probes) || stored.WallTimeMS != rep.WallTimeMS {
		t.Fatalf("stored report differs: %+v", stored.Summary)
	}

	// An explicit URL whose receiver accepts forgeries: exit 3, the table
	// names the failing probe.
	lax := checkReceiver(t, delivery.Signing{}, "s3cret", false)
	r = cli(t, "check", lax, "--secret", "s3cret", "--events", "sync_end", "--api-url", st.URL)
	if r.code != exitCheckFailed || !strings.Contains(r.stdout, "rejects_forged") || !strings.Contains(r.stdout, "FAIL") {
		t.Fatalf("want exit %d naming rejects_forged:\n%s", exitCheckFailed, r)
	}

	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"check", "--webhook", wh.ID}, "--webhook needs --api-url"},
		{[]string{"check", good, "--webhook", wh.ID, "--api-url", st.URL}, "not both"},
		{[]string{"check", "--webhook", wh.ID, "--secret", "x", "--api-url", st.URL}, "drop --secret"},
		{[]string{"check", good, "--ca-file", "x.pem", "--api-url", st.URL}, "do not apply with --api-url"},
		{[]string{"check", "--api-url", st.URL}, "received 0"},
	} {
		if r := cli(t, tc.args...); r.code != exitUsage || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("standin %s: want exit %d and %q:\n%s", strings.Join(tc.args, " "), exitUsage, tc.msg, r)
		}
	}
	// The API's refusal is exit 1 with its code.
	r = cli(t, "check", "--webhook", "nope_nope", "--api-url", st.URL)
	if r.code != exitFailure || !strings.Contains(r.stderr, "NotFound_Webhook") {
		t.Errorf("unknown webhook: want exit %d and NotFound_Webhook:\n%s", exitFailure, r)
	}
}
