package main

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/testkit"
)

func TestListenVerifiesSignatures(t *testing.T) {
	t.Parallel()
	st := fast(t)
	good, goodURL := startListen(t, "--secret", "s3cret", "--print-body")
	bad, badURL := startListen(t, "--secret", "not-the-secret")
	none, noneURL := startListen(t) // no --secret
	newWebhook(t, st, goodURL+"/hook", "s3cret")
	newWebhook(t, st, badURL+"/hook", "s3cret")
	newWebhook(t, st, noneURL+"/hook", "")

	ok(t, api(st, "trigger", "sync_end", "--connector", "assimilate_seem", "--group", "inappropriate_implode", "--sync-id",
		"b4703f73-6315-4e22-8d7a-3bfb18b2fed2", "--status", "FAILURE", "--reason", "disk full")...)

	line := `\d\d:\d\d:\d\d\.\d{3}  POST /hook  sync_end  attempt=1  connector_id=assimilate_seem  sync_id=b4703f73-6315-4e22-8d7a-3bfb18b2fed2  group=inappropriate_implode  status=FAILURE  reason="disk full"  signature=`
	if _, err := good.stdout.awaitMatch(await(t), regexp.MustCompile(line+`valid  → 200\n    \{\n      "event": "sync_end",`)); err != nil {
		t.Error(err)
	}
	if _, err := bad.stdout.awaitMatch(await(t), regexp.MustCompile(line+`invalid \(verify fivetran: X-Fivetran-Signature-256 does not match: invalid signature\)  → 200\n`)); err != nil {
		t.Error(err)
	}
	if _, err := none.stdout.awaitMatch(await(t), regexp.MustCompile(line+`absent  → 200\n`)); err != nil {
		t.Error(err)
	}

	if code := good.stop(t); code != exitOK {
		t.Errorf("listen exit %d after Ctrl-C, want 0", code)
	}
	if !strings.Contains(good.stdout.String(), "Stopped after 1 request.") {
		t.Errorf("listen output:\n%s", good.stdout)
	}
	if strings.Contains(bad.stdout.String(), "signature=valid") {
		t.Errorf("wrong secret reported valid:\n%s", bad.stdout)
	}
}

func TestListenFailFirstMakesStandinRetry(t *testing.T) {
	t.Parallel()
	st := testkit.Start(t, testkit.Config{TimeScale: 1e4, URLCheck: true})
	bg, url := startListen(t, "--secret", "s", "--fail-first", "2")
	// The URL check's test_event is not failed, so creation succeeds.
	newWebhook(t, st, url, "s")
	if _, err := bg.stdout.awaitMatch(await(t), regexp.MustCompile(`test_event  attempt=1 .* signature=valid  → 200 \(URL check: --fail-first does not apply\)\n`)); err != nil {
		t.Fatal(err)
	}
	var ev struct{ Deliveries []struct{ ID string } }
	decodeJSON(t, ok(t, api(st, "trigger", "sync_start", "-o", "json")...), &ev)

	d, attempts := st.AwaitDelivery(await(t), ev.Deliveries[0].ID)
	if d.State != "succeeded" || len(attempts) != 3 || attempts[0].Status != 500 || attempts[1].Status != 500 || attempts[2].Status != 200 {
		t.Fatalf("delivery %s after %d attempts", d.State, len(attempts))
	}
	if err := bg.stdout.awaitCount(await(t), "sync_start  attempt=", 3); err != nil {
		t.Fatal(err)
	}
	out := bg.stdout.String()
	for _, want := range []string{
		`answering 500 to the first 2 attempts of each body, then 200`,
		`POST /  sync_start  attempt=1  connector_id=\S+  sync_id=\S+  group=inappropriate_implode  signature=valid  → 500 \(--fail-first 2\)\n`,
		`POST /  sync_start  attempt=2 .* signature=valid  → 500 \(--fail-first 2\)\n`,
		`POST /  sync_start  attempt=3 .* signature=valid  → 200\n`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output does not match %q:\n%s", want, out)
		}
	}
}

