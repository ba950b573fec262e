package check_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/delivery/check"
)

const secret = "s3cr3t_for_checks"

// receiver is the skeleton of every test receiver: it reads the body,
// authenticates it with verify (nil: no check), decodes the JSON and calls
// handle, which answers. A panic answers 500, as web frameworks do.
type receiver struct {
	verify func(r *http.Request, body []byte) error
	handle func(w http.ResponseWriter, r *http.Request, p map[string]any)
	// ackFirst answers 200 before verifying (the "wrong way round" bug).
	ackFirst bool
}

func (rc receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			http.Error(w, fmt.Sprintf("internal error: %v", v), http.StatusInternalServerError)
		}
	}()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	if rc.ackFirst {
		w.WriteHeader(http.StatusOK)
		if rc.verify(r, body) != nil {
			return // dropped, but the sender was already told it arrived
		}
	} else if rc.verify != nil {
		if err := rc.verify(r, body); err != nil {
			http.Error(w, "bad signature: "+err.Error(), http.StatusUnauthorized)
			return
		}
	}
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	if rc.ackFirst {
		return
	}
	if rc.handle != nil {
		rc.handle(w, r, p)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// verifyWith is the correct verification: delivery's own, on the exact
// body bytes.
func verifyWith(s delivery.Signing, secret string) func(*http.Request, []byte) error {
	return func(r *http.Request, body []byte) error { return s.Verify(secret, r.Header, body, time.Now()) }
}

var fivetranEvents = func() map[string]bool {
	m := map[string]bool{}
	for _, e := range delivery.Catalog(delivery.ProfileFivetran) {
		m[e] = true
	}
	return m
}()

// run checks h and returns the verdict of every probe that did not pass.
func run(t *testing.T, h http.Handler, cfg check.Config) (*check.Report, map[string]check.Verdict) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg.URL = srv.URL + "/hooks/fivetran"
	if cfg.Secret == "" {
		cfg.Secret = secret
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := check.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("wall time %.1f ms", rep.WallTimeMS)
	if len(rep.Probes) != len(check.Probes) {
		t.Fatalf("report has %d probes, want %d", len(rep.Probes), len(check.Probes))
	}
	got := map[string]check.Verdict{}
	for i, p := range rep.Probes {
		if p.ID != check.Probes[i] {
			t.Fatalf("probe %d is %s, want %s", i, p.ID, check.Probes[i])
		}
		if p.Verdict != check.Pass {
			got[p.ID] = p.Verdict
		}
		if p.Reason == "" {
			t.Errorf("probe %s has no reason", p.ID)
		}
	}
	return rep, got
}

func TestReceivers(t *testing.T) {
	t.Parallel()
	fivetran := delivery.Signing{Scheme: delivery.SchemeFivetran}
	std := delivery.Signing{Scheme: delivery.SchemeStandard}
	const whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	replaySkipped := map[string]check.Verdict{check.ProbeReplay: check.Skipped}
	with := func(extra map[string]check.Verdict) map[string]check.Verdict {
		m := maps.Clone(replaySkipped)
		maps.Copy(m, extra)
		return m
	}

	tests := []struct {
		name    string
		h       http.Handler
		cfg     check.Config
		failing map[string]check.Verdict // every probe that does not pass
	}{
		{
			name:    "correct",
			h:       receiver{verify: verifyWith(fivetran, secret)},
			failing: replaySkipped,
		},
		{
			name: "correct standard webhooks",
			h:    receiver{verify: verifyWith(std, whsec)},
			cfg:  check.Config{Signing: std, Secret: whsec},
			failing: map[string]check.Verdict{
				check.ProbeHexCase: check.Skipped, // base64 signatures
			},
		},
		{
			name: "correct portable",
			h:    receiver{verify: verifyWith(fivetran, secret)},
			// Portable signs only when the webhook's signing names a scheme.
			cfg: check.Config{Profile: delivery.ProfilePortable, Signing: fivetran},
			failing: with(map[string]check.Verdict{
				check.ProbeURLCheck: check.Skipped, // Portable has none
			}),
		},
		{
			// Verifies after it has answered 200: the check's answer comes
			// before the signature is compared.
			name: "acknowledges before verifying",
			h:    receiver{verify: verifyWith(fivetran, secret), ackFirst: true},
			failing: with(map[string]check.Verdict{
				check.ProbeRejectsForged:   check.Fail,
				check.ProbeRejectsTampered: check.Fail,
				check.ProbeRejectsUnsigned: check.Fail,
			}),
		},
		{
			// Decodes the body to text and encodes it as Latin-1 before
			// hashing, as `body.decode().encode("latin-1")` does.
			name: "re-encodes the body before hashing",
			h: receiver{verify: func(r *http.Request, body []byte) error {
				latin1 := make([]byte, 0, len(body))
				for _, c := range string(body) {
					if c > 0xFF {
						panic(fmt.Sprintf("'latin-1' codec can't encode character %U", c))
					}
					latin1 = append(latin1, byte(c))
				}
				return verifyWith(fivetran, secret)(r, latin1)
			}},
			failing: with(map[string]check.Verdict{check.ProbeNonASCII: check.Fail}),
		},
		{
			// Compares its own upper-case hex with the header as strings.
			name: "compares hex case-sensitively",
			h: receiver{verify: func(r *http.Request, body []byte) error {
				m := hmac.New(sha256.New, []byte(secret))
				m.Write(body)
				if r.Header.Get(delivery.HeaderFivetranSignature) != fmt.Sprintf("%X", m.Sum(nil)) {
					return fmt.Errorf("mismatch")
				}
				return nil
			}},
			failing: with(map[string]check.Verdict{check.ProbeHexCase: check.Warn}),
		},
		{
			name: "answers test_event with an error",
			h: receiver{verify: verifyWith(fivetran, secret), handle: func(w http.ResponseWriter, r *http.Request, p map[string]any) {
				if p["event"] == delivery.EventTestEvent {
					http.Error(w, "not a sync event", http.StatusBadRequest)
					return
				}
				w.WriteHeader(http.StatusOK)
			}},
			failing: with(map[string]check.Verdict{check.ProbeURLCheck: check.Fail}),
		},
		{
			name: "crashes on sync_start without data",
			h: receiver{verify: verifyWith(fivetran, secret), handle: func(w http.ResponseWriter, r *http.Request, p map[string]any) {
				if p["event"] == delivery.EventSyncStart {
					_ = p["data"].(map[string]any)["status"]
				}
				w.WriteHeader(http.StatusOK)
			}},
			failing: with(map[string]check.Verdict{
				check.ProbeAcceptsValid:    check.Fail, // sync_start never has data
				check.ProbeMinimalPayloads: check.Fail,
				check.ProbeOutOfOrder:      check.Fail,
			}),
		},
		{
			name: "crashes on the test payload without sync_id",
			h: receiver{verify: verifyWith(fivetran, secret), handle: func(w http.ResponseWriter, r *http.Request, p map[string]any) {
				if p["event"] == delivery.EventSyncEnd {
					_ = strings.ToLower(p["sync_id"].(string))
				}
				w.WriteHeader(http.StatusOK)
			}},
			failing: with(map[string]check.Verdict{check.ProbeMinimalPayloads: check.Fail}),
		},
		{
			name: "500 on an unknown event",
			h: receiver{verify: verifyWith(fivetran, secret), handle: func(w http.ResponseWriter, r *http.Request, p map[string]any) {
				e, _ := p["event"].(string)
				if !fivetranEvents[e] && e != delivery.EventTestEvent {
					http.Error(w, "unknown event "+e, http.StatusInternalServerError)
					return
				}
				w.WriteHeader(http.StatusOK)
			}},
			failing: with(map[string]check.Verdict{check.ProbeUnknownEvent: check.Fail}),
		},
		{
			name: "400 on an unknown event",
			h: receiver{verify: verifyWith(fivetran, secret), handle: func(w http.ResponseWriter, r *http.Request, p map[string]any) {
				e, _ := p["event"].(string)
				if !fivetranEvents[e] && e != delivery.EventTestEvent {
					http.Error(w, "unknown event "+e, http.StatusBadRequest)
					return
				}
				w.WriteHeader(http.StatusOK)
			}},
			failing: with(map[string]check.Verdict{check.ProbeUnknownEvent: check.Warn}),
		},
		{
			// Runs the downstream refresh before answering dbt_run_succeeded;
			// it answers only when the sender has given up.
			name: "slower than the timeout",
			h: receiver{verify: verifyWith(fivetran, secret), handle: func(w http.ResponseWriter, r *http.Request, p map[string]any) {
				if p["event"] == delivery.EventDbtRunSucceeded {
					<-r.Context().Done()
				}
				w.WriteHeader(http.StatusOK)
			}},
			cfg: check.Config{Timeout: time.Second},
			failing: with(map[string]check.Verdict{
				check.ProbeAcceptsValid: check.Fail,
				check.ProbeLatency:      check.Fail,
			}),
		},
		{
			name: "standard webhooks without a timestamp check",
			h: receiver{verify: func(r *http.Request, body []byte) error {
				// Verifies the signature with a 10-year tolerance.
				return delivery.VerifyStandard(whsec, r.Header, body, time.Now(), 10*365*24*time.Hour)
			}},
			cfg: check.Config{Signing: std, Secret: whsec},
			failing: map[string]check.Verdict{
				check.ProbeHexCase: check.Skipped,
				check.ProbeReplay:  check.Fail,
			},
		},
		{
			name: "portable receiver answering 204",
			h: receiver{verify: verifyWith(fivetran, secret), handle: func(w http.ResponseWriter, _ *http.Request, _ map[string]any) {
				w.WriteHeader(http.StatusNoContent)
			}},
			cfg: check.Config{Profile: delivery.ProfilePortable, Signing: fivetran, Events: []string{delivery.EventSyncEnd}},
			failing: with(map[string]check.Verdict{
				check.ProbeURLCheck:        check.Skipped,
				check.ProbeAcceptsValid:    check.Fail,
				check.ProbeHexCase:         check.Fail,
				check.ProbeMinimalPayloads: check.Fail,
				check.ProbeUnknownEvent:    check.Fail, // 2xx but not 200, not a 4xx
				check.ProbeUnknownFields:   check.Fail,
				check.ProbeNonASCII:        check.Fail,
				check.ProbeLargePayload:    check.Fail,
				check.ProbeDuplicate:       check.Fail,
				check.ProbeOutOfOrder:      check.Fail,
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.h
			rep, got := run(t, h, tt.cfg)
			if !maps.Equal(got, tt.failing) {
				t.Errorf("probes not passing:\n got %v\nwant %v\n%s", got, tt.failing, rep)
			}
			if want := len(tt.failing) > 0 && slices.Contains(slices.Collect(maps.Values(tt.failing)), check.Fail); rep.Failed() != want {
				t.Errorf("Failed() = %v, want %v", rep.Failed(), want)
			}
			if !rep.Reachable {
				t.Errorf("Reachable = false")
			}
		})
	}
}

// TestEvidence checks that the report shows the exact requests sent.
func TestEvidence(t *testing.T) {
	t.Parallel()
	var seen = make(chan []byte, 64)
	h := receiver{verify: verifyWith(delivery.Signing{}, secret), ackFirst: true}
	rec := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen <- body
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		h.ServeHTTP(w, r)
	})
	rep, _ := run(t, rec, check.Config{})
	close(seen)
	sent := map[string]bool{}
	for b := range seen {
		sent[string(b)] = true
	}

	av := rep.Probe(check.ProbeAcceptsValid)
	var labels []string
	for _, x := range av.Exchanges {
		labels = append(labels, x.Label)
	}
	if want := delivery.Catalog(delivery.ProfileFivetran); !slices.Equal(labels, want) {
		t.Errorf("accepts_valid lists %v, want the catalog %v", labels, want)
	}
	for _, p := range rep.Probes {
		for _, x := range p.Exchanges {
			if p.ID == check.ProbeLatency {
				continue
			}
			if x.Request.Method != http.MethodPost || !strings.HasSuffix(x.Request.URL, "/hooks/fivetran") {
				t.Errorf("%s/%s: request %s %s", p.ID, x.Label, x.Request.Method, x.Request.URL)
			}
			if !x.Request.BodyTruncated && !sent[x.Request.Body] {
				t.Errorf("%s/%s: the body in the report was not received: %s", p.ID, x.Label, x.Request.Body)
			}
			if x.Status != http.StatusOK || x.LatencyMS <= 0 {
				t.Errorf("%s/%s: status %d latency %v", p.ID, x.Label, x.Status, x.LatencyMS)
			}
		}
	}

	// The forged request carries a signature that does not verify with the
	// secret; the unsigned one none.
	forged := rep.Probe(check.ProbeRejectsForged).Exchanges[0]
	sig := forged.Request.Headers.Get(delivery.HeaderFivetranSignature)
	if sig == "" || delivery.VerifyFivetran(secret, []byte(forged.Request.Body), sig) {
		t.Errorf("forged request signature %q verifies or is missing", sig)
	}
	if h := rep.Probe(check.ProbeRejectsUnsigned).Exchanges[0].Request.Headers; h.Get(delivery.HeaderFivetranSignature) != "" {
		t.Errorf("unsigned request has a signature: %v", h)
	}
	if ct := forged.Request.Headers.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}

	// The large payload is about 256 KiB, cut in the report.
	lp := rep.Probe(check.ProbeLargePayload).Exchanges[0].Request
	if lp.BodyBytes < 250<<10 || lp.BodyBytes > 270<<10 || !lp.BodyTruncated || len(lp.Body) != check.MaxEvidenceBody {
		t.Errorf("large payload: %d bytes, truncated %v, kept %d", lp.BodyBytes, lp.BodyTruncated, len(lp.Body))
	}
	if !strings.HasPrefix(lp.Body, `{"event":"dbt_run_failed"`) {
		t.Errorf("large payload starts %.60s", lp.Body)
	}

	// non_ascii is raw UTF-8, not \u escapes.
	na := rep.Probe(check.ProbeNonASCII).Exchanges[0].Request.Body
	if !strings.Contains(na, "🚨") || !strings.Contains(na, "同期") || !utf8.ValidString(na) {
		t.Errorf("non_ascii body: %s", na)
	}

	// duplicate sends the same bytes and headers twice.
	d := rep.Probe(check.ProbeDuplicate).Exchanges
	if d[0].Request.Body != d[1].Request.Body || d[0].Request.Headers.Get(delivery.HeaderFivetranSignature) != d[1].Request.Headers.Get(delivery.HeaderFivetranSignature) {
		t.Errorf("duplicate differs: %+v / %+v", d[0].Request, d[1].Request)
	}
	// The failing probes' evidence is in the text report.
	text := rep.String()
	for _, want := range []string{"rejects_forged: FAIL", "> X-Fivetran-Signature-256: " + sig, "< 200 in "} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %q:\n%s", want, text)
		}
	}
}

