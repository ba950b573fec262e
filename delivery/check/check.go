// Package check is a conformance check of a webhook receiver: it sends the
// receiver what Fivetran or Portable would send, and what they might send
// (minimal payloads, unknown events, duplicates, deliveries out of order,
// forged signatures), and reports for each probe whether the receiver
// answered as the real sender needs, with the exact requests as evidence.
//
// It depends only on package delivery (payloads, signing, the HTTP sender)
// and the standard library, so the CLI (`standin check`), the API and the
// testkit run the same engine.
package check

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/standin-dev/standin/delivery"
)

// Defaults and limits.
const (
	// DefaultConcurrency is how many requests a check has in flight at
	// once: the default set (36 requests for Fivetran) goes in three waves,
	// so even a receiver that never answers is done in about three timeouts.
	DefaultConcurrency = 16
	// MaxEvidenceBody is how much of each request body the report keeps.
	MaxEvidenceBody = 4096
	// MaxExcerpt is how much of each response body the report keeps.
	MaxExcerpt = 512
	// LargePayloadSize is the approximate size of large_payload's body.
	LargePayloadSize = 256 << 10
	// ReplayAge is how old replay's timestamp is: twice the Standard
	// Webhooks libraries' default tolerance.
	ReplayAge = 10 * time.Minute
	// UnknownEventName is the event unknown_event sends: not in any
	// profile's catalog today.
	UnknownEventName = "standin_check_unknown_event"
)

// ErrInvalidConfig is wrapped by the errors of Config.Validate and Run for a
// bad Config.
var ErrInvalidConfig = errors.New("invalid check config")

// Config describes the receiver to check and how the sender behaves.
type Config struct {
	// URL is the receiver's URL (http or https). Required.
	URL string
	// Secret is the webhook's secret. Empty: the sender signs nothing and
	// the signature probes are skipped.
	Secret string
	// Profile is the sender to emulate. Defaults to delivery.ProfileFivetran.
	Profile delivery.Profile
	// Signing is the signing scheme, as webhooks accept it. The zero value
	// is Fivetran's X-Fivetran-Signature-256.
	Signing delivery.Signing
	// Events are the catalog events accepts_valid sends, duplicates
	// dropped. Defaults to the profile's whole catalog.
	Events []string
	// Timeout bounds each request. Defaults to delivery.DefaultTimeout
	// (10 s, the real senders' timeout).
	Timeout time.Duration
	// Concurrency is how many requests are in flight at once. Defaults to
	// DefaultConcurrency.
	Concurrency int
	// Sender sends the requests. Defaults to a delivery.Sender with Timeout
	// and a MaxExcerpt response excerpt.
	Sender *delivery.Sender
	// Now is the clock for created times and signatures. Defaults to
	// time.Now.
	Now func() time.Time
}