func TestListenForward(t *testing.T) {
	t.Parallel()
	st := fast(t)
	rcv := testkit.NewReceiver(t, "s")
	rcv.Respond(testkit.Response{Status: 503, Body: "busy"})
	bg, url := startListen(t, "--secret", "s", "--forward", rcv.URL+"/fivetran")
	newWebhook(t, st, url+"/ignored", "s")
	var ev struct{ Deliveries []struct{ ID string } }
	decodeJSON(t, ok(t, api(st, "trigger", "sync_end", "-o", "json")...), &ev)

	if d, _ := st.AwaitDelivery(await(t), ev.Deliveries[0].ID); d.State != testkit.StateSucceeded || d.Attempts != 2 {
		t.Fatalf("delivery %+v: want succeeded after 2 attempts", d)
	}
	// Your receiver got the same bytes and headers, at its own path.
	reqs := rcv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("receiver got %d requests", len(reqs))
	}
	for _, r := range reqs {
		if r.Path != "/fivetran" || r.SignatureErr != nil || r.Header.Get("Content-Type") != "application/json" ||
			!bytes.HasPrefix(r.Body, []byte(`{"event":"sync_end",`)) {
			t.Errorf("forwarded %s %s (signature %v) %s", r.Path, r.Header, r.SignatureErr, r.Body)
		}
	}
	if err := bg.stdout.awaitCount(await(t), "forwarded: your receiver answered", 2); err != nil {
		t.Fatal(err)
	}
	out := bg.stdout.String()
	if !strings.Contains(out, `→ 503 (forwarded: your receiver answered 503 "busy")`) || !strings.Contains(out, "attempt=2") ||
		!strings.Contains(out, "→ 200 (forwarded: your receiver answered 200)") {
		t.Errorf("output:\n%s", out)
	}
}

func TestListenStatusAndSchemes(t *testing.T) {
	t.Parallel()
	st := fast(t)
	secret := "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	bg, url := startListen(t, "--secret", secret, "--signing-scheme", "standard", "--status", "204")
	ok(t, api(st, "webhooks", "create", "--url", url, "--events", "sync_start", "--secret", secret, "--signing-scheme", "standard")...)
	ok(t, api(st, "trigger", "sync_start")...)
	if _, err := bg.stdout.awaitMatch(await(t), regexp.MustCompile(`sync_start  attempt=1 .* signature=valid  → 204\n`)); err != nil {
		t.Error(err)
	}
	if !strings.Contains(bg.stdout.String(), "checking standard signatures (Webhook-Signature) against --secret; answering 204") {
		t.Errorf("banner:\n%s", bg.stdout)
	}

	// Anything else that arrives is still printed.
	resp, err := http.Post(url+"/x", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Errorf("status %d", resp.StatusCode)
	}
	if _, err := bg.stdout.awaitMatch(await(t), regexp.MustCompile(`POST /x  \(not JSON\)  attempt=1  signature=absent  → 204`)); err != nil {
		t.Error(err)
	}
}

func TestListenUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--status", "500", "--fail-first", "1"},
		{"--status", "500", "--forward", "http://127.0.0.1:1"},
		{"--forward", "not a url"},
		{"--port", "70000"},
		{"--signing-scheme", "token"}, // token needs --signing-header
		{"--fail-first", "-1"},
		{"extra"},
	} {
		r := cli(t, append([]string{"listen", "--port", "0"}, args...)...)
		if r.code != exitUsage {
			t.Errorf("listen %v: want exit 2, got %s", args, r)
		}
	}
	// A busy port is a runtime error.
	bg, url := startListen(t)
	port := url[strings.LastIndex(url, ":")+1:]
	if r := cli(t, "listen", "--port", port); r.code != exitFailure || !strings.Contains(r.stderr, "listen:") {
		t.Errorf("busy port: %s", r)
	}
	bg.stop(t)
}

func TestSignatureHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    delivery.Signing
		want string
	}{
		{delivery.Signing{}, "X-Fivetran-Signature-256"},
		{delivery.Signing{Scheme: delivery.SchemeHMAC}, "X-Fivetran-Hmac-Sign"},
		{delivery.Signing{Scheme: delivery.SchemeHMAC, Header: "x-sig"}, "X-Sig"},
		{delivery.Signing{Scheme: delivery.SchemeToken, Header: "X-Token"}, "X-Token"},
		{delivery.Signing{Scheme: delivery.SchemeStandard}, "Webhook-Signature"},
		{delivery.Signing{Scheme: delivery.SchemeNone}, ""},
	} {
		if got := signatureHeader(tc.s); got != tc.want {
			t.Errorf("signatureHeader(%+v) = %q, want %q", tc.s, got, tc.want)
		}
	}
}
