package check

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/standin-dev/standin/delivery"
)

// nonASCIIText is non_ascii's reason: CJK, emoji (outside the BMP), an
// accented Latin word and a snowman, raw UTF-8 on the wire.
const nonASCIIText = "同期に失敗しました 🚨 接続がタイムアウトしました — Ünïcødé café ☃ 😀"

// forgedSecret returns a secret other than the webhook's.
func (r *runner) forgedSecret() string {
	s := "standin-check-forged-secret"
	if s == r.cfg.Secret {
		s += "-2"
	}
	return s
}

// signs reports whether the webhook signs (or authenticates) deliveries at
// all, and the reason when not.
func (r *runner) signs() (bool, string) {
	if r.cfg.Signing.Scheme == delivery.SchemeNone {
		return false, "the signing scheme is none: the sender authenticates nothing"
	}
	if r.cfg.Secret == "" {
		return false, "no secret: the sender sends no signature, so there is nothing to verify (pass --secret)"
	}
	return true, ""
}

func (r *runner) urlCheck(ctx context.Context) ProbeResult {
	const sends = "the create-time test_event (Fivetran's URL check)"
	if r.cfg.Profile == delivery.ProfilePortable {
		return skipped(ProbeURLCheck, sends, "Portable has no URL check: its webhook form just saves (its Test button's test event is sent by accepts_valid)")
	}
	xs := r.exchanges(ctx, wantAccepted, false, r.signed(delivery.EventTestEvent, delivery.URLCheckBody(r.now, "")))
	return result(ProbeURLCheck, sends, xs, simpleReason(
		"test_event answered 2xx: Fivetran would create the webhook",
		"Fivetran refuses to create (or activate) a webhook whose URL check is not answered 2xx"))
}

func (r *runner) acceptsValid(ctx context.Context) ProbeResult {
	sends := fmt.Sprintf("a correctly signed delivery of each of %d events, with realistic data", len(r.cfg.Events))
	msgs := make([]msg, len(r.cfg.Events))
	for i, e := range r.cfg.Events {
		msgs[i] = r.signed(e, r.build(e, nil))
	}
	xs := r.exchanges(ctx, wantAccepted, false, msgs...)
	return result(ProbeAcceptsValid, sends, xs, func(v Verdict, bad []Exchange) string {
		if v == Pass {
			return fmt.Sprintf("all %d events answered %s", len(xs), r.successWord())
		}
		return fmt.Sprintf("%d of %d events not answered %s (the sender retries them, then gives up): %s",
			len(bad), len(xs), r.successWord(), labelled(bad))
	})
}

func (r *runner) rejectsForged(ctx context.Context) ProbeResult {
	const sends = "a delivery signed with another secret"
	if ok, why := r.signs(); !ok {
		return skipped(ProbeRejectsForged, sends, why)
	}
	m := r.signedWith("signed with another secret", r.build(delivery.EventSyncEnd, nil), r.cfg.Signing, r.forgedSecret(), r.now)
	xs := r.exchanges(ctx, wantRejected, false, m)
	return result(ProbeRejectsForged, sends, xs, rejectReason("a forged signature"))
}

func rejectReason(what string) func(Verdict, []Exchange) string {
	return func(v Verdict, bad []Exchange) string {
		if v == Pass {
			return what + " was refused"
		}
		if bad[0].Error != "" {
			return what + " got " + answer(bad[0])
		}
		return fmt.Sprintf("%s was accepted (answered %d): anyone who knows the URL can post events", what, bad[0].Status)
	}
}

func (r *runner) rejectsTampered(ctx context.Context) ProbeResult {
	const sends = "the valid signature of one body sent with a different body"
	if ok, why := r.signs(); !ok {
		return skipped(ProbeRejectsTampered, sends, why)
	}
	if r.cfg.Signing.Scheme == delivery.SchemeToken {
		return skipped(ProbeRejectsTampered, sends, "scheme token sends the secret itself, which does not depend on the body: a receiver cannot detect a changed body")
	}
	syncID := delivery.NewUUID()
	original := r.build(delivery.EventSyncEnd, func(s *delivery.Source) { s.SyncID = syncID })
	changed := r.build(delivery.EventSyncEnd, func(s *delivery.Source) {
		s.SyncID = syncID
		s.Data = json.RawMessage(`{"status":"FAILURE","reason":"tampered"}`)
		s.Status, s.Details = delivery.StatusFailure, "tampered"
	})
	m := r.signed("signature of another body", original)
	m.body = changed
	xs := r.exchanges(ctx, wantRejected, false, m)
	return result(ProbeRejectsTampered, sends, xs, rejectReason("a changed body under a valid signature"))
}