// withDefaults returns c with its defaults filled in.
func (c Config) withDefaults() Config {
	c.Profile = c.Profile.OrDefault()
	// A Portable webhook signs only when its signing names a scheme: the
	// check probes what a webhook with this configuration would send.
	c.Signing = delivery.Effective(c.Profile, c.Signing)
	if len(c.Events) == 0 {
		c.Events = delivery.Catalog(c.Profile)
	} else {
		var events []string // first occurrence of each, in the given order
		for _, e := range c.Events {
			if !slices.Contains(events, e) {
				events = append(events, e)
			}
		}
		c.Events = events
	}
	if c.Timeout <= 0 {
		c.Timeout = delivery.DefaultTimeout
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Sender == nil {
		c.Sender = &delivery.Sender{Timeout: c.Timeout, MaxExcerpt: MaxExcerpt}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports the first bad field of c (after defaults), wrapping
// ErrInvalidConfig: a URL that is not absolute http(s), an unknown profile,
// an invalid signing (delivery.Signing.Validate), an event not in the
// profile's catalog, or a secret the scheme cannot send.
func (c Config) Validate() error {
	c = c.withDefaults()
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: url %q: want http://host[:port]/path or https://…", ErrInvalidConfig, c.URL)
	}
	if !c.Profile.Valid() {
		return fmt.Errorf("%w: profile %q: want fivetran or portable", ErrInvalidConfig, c.Profile)
	}
	if err := c.Signing.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	for _, e := range c.Events {
		if !c.Profile.HasEvent(e) {
			return fmt.Errorf("%w: event %q is not in the %s catalog %v", ErrInvalidConfig, e, c.Profile, delivery.Catalog(c.Profile))
		}
	}
	if _, err := c.Signing.Headers(c.Secret, []byte("{}"), "msg", time.Unix(1, 0)); err != nil {
		return fmt.Errorf("%w: secret: %w", ErrInvalidConfig, err)
	}
	return nil
}

// Run checks the receiver: it runs every probe (those that do not depend
// on each other concurrently, at most Config.Concurrency requests at once)
// and returns the report. The error is non-nil only for an invalid Config
// (wrapping ErrInvalidConfig) or a cancelled ctx; an unreachable or failing
// receiver is a report, not an error.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	start := time.Now() // the wall time is real time, whatever cfg.Now says
	r := &runner{cfg: cfg, now: cfg.Now(), sem: make(chan struct{}, cfg.Concurrency)}

	probes := []func(context.Context) ProbeResult{
		r.urlCheck, r.acceptsValid, r.rejectsForged, r.rejectsTampered,
		r.rejectsUnsigned, r.hexCase, r.minimalPayloads, r.unknownEvent,
		r.unknownFields, r.nonASCII, r.largePayload, r.duplicate,
		r.outOfOrder, nil /* latency, below */, r.replay,
	}
	results := make([]ProbeResult, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		if p == nil {
			continue
		}
		wg.Go(func() { results[i] = p(ctx) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("check %s: %w", cfg.URL, err)
	}

	rep := &Report{
		URL:       cfg.URL,
		Profile:   cfg.Profile,
		Signing:   cfg.Signing,
		SecretSet: cfg.Secret != "",
		Events:    cfg.Events,
		TimeoutMS: cfg.Timeout.Milliseconds(),
		StartedAt: start.UTC(),
	}
	rep.Reachable = reachable(results)
	if !rep.Reachable {
		for i := range results {
			if len(results[i].Exchanges) > 0 {
				results[i].Verdict = Fail
				results[i].Reason = "no answer: " + results[i].Exchanges[0].Error
			}
		}
	}
	for i, id := range Probes {
		if id == ProbeLatency {
			results[i] = judgeLatency(results, cfg.Timeout)
		}
	}
	rep.Probes = results
	for _, p := range results {
		switch p.Verdict {
		case Pass:
			rep.Summary.Pass++
		case Warn:
			rep.Summary.Warn++
		case Fail:
			rep.Summary.Fail++
		case Skipped:
			rep.Summary.Skipped++
		}
	}
	rep.WallTimeMS = ms(time.Since(start))
	return rep, nil
}

// reachable reports whether any exchange got an answer or timed out.
func reachable(results []ProbeResult) bool {
	sent := false
	for _, p := range results {
		for _, x := range p.Exchanges {
			sent = true
			if x.Status != 0 || x.TimedOut {
				return true
			}
		}
	}
	return !sent
}

// runner holds one check's state.
type runner struct {
	cfg Config
	now time.Time
	sem chan struct{}
}

// msg is one request to send: a body and its headers.
type msg struct {
	label  string
	body   []byte
	header map[string][]string
}

// signed returns body signed as the webhook would sign it, with a fresh
// message id, at the check's time.
func (r *runner) signed(label string, body []byte) msg {
	return r.signedWith(label, body, r.cfg.Signing, r.cfg.Secret, r.now)
}

// signedWith signs body with the given scheme, secret and time.
func (r *runner) signedWith(label string, body []byte, s delivery.Signing, secret string, at time.Time) msg {
	h, err := s.Headers(secret, body, "msg_"+delivery.NewUUID(), at)
	if err != nil {
		// Validate checked the signing and the secret: cannot happen.
		panic("check: sign: " + err.Error())
	}
	return msg{label: label, body: body, header: h}
}

// send sends m and returns the exchange, its verdict not yet set.
func (r *runner) send(ctx context.Context, m msg) Exchange {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return Exchange{Label: m.label, Error: ctx.Err().Error(), Request: r.evidence(m, nil)}
	}
	resp := r.cfg.Sender.Send(ctx, delivery.Request{URL: r.cfg.URL, Header: m.header, Body: m.body})
	<-r.sem
	x := Exchange{
		Label:           m.label,
		Request:         r.evidence(m, resp.RequestHeader),
		Status:          resp.Status,
		LatencyMS:       ms(resp.Latency),
		ResponseExcerpt: string(resp.Excerpt),
	}
	if resp.Err != nil {
		x.Error = resp.Err.Error()
		var ne net.Error
		x.TimedOut = errors.Is(resp.Err, context.DeadlineExceeded) || (errors.As(resp.Err, &ne) && ne.Timeout())
	}
	if resp.Latency >= r.cfg.Timeout {
		x.TimedOut = true
	}
	return x
}

// evidence describes the request of m as sent, the token header redacted.
func (r *runner) evidence(m msg, sent map[string][]string) SentRequest {
	if sent == nil {
		sent = m.header
	}
	sum := sha256.Sum256(m.body)
	body := m.body
	truncated := len(body) > MaxEvidenceBody
	if truncated {
		body = body[:MaxEvidenceBody]
	}
	return SentRequest{
		Method:        "POST",
		URL:           r.cfg.URL,
		Headers:       r.cfg.Signing.Redact(sent),
		Body:          string(body),
		BodyBytes:     len(m.body),
		BodySHA256:    hex.EncodeToString(sum[:]),
		BodyTruncated: truncated,
	}
}

// accepted reports whether the exchange is a success for the profile.
func (r *runner) accepted(x Exchange) bool {
	return x.Error == "" && r.cfg.Profile.Succeeded(x.Status)
}

// want is what a probe expects of each of its exchanges.
type want int

const (
	wantAccepted  want = iota // a success for the profile
	wantRejected              // an HTTP answer that is not a success
	wantNoFailure             // a success; a 4xx only warns
)

// judge sets x.Verdict from w and returns a phrase describing the answer.
func (r *runner) judge(x *Exchange, w want) {
	ok := r.accepted(*x)
	switch {
	case x.Error != "":
		x.Verdict = Fail
	case w == wantAccepted:
		x.Verdict = verdictIf(ok)
	case w == wantRejected:
		x.Verdict = verdictIf(!ok)
	case ok:
		x.Verdict = Pass
	case x.Status >= 400 && x.Status < 500:
		x.Verdict = Warn
	default:
		x.Verdict = Fail
	}
}

func verdictIf(ok bool) Verdict {
	if ok {
		return Pass
	}
	return Fail
}

// answer describes an exchange's outcome in a few words.
func answer(x Exchange) string {
	if x.Error != "" {
		if x.TimedOut {
			return "no answer within the timeout"
		}
		return "no answer (" + x.Error + ")"
	}
	return fmt.Sprintf("answered %d", x.Status)
}

// exchanges sends each message, one after the other when sequential is
// true (their order matters), else concurrently; results are in msgs order
// and judged with w.
func (r *runner) exchanges(ctx context.Context, w want, sequential bool, msgs ...msg) []Exchange {
	out := make([]Exchange, len(msgs))
	if sequential {
		for i, m := range msgs {
			out[i] = r.send(ctx, m)
			r.judge(&out[i], w)
		}
		return out
	}
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Go(func() {
			out[i] = r.send(ctx, m)
			r.judge(&out[i], w)
		})
	}
	wg.Wait()
	return out
}

// result builds a ProbeResult from exchanges: the worst exchange verdict
// wins; reason explains it, given the exchanges that did not pass.
func result(id, sends string, xs []Exchange, reason func(worst Verdict, bad []Exchange) string) ProbeResult {
	worst := Pass
	var bad []Exchange
	for _, x := range xs {
		if x.Verdict != Pass {
			bad = append(bad, x)
		}
		if rank(x.Verdict) > rank(worst) {
			worst = x.Verdict
		}
	}
	return ProbeResult{ID: id, Sends: sends, Verdict: worst, Reason: reason(worst, bad), Exchanges: xs}
}

func rank(v Verdict) int {
	switch v {
	case Warn:
		return 1
	case Fail:
		return 2
	}
	return 0
}

func skipped(id, sends, reason string) ProbeResult {
	return ProbeResult{ID: id, Sends: sends, Verdict: Skipped, Reason: reason, Exchanges: []Exchange{}}
}

// successWord is what the profile counts as success, for reasons.
func (r *runner) successWord() string {
	if r.cfg.Profile == delivery.ProfilePortable {
		return "200"
	}
	return "2xx"
}

// labelled lists the bad exchanges as "label (answer)".
func labelled(bad []Exchange) string {
	parts := make([]string, len(bad))
	for i, x := range bad {
		parts[i] = x.Label + " (" + answer(x) + ")"
	}
	return strings.Join(parts, ", ")
}

// simpleReason is the reason of a probe whose exchanges expect one outcome.
func simpleReason(pass, failHow string) func(Verdict, []Exchange) string {
	return func(v Verdict, bad []Exchange) string {
		if v == Pass {
			return pass
		}
		return failHow + ": " + labelled(bad)
	}
}

// build renders a catalog event with realistic defaults, applying edit to
// the Source first.
func (r *runner) build(event string, edit func(*delivery.Source)) []byte {
	s := delivery.Source{Event: event, Created: r.now}.Defaults(r.cfg.Profile)
	if edit != nil {
		edit(&s)
	}
	b, err := delivery.Build(r.cfg.Profile, s)
	if err != nil {
		panic("check: build " + event + ": " + err.Error()) // fixed inputs
	}
	return b
}

// ms converts d to fractional milliseconds, rounded to the microsecond.
func ms(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}

// insertField adds `,"name":value` before the closing brace of the JSON
// object obj (compact, as Build renders it).
func insertField(obj []byte, name string, value any) []byte {
	v, err := json.Marshal(value)
	if err != nil {
		panic("check: marshal field: " + err.Error()) // fixed inputs
	}
	out := bytes.TrimSuffix(obj, []byte("}"))
	out = append(out[:len(out):len(out)], ',')
	out = append(out, fmt.Sprintf("%q:", name)...)
	out = append(out, v...)
	return append(out, '}')
}
