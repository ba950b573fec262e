package check

import (
	"net/http"
	"time"

	"github.com/standin-dev/standin/delivery"
)

// Verdict is the outcome of a probe, or of one exchange within a probe.
type Verdict string

// Verdicts, from best to worst for a receiver's author: only Fail makes a
// check fail.
const (
	// Pass: the receiver did what the real sender needs.
	Pass Verdict = "pass"
	// Warn: the receiver works today but is fragile (it accepts only one
	// hex case, answers 4xx to what it should ignore, answers slowly).
	Warn Verdict = "warn"
	// Fail: the receiver would lose or refuse deliveries, or accept forged
	// ones.
	Fail Verdict = "fail"
	// Skipped: the probe does not apply to this profile or signing scheme;
	// Reason says why.
	Skipped Verdict = "skipped"
)

// Probe ids, stable: scripts, CI and the JSON report key on them. Probes
// appears in the report in this order.
const (
	ProbeURLCheck        = "url_check"
	ProbeAcceptsValid    = "accepts_valid"
	ProbeRejectsForged   = "rejects_forged"
	ProbeRejectsTampered = "rejects_tampered"
	ProbeRejectsUnsigned = "rejects_unsigned"
	ProbeHexCase         = "hex_case"
	ProbeMinimalPayloads = "minimal_payloads"
	ProbeUnknownEvent    = "unknown_event"
	ProbeUnknownFields   = "unknown_fields"
	ProbeNonASCII        = "non_ascii"
	ProbeLargePayload    = "large_payload"
	ProbeDuplicate       = "duplicate"
	ProbeOutOfOrder      = "out_of_order"
	ProbeLatency         = "latency"
	ProbeReplay          = "replay"
)

// Probes lists every probe id in report order.
var Probes = []string{
	ProbeURLCheck, ProbeAcceptsValid, ProbeRejectsForged, ProbeRejectsTampered,
	ProbeRejectsUnsigned, ProbeHexCase, ProbeMinimalPayloads, ProbeUnknownEvent,
	ProbeUnknownFields, ProbeNonASCII, ProbeLargePayload, ProbeDuplicate,
	ProbeOutOfOrder, ProbeLatency, ProbeReplay,
}

// Report is the result of one check. Its JSON form (snake_case keys, every
// field always present unless marked omitempty) is what `standin check -o
// json` prints and what the checks API returns; it is stable: fields may be
// added, none renamed or removed. The webhook secret never appears in it
// (a token scheme's header reads delivery.Redacted).
type Report struct {
	// ID is the stored report's id when the check ran through the API
	// (GET /standin/v1/checks/{id}); empty otherwise.
	ID string `json:"id,omitempty"`
	// WebhookID is the webhook checked through the API; empty otherwise.
	WebhookID string `json:"webhook_id,omitempty"`
	// URL is the receiver checked.
	URL string `json:"url"`
	// Profile is the sender profile emulated.
	Profile delivery.Profile `json:"profile"`
	// Signing is the signing configuration used (the zero value is
	// Fivetran's X-Fivetran-Signature-256).
	Signing delivery.Signing `json:"signing"`
	// SecretSet reports whether a secret was given: without one nothing is
	// signed and the signature probes are skipped.
	SecretSet bool `json:"secret_set"`
	// Events are the catalog events accepts_valid sent.
	Events []string `json:"events"`
	// TimeoutMS is the per-request timeout, in milliseconds.
	TimeoutMS int64 `json:"timeout_ms"`
	// StartedAt is when the check began (UTC).
	StartedAt time.Time `json:"started_at"`
	// WallTimeMS is how long the whole check took, in milliseconds.
	WallTimeMS float64 `json:"wall_time_ms"`
	// Reachable is false when no request got an HTTP answer (nor timed
	// out): the receiver could not be reached at all, and every probe that
	// sends failed for that reason.
	Reachable bool `json:"reachable"`
	// Summary counts the probes by verdict.
	Summary Summary `json:"summary"`
	// Probes holds one result per probe id, in the order of Probes.
	Probes []ProbeResult `json:"probes"`
}

// Summary counts probes by verdict.
type Summary struct {
	Pass    int `json:"pass"`
	Warn    int `json:"warn"`
	Fail    int `json:"fail"`
	Skipped int `json:"skipped"`
}

// ProbeResult is the verdict of one probe and its evidence.
type ProbeResult struct {
	// ID is one of the Probe* constants.
	ID string `json:"id"`
	// Sends says what the probe sends.
	Sends string `json:"sends"`
	// Verdict is the probe's outcome.
	Verdict Verdict `json:"verdict"`
	// Reason explains the verdict in one sentence.
	Reason string `json:"reason"`
	// Exchanges are the requests the probe sent and what came back, in the
	// order sent; empty for skipped probes and for latency, which judges
	// the other probes' exchanges.
	Exchanges []Exchange `json:"exchanges"`
}

// Exchange is one request a probe sent and the receiver's answer: the
// evidence behind a verdict.
type Exchange struct {
	// Label names the exchange within its probe: the event name for
	// accepts_valid, "upper-case hex" for hex_case, "first" and "second"
	// for duplicate…
	Label string `json:"label"`
	// Verdict is this exchange's own outcome against what the probe
	// expects of it.
	Verdict Verdict `json:"verdict"`
	// Request is exactly what was sent.
	Request SentRequest `json:"request"`
	// Status is the receiver's HTTP status; 0 when there was no answer.
	Status int `json:"status"`
	// LatencyMS is the time from sending to reading the response excerpt.
	LatencyMS float64 `json:"latency_ms"`
	// TimedOut reports that the request hit the timeout.
	TimedOut bool `json:"timed_out,omitempty"`
	// Error is the transport error (refused, reset, timeout), when there
	// was no answer.
	Error string `json:"error,omitempty"`
	// ResponseExcerpt is the start of the response body (at most
	// MaxExcerpt bytes).
	ResponseExcerpt string `json:"response_excerpt,omitempty"`
}

// SentRequest is a request exactly as sent.
type SentRequest struct {
	// Method is always POST.
	Method string `json:"method"`
	// URL is the receiver's URL.
	URL string `json:"url"`
	// Headers are the request headers sent (Content-Type, User-Agent and
	// the signature headers), canonical keys; Host and Content-Length are
	// set by the transport and not listed.
	Headers http.Header `json:"headers"`
	// Body is the body sent, cut at MaxEvidenceBody bytes (BodyTruncated
	// then says so; BodyBytes and BodySHA256 still describe the whole).
	Body string `json:"body"`
	// BodyBytes is the whole body's length.
	BodyBytes int `json:"body_bytes"`
	// BodySHA256 is the hex SHA-256 of the whole body, to tell the bytes
	// apart from a similar body.
	BodySHA256 string `json:"body_sha256"`
	// BodyTruncated reports that Body holds only the start.
	BodyTruncated bool `json:"body_truncated,omitempty"`
}

// Failed reports whether any probe failed.
func (r *Report) Failed() bool { return r.Summary.Fail > 0 }

// Probe returns the result of the probe with id, or nil.
func (r *Report) Probe(id string) *ProbeResult {
	for i := range r.Probes {
		if r.Probes[i].ID == id {
			return &r.Probes[i]
		}
	}
	return nil
}