func (r *runner) rejectsUnsigned(ctx context.Context) ProbeResult {
	const sends = "a delivery without any signature header"
	if ok, why := r.signs(); !ok {
		return skipped(ProbeRejectsUnsigned, sends, why)
	}
	m := msg{label: "no signature", body: r.build(delivery.EventSyncEnd, nil)}
	xs := r.exchanges(ctx, wantRejected, false, m)
	return result(ProbeRejectsUnsigned, sends, xs, rejectReason("an unsigned delivery"))
}

// hexSigned reports whether the scheme sends a hex signature.
func hexSigned(s delivery.Signing) bool {
	switch s.Scheme {
	case "", delivery.SchemeFivetran:
		return true
	case delivery.SchemeHMAC:
		return strings.EqualFold(s.Encoding, delivery.EncodingHex)
	}
	return false
}

func (r *runner) hexCase(ctx context.Context) ProbeResult {
	const sends = "the same delivery signed in upper- and in lower-case hex"
	if ok, why := r.signs(); !ok {
		return skipped(ProbeHexCase, sends, why)
	}
	if !hexSigned(r.cfg.Signing) {
		return skipped(ProbeHexCase, sends, "the signing scheme does not send a hex signature")
	}
	body := r.build(delivery.EventSyncEnd, nil)
	upper, lower := r.cfg.Signing, r.cfg.Signing
	upper.LowerHex, lower.LowerHex = false, true
	xs := r.exchanges(ctx, wantAccepted, false,
		r.signedWith("upper-case hex", body, upper, r.cfg.Secret, r.now),
		r.signedWith("lower-case hex", body, lower, r.cfg.Secret, r.now))
	res := result(ProbeHexCase, sends, xs, func(Verdict, []Exchange) string { return "" })
	switch up, low := xs[0].Verdict == Pass, xs[1].Verdict == Pass; {
	case up && low:
		res.Reason = "both hex cases accepted"
	case up || low:
		res.Verdict = Warn
		for i := range xs {
			if xs[i].Verdict == Fail && xs[i].Error == "" {
				xs[i].Verdict = Warn
			}
		}
		got, other, refused := "upper", "lower", xs[1]
		if low {
			got, other, refused = "lower", "upper", xs[0]
		}
		res.Reason = fmt.Sprintf("only %s-case hex accepted (%s-case %s): compare the decoded bytes, or case-insensitively; Fivetran does not document its case",
			got, other, answer(refused))
	default:
		res.Reason = "neither hex case accepted: " + labelled(xs)
	}
	return res
}

func (r *runner) minimalPayloads(ctx context.Context) ProbeResult {
	var msgs []msg
	var sends string
	if r.cfg.Profile == delivery.ProfilePortable {
		sends = "the Test button's payload with its dummy ids"
		msgs = []msg{r.signed("test button payload", delivery.TestBody(delivery.ProfilePortable, "", r.now))}
	} else {
		sends = "sync_start without data, the test payload without sync_id, sync_end with only status"
		msgs = []msg{
			r.signed("sync_start without data", r.build(delivery.EventSyncStart, func(s *delivery.Source) { s.Data = nil })),
			r.signed("test payload without sync_id", delivery.TestBody(delivery.ProfileFivetran, delivery.EventSyncEnd, r.now)),
			r.signed("sync_end with only status", r.build(delivery.EventSyncEnd, func(s *delivery.Source) {
				s.Data = json.RawMessage(`{"status":"FAILURE"}`)
			})),
		}
	}
	xs := r.exchanges(ctx, wantAccepted, false, msgs...)
	return result(ProbeMinimalPayloads, sends, xs, simpleReason(
		"minimal payloads accepted",
		"payloads the real sender sends with fields left out were not accepted"))
}

func (r *runner) unknownEvent(ctx context.Context) ProbeResult {
	sends := "an event name not in today's catalog (" + UnknownEventName + ")"
	base := delivery.EventPauseConnector
	if r.cfg.Profile == delivery.ProfilePortable {
		base = delivery.EventSyncStart
	}
	body := bytes.Replace(r.build(base, nil), []byte(`"event":"`+base+`"`), []byte(`"event":"`+UnknownEventName+`"`), 1)
	xs := r.exchanges(ctx, wantNoFailure, false, r.signed(UnknownEventName, body))
	return result(ProbeUnknownEvent, sends, xs, ignoreReason("an unknown event"))
}

