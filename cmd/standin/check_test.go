package main

import (
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/delivery/check"
)

// checkReceiver starts a receiver that verifies signatures with s and
// secret when verify is true (answering 401 when they do not match) and
// answers 200 otherwise.
func checkReceiver(t *testing.T, s delivery.Signing, secret string, verify bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if verify {
			if err := s.Verify(secret, r.Header, body, time.Now()); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/hook"
}

func TestCheckPasses(t *testing.T) {
	t.Parallel()
	url := checkReceiver(t, delivery.Signing{}, "s", true)
	r := ok(t, "check", url, "--secret", "s")
	for _, want := range []string{
		"standin check " + url,
		"url_check                       PASS",
		"  sync_end                      PASS     200 in ",
		"replay                          SKIPPED  only the Standard Webhooks scheme signs a timestamp",
		"15 probes: 14 pass, 0 warn, 0 fail, 1 skipped in ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r)
		}
	}
	if strings.Contains(r.stdout, "EVIDENCE") {
		t.Errorf("evidence printed for a passing check:\n%s", r)
	}
}

func TestCheckStandardSigningFlag(t *testing.T) {
	t.Parallel()
	const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	url := checkReceiver(t, delivery.Signing{Scheme: delivery.SchemeStandard}, whsec, true)
	dir := t.TempDir()
	file := filepath.Join(dir, "signing.json")
	if err := os.WriteFile(file, []byte(`{"scheme":"standard"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := ok(t, "check", url, "--secret", whsec, "--signing", "@"+file, "--events", "sync_start, sync_end,sync_start", "-o", "json")
	var rep check.Report
	decodeJSON(t, r, &rep)
	if p := rep.Probe(check.ProbeReplay); p == nil || p.Verdict != check.Pass {
		t.Errorf("replay: %+v", p)
	}
	if !slices.Equal(rep.Events, []string{"sync_start", "sync_end"}) || len(rep.Probe(check.ProbeAcceptsValid).Exchanges) != 2 {
		t.Errorf("events %v", rep.Events)
	}
	if rep.Signing.Scheme != delivery.SchemeStandard {
		t.Errorf("signing %+v", rep.Signing)
	}
}

func TestCheckFailsJSONAndJUnit(t *testing.T) {
	t.Parallel()
	// A receiver that never looks at the signature.
	url := checkReceiver(t, delivery.Signing{}, "s", false)
	junit := filepath.Join(t.TempDir(), "check.xml")
	r := cli(t, "check", url, "--secret", "s", "-o", "json", "--junit", junit, "--timeout", "5s")
	if r.code != 3 { // documented: a probe failed
		t.Fatalf("want exit 3, got %s", r)
	}
	if !strings.Contains(r.stderr, "3 of 15 probes failed") {
		t.Errorf("stderr: %s", r.stderr)
	}

	// The JSON report's documented shape.
	var top map[string]json.RawMessage
	decodeJSON(t, r, &top)
	var keys []string
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"events", "probes", "profile", "reachable", "secret_set", "signing", "started_at", "summary", "timeout_ms", "url", "wall_time_ms"}
	if !slices.Equal(keys, want) {
		t.Errorf("report keys %v, want %v", keys, want)
	}
	var rep check.Report
	decodeJSON(t, r, &rep)
	if rep.Summary != (check.Summary{Pass: 11, Fail: 3, Skipped: 1}) || rep.TimeoutMS != 5000 || !rep.Reachable {
		t.Errorf("summary %+v timeout %d reachable %v", rep.Summary, rep.TimeoutMS, rep.Reachable)
	}
	var failed []string
	for _, p := range rep.Probes {
		if p.Verdict == check.Fail {
			failed = append(failed, p.ID)
		}
	}
	if !slices.Equal(failed, []string{check.ProbeRejectsForged, check.ProbeRejectsTampered, check.ProbeRejectsUnsigned}) {
		t.Errorf("failed %v", failed)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(mustRaw(t, rep.Probe(check.ProbeRejectsForged)), &probe); err != nil {
		t.Fatal(err)
	}
	var x map[string]any
	var xs []map[string]any
	_ = json.Unmarshal(probe["exchanges"], &xs)
	x = xs[0]
	for _, k := range []string{"label", "verdict", "request", "status", "latency_ms", "response_excerpt"} {
		if _, ok := x[k]; !ok && k != "response_excerpt" {
			t.Errorf("exchange lacks %q: %v", k, x)
		}
	}
	req, _ := x["request"].(map[string]any)
	for _, k := range []string{"method", "url", "headers", "body", "body_bytes", "body_sha256"} {
		if _, ok := req[k]; !ok {
			t.Errorf("request lacks %q: %v", k, req)
		}
	}

	// JUnit: one test case per probe, the failures marked.
	raw, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suites   []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("junit is not XML: %v\n%s", err, raw)
	}
	if doc.Tests != 15 || doc.Failures != 3 || doc.Skipped != 1 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 15 {
		t.Fatalf("junit counts: %+v", doc)
	}
	for _, c := range doc.Suites[0].Cases {
		isFail := slices.Contains(failed, c.Name)
		if (c.Failure != nil) != isFail {
			t.Errorf("junit case %s: failure %v, want %v", c.Name, c.Failure != nil, isFail)
		}
		if c.Failure != nil && (!strings.Contains(c.Failure.Text, "> POST "+url) || c.Failure.Message == "") {
			t.Errorf("junit failure of %s lacks the evidence: %+v", c.Name, c.Failure)
		}
		if (c.Skipped != nil) != (c.Name == check.ProbeReplay) {
			t.Errorf("junit case %s skipped %v", c.Name, c.Skipped != nil)
		}
	}
}

func mustRaw(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestCheckUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/hook"
	l.Close()
	r := cli(t, "check", url, "--secret", "s")
	if r.code != 4 { // documented: unreachable
		t.Fatalf("want exit 4, got %s", r)
	}
	if !strings.Contains(r.stdout, "could not be reached") || !strings.Contains(r.stderr, "the receiver could not be reached") {
		t.Errorf("output:\n%s", r)
	}
}

func TestCheckLowerHexSigning(t *testing.T) {
	t.Parallel()
	url := checkReceiver(t, delivery.Signing{}, "s", true)
	for _, signing := range []string{`{"lower_hex":true}`, `{"lowerHex":true}`} {
		r := ok(t, "check", url, "--secret", "s", "--signing", signing, "--events", "sync_end", "-o", "json")
		var rep check.Report
		decodeJSON(t, r, &rep)
		sig := rep.Probe(check.ProbeAcceptsValid).Exchanges[0].Request.Headers.Get(delivery.HeaderFivetranSignature)
		if !rep.Signing.LowerHex || sig != strings.ToLower(sig) {
			t.Errorf("--signing %s: signing %+v, signature %s", signing, rep.Signing, sig)
		}
	}
}

// TestCheckTLS: a receiver with a self-signed certificate cannot be reached
// (exit 4) unless its certificate is trusted.
func TestCheckTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !delivery.VerifyFivetran("s", body, r.Header.Get(delivery.HeaderFivetranSignature)) {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, "check", srv.URL, "--secret", "s"); r.code != 4 || !strings.Contains(r.stdout, "x509") {
		t.Errorf("untrusted certificate: want exit 4 and the x509 error, got %s", r)
	}
	ok(t, "check", srv.URL, "--secret", "s", "--ca-file", caFile)
	ok(t, "check", srv.URL, "--secret", "s", "--insecure-skip-verify")
	if r := cli(t, "check", srv.URL, "--ca-file", filepath.Join(t.TempDir(), "nope.pem")); r.code != exitUsage || !strings.Contains(r.stderr, "--ca-file") {
		t.Errorf("missing CA file: %s", r)
	}
}

func TestCheckUsage(t *testing.T) {
	t.Parallel()
	url := checkReceiver(t, delivery.Signing{}, "s", true)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"check"}, "accepts 1 arg"},
		{[]string{"check", "localhost:9000"}, "url"},
		{[]string{"check", url, "--profile", "zapier"}, "profile"},
		{[]string{"check", url, "--signing", `{"scheme":"rot13"}`}, "scheme"},
		{[]string{"check", url, "--signing", `{"schema":"hmac"}`}, "unknown field"},
		{[]string{"check", url, "--signing", `[1]`}, "JSON object"},
		{[]string{"check", url, "--events", "sync_end,sync_paused"}, "sync_paused"},
		{[]string{"check", url, "--profile", "portable", "--events", "dbt_run_failed"}, "dbt_run_failed"},
		{[]string{"check", url, "--timeout", "0s"}, "--timeout"},
		{[]string{"check", url, "-o", "yaml"}, "--output"},
		{[]string{"check", url, "--timeout", "soon"}, "invalid argument"},
	} {
		r := cli(t, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.msg) || r.stdout != "" {
			t.Errorf("standin %s: want exit 2 mentioning %q and no output, got %s", strings.Join(tc.args, " "), tc.msg, r)
		}
	}
}