func TestTokenRedacted(t *testing.T) {
	t.Parallel()
	tok := delivery.Signing{Scheme: delivery.SchemeToken, Header: "X-Token"}
	rep, got := run(t, receiver{verify: verifyWith(tok, secret)}, check.Config{Signing: tok})
	want := map[string]check.Verdict{
		check.ProbeRejectsTampered: check.Skipped,
		check.ProbeHexCase:         check.Skipped,
		check.ProbeReplay:          check.Skipped,
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v\n%s", got, want, rep)
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret) {
		t.Errorf("the secret appears in the JSON report")
	}
	if v := rep.Probe(check.ProbeAcceptsValid).Exchanges[0].Request.Headers.Get("X-Token"); v != delivery.Redacted {
		t.Errorf("token header reads %q, want %q", v, delivery.Redacted)
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/"
	l.Close()
	rep, err := check.Run(context.Background(), check.Config{URL: url, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reachable || !rep.Failed() {
		t.Fatalf("Reachable %v Failed %v\n%s", rep.Reachable, rep.Failed(), rep)
	}
	if p := rep.Probe(check.ProbeURLCheck); p.Verdict != check.Fail || !strings.Contains(p.Reason, "no answer") {
		t.Errorf("url_check: %s %s", p.Verdict, p.Reason)
	}
	if !strings.Contains(rep.String(), "could not be reached") {
		t.Errorf("text report does not say unreachable:\n%s", rep)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []check.Config{
		{URL: "ftp://x"},
		{URL: "127.0.0.1:9000"},
		{URL: "http://127.0.0.1:1", Profile: "zapier"},
		{URL: "http://127.0.0.1:1", Events: []string{"sync_end", "nope"}},
		{URL: "http://127.0.0.1:1", Profile: delivery.ProfilePortable, Events: []string{"dbt_run_failed"}},
		{URL: "http://127.0.0.1:1", Signing: delivery.Signing{Scheme: "rot13"}},
		{URL: "http://127.0.0.1:1", Signing: delivery.Signing{Scheme: delivery.SchemeToken, Header: "X-T"}, Secret: "a\nb"},
	} {
		if _, err := check.Run(context.Background(), c); err == nil || !strings.Contains(err.Error(), check.ErrInvalidConfig.Error()) {
			t.Errorf("%+v: err %v, want ErrInvalidConfig", c, err)
		}
	}
}