// ignoreReason is the reason of probes whose payload should be ignored
// with a success.
func ignoreReason(what string) func(Verdict, []Exchange) string {
	return func(v Verdict, bad []Exchange) string {
		switch v {
		case Pass:
			return what + " was acknowledged"
		case Warn:
			return fmt.Sprintf("%s %s: the sender counts that as a failure and retries it (Fivetran for 24 h, then deactivates the webhook); acknowledge what you ignore", what, answer(bad[0]))
		}
		return what + " " + answer(bad[0]) + ": a receiver must ignore what it does not know, never crash on it"
	}
}

func (r *runner) unknownFields(ctx context.Context) ProbeResult {
	extra := map[string]any{"added_in": "a future version", "nested": map[string]any{"n": 1, "flag": true}}
	var body []byte
	var sends string
	if r.cfg.Profile == delivery.ProfilePortable {
		sends = "sync_end with an extra top-level field"
		body = insertField(r.build(delivery.EventSyncEnd, nil), "standin_new_field", extra)
	} else {
		sends = "sync_end with extra top-level and data fields"
		body = r.build(delivery.EventSyncEnd, func(s *delivery.Source) {
			s.Data = json.RawMessage(`{"status":"SUCCESSFUL","standin_new_data_field":["x",2,null]}`)
		})
		body = insertField(body, "standin_new_field", extra)
	}
	xs := r.exchanges(ctx, wantNoFailure, false, r.signed("extra fields", body))
	return result(ProbeUnknownFields, sends, xs, ignoreReason("a payload with unknown fields"))
}

func (r *runner) nonASCII(ctx context.Context) ProbeResult {
	var body []byte
	var sends string
	if r.cfg.Profile == delivery.ProfilePortable {
		sends = "sync_end whose details hold emoji and CJK text, raw UTF-8"
		body = r.build(delivery.EventSyncEnd, func(s *delivery.Source) {
			s.Status, s.Details = delivery.StatusFailure, nonASCIIText
		})
	} else {
		sends = "sync_end whose reason holds emoji and CJK text, raw UTF-8"
		data, err := delivery.SyncEndData(delivery.StatusFailure, nonASCIIText, "", time.Time{})
		if err != nil {
			panic("check: sync_end data: " + err.Error()) // fixed inputs
		}
		body = r.build(delivery.EventSyncEnd, func(s *delivery.Source) { s.Data = data })
	}
	xs := r.exchanges(ctx, wantAccepted, false, r.signed("non-ASCII text", body))
	return result(ProbeNonASCII, sends, xs, simpleReason(
		"raw UTF-8 accepted",
		"raw UTF-8 was not accepted (hash the body bytes as received; never decode and re-encode them)"))
}

func (r *runner) largePayload(ctx context.Context) ProbeResult {
	var body []byte
	var sends string
	if r.cfg.Profile.HasEvent(delivery.EventDbtRunFailed) {
		sends = fmt.Sprintf("a dbt_run_failed of about %d KiB (a long dbt log)", LargePayloadSize>>10)
		body = r.build(delivery.EventDbtRunFailed, func(s *delivery.Source) {
			s.Data = largeDbtData(s.Data, LargePayloadSize)
		})
	} else {
		sends = fmt.Sprintf("a sync_end of about %d KiB (long details)", LargePayloadSize>>10)
		body = r.build(delivery.EventSyncEnd, func(s *delivery.Source) {
			s.Status, s.Details = delivery.StatusFailure, dbtLog(LargePayloadSize)
		})
	}
	xs := r.exchanges(ctx, wantAccepted, false, r.signed(fmt.Sprintf("%d bytes", len(body)), body))
	return result(ProbeLargePayload, sends, xs, simpleReason(
		"a large payload accepted",
		"a large payload was not accepted (raise the body size limit)"))
}

// dbtLog returns realistic dbt log lines totalling about size bytes.
func dbtLog(size int) string {
	var b strings.Builder
	b.Grow(size + 128)
	for i := 1; b.Len() < size; i++ {
		fmt.Fprintf(&b, "00:%02d:%02d  %d of 2400 OK created sql table model analytics.model_%04d .......... [SELECT %d in %d.%02ds]\n",
			i/60%60, i%60, i, i, 1000+i*7, i%9, i%100)
	}
	return b.String()
}

// largeDbtData returns data (a default dbt_run_failed data object) with its
// first step's output replaced by a dbt log of about size bytes.
func largeDbtData(data json.RawMessage, size int) json.RawMessage {
	var d map[string]any
	if err := json.Unmarshal(data, &d); err != nil {
		panic("check: dbt data: " + err.Error()) // built by delivery
	}
	steps, _ := d["result"].(map[string]any)["stepResults"].([]any)
	if len(steps) > 0 {
		step := steps[0].(map[string]any)
		step["commandResult"].(map[string]any)["output"] = dbtLog(size)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		panic("check: dbt data: " + err.Error())
	}
	return bytes.TrimSpace(buf.Bytes())
}

func (r *runner) duplicate(ctx context.Context) ProbeResult {
	const sends = "the same sync_end twice, byte for byte (headers included)"
	m := r.signed("first", r.build(delivery.EventSyncEnd, nil))
	again := m
	again.label = "second"
	xs := r.exchanges(ctx, wantAccepted, true, m, again)
	return result(ProbeDuplicate, sends, xs, simpleReason(
		"both copies acknowledged",
		"delivery is at-least-once: a duplicate must be acknowledged (deduplicate, then answer "+r.successWord()+")"))
}

func (r *runner) outOfOrder(ctx context.Context) ProbeResult {
	const sends = "a sync's sync_end before its sync_start"
	syncID := delivery.NewUUID()
	same := func(s *delivery.Source) { s.SyncID = syncID }
	xs := r.exchanges(ctx, wantAccepted, true,
		r.signed("sync_end first", r.build(delivery.EventSyncEnd, same)),
		r.signed("sync_start second", r.build(delivery.EventSyncStart, same)))
	return result(ProbeOutOfOrder, sends, xs, simpleReason(
		"both accepted out of order",
		"the sender does not guarantee order: events out of order must be accepted"))
}

func (r *runner) replay(ctx context.Context) ProbeResult {
	sends := fmt.Sprintf("a valid Standard Webhooks message with a timestamp %s old", ReplayAge)
	if r.cfg.Signing.Scheme != delivery.SchemeStandard {
		return skipped(ProbeReplay, sends, "only the Standard Webhooks scheme signs a timestamp")
	}
	if ok, why := r.signs(); !ok {
		return skipped(ProbeReplay, sends, why)
	}
	m := r.signedWith("timestamp "+ReplayAge.String()+" old", r.build(delivery.EventSyncEnd, nil),
		r.cfg.Signing, r.cfg.Secret, r.now.Add(-ReplayAge))
	xs := r.exchanges(ctx, wantRejected, false, m)
	return result(ProbeReplay, sends, xs, rejectReason("a replayed message (check webhook-timestamp against your clock, 5 min tolerance)"))
}

// judgeLatency judges the answers of every other probe against timeout:
// fail when one hit it, warn when the slowest took over half of it.
func judgeLatency(results []ProbeResult, timeout time.Duration) ProbeResult {
	sends := "nothing: it times the other probes' answers"
	var slow, timedOut []Exchange
	var slowest *Exchange
	answered := 0
	for _, p := range results {
		for _, x := range p.Exchanges {
			x.Label = p.ID + "/" + x.Label
			switch {
			case x.TimedOut:
				x.Verdict = Fail
				timedOut = append(timedOut, x)
				continue
			case x.Status == 0:
				continue
			}
			answered++
			if slowest == nil || x.LatencyMS > slowest.LatencyMS {
				c := x
				slowest = &c
			}
			if x.LatencyMS > ms(timeout/2) {
				x.Verdict = Warn
				slow = append(slow, x)
			}
		}
	}
	res := ProbeResult{ID: ProbeLatency, Sends: sends, Exchanges: []Exchange{}}
	switch {
	case len(timedOut) > 0:
		res.Verdict = Fail
		res.Exchanges = timedOut
		res.Reason = fmt.Sprintf("%d request(s) hit the %s timeout, which the sender counts as a failure and retries: %s (answer first, then do the work)",
			len(timedOut), timeout, labels(timedOut))
	case len(slow) > 0:
		res.Verdict = Warn
		res.Exchanges = slow
		res.Reason = fmt.Sprintf("%d answer(s) took over half the %s timeout: %s", len(slow), timeout, labels(slow))
	case answered == 0:
		res.Verdict = Skipped
		res.Reason = "no answers to time"
	default:
		res.Verdict = Pass
		slowest.Verdict = Pass
		res.Exchanges = []Exchange{*slowest}
		res.Reason = fmt.Sprintf("slowest of %d answers: %s in %s (timeout %s)", answered, slowest.Label, fmtMS(slowest.LatencyMS), timeout)
	}
	return res
}

func labels(xs []Exchange) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = x.Label
		if !x.TimedOut {
			parts[i] += " (" + fmtMS(x.LatencyMS) + ")"
		}
	}
	return strings.Join(parts, ", ")
}

// fmtMS formats fractional milliseconds for people.
func fmtMS(v float64) string {
	d := time.Duration(v * float64(time.Millisecond))
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
