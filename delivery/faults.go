package delivery

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Fault kinds: the misbehaviour of real senders that a webhook or an emit
// can ask for on purpose (Faults). An attempt's fault field lists the kinds
// that changed it, comma-separated, in this order.
const (
	// FaultDelay: the attempt waited Faults.Delay before it was sent.
	FaultDelay = "delay"
	// FaultBadSignature: the attempt was signed with a wrong secret.
	FaultBadSignature = "bad_signature"
	// FaultExtraFields: the body carried an unknown top-level field.
	FaultExtraFields = "extra_fields"
	// FaultDuplicate: the attempt was sent more than once, byte for byte.
	FaultDuplicate = "duplicate"
	// FaultReorder: the first attempt of a simulated sync's sync_start,
	// held back until after its sync_end was due.
	FaultReorder = "reorder"
)

// FaultKinds lists the fault kinds in the order an attempt names them.
var FaultKinds = []string{FaultDelay, FaultBadSignature, FaultExtraFields, FaultDuplicate, FaultReorder}

// ReorderGap is how long a reordered sync_start, due with its sync_end,
// waits once its job runs before it is sent (real time): jobs due together
// are started together, and the sync_end goes first.
const ReorderGap = time.Second

// Fault limits.
const (
	// MaxFaultDuplicates is the most extra copies of one attempt.
	MaxFaultDuplicates = 5
	// MaxFaultDelay is the longest extra delay of one attempt.
	MaxFaultDelay = 10 * time.Second
	// UnknownFieldName is the top-level field the extra_fields fault adds.
	UnknownFieldName = "standin_unknown_field"
)

// Faults asks the sender to misbehave on purpose, as real senders sometimes
// do, so that a receiver's handling of it can be tested. The zero value asks
// for nothing; faults are never on by default. Each decision is a pure
// function of Seed, the delivery id and the attempt number (Decide): the
// same seed gives the same faults.
type Faults struct {
	// Seed makes the decisions reproducible.
	Seed int64 `json:"seed,omitempty"`
	// Duplicate is the probability (0 to 1) that an attempt is sent twice.
	Duplicate float64 `json:"duplicate,omitempty"`
	// DuplicateCount, when positive, sends every attempt this many extra
	// times (at most MaxFaultDuplicates); it wins over Duplicate.
	DuplicateCount int `json:"duplicate_count,omitempty"`
	// Delay is an extra real-time wait before an attempt is sent, a Go
	// duration ("2s"), at most MaxFaultDelay.
	Delay string `json:"delay,omitempty"`
	// DelayProbability is the probability that an attempt is delayed;
	// 0 with a Delay means every attempt.
	DelayProbability float64 `json:"delay_probability,omitempty"`
	// BadSignature is the probability that an attempt is signed with a
	// wrong secret (WrongSecret).
	BadSignature float64 `json:"bad_signature,omitempty"`
	// BadSignatureSecret chooses the bad signature's secret: "wrong" (the
	// default, WrongSecret) or "previous", the webhook's secret before its
	// last rotation (Rotation.PreviousSecret, even after the window
	// closed), or a wrong one when it has none.
	BadSignatureSecret string `json:"bad_signature_secret,omitempty"`
	// ExtraFields is the probability that an attempt's body carries an
	// unknown top-level field (UnknownFieldName), validly signed.
	ExtraFields float64 `json:"extra_fields,omitempty"`
	// Reorder delivers a simulated sync's (or Portable flow run's)
	// sync_start after its sync_end: the sync_start delivery is due with the
	// sync_end and then waits ReorderGap. Single emits are not reordered.
	Reorder bool `json:"reorder,omitempty"`
	// Reordered is set by standin on a sync_start delivery it held back
	// (Reorder); its first attempt then names the reorder fault.
	Reordered bool `json:"reordered,omitempty"`
}

// IsZero reports whether f asks for no fault.
func (f Faults) IsZero() bool { return f == Faults{} }

// Validate reports the first bad field of f, naming it as in JSON.
func (f Faults) Validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"duplicate", f.Duplicate}, {"delay_probability", f.DelayProbability},
		{"bad_signature", f.BadSignature}, {"extra_fields", f.ExtraFields}} {
		if math.IsNaN(p.v) || p.v < 0 || p.v > 1 {
			return fmt.Errorf("faults.%s: %v is not a probability between 0 and 1", p.name, p.v)
		}
	}
	if f.BadSignatureSecret != "" && f.BadSignatureSecret != "wrong" && f.BadSignatureSecret != "previous" {
		return fmt.Errorf("faults.bad_signature_secret: %q: want wrong or previous", f.BadSignatureSecret)
	}
	if f.DuplicateCount < 0 || f.DuplicateCount > MaxFaultDuplicates {
		return fmt.Errorf("faults.duplicate_count: %d: want 0 to %d", f.DuplicateCount, MaxFaultDuplicates)
	}
	if f.Delay != "" {
		d, err := time.ParseDuration(f.Delay)
		if err != nil || d < 0 || d > MaxFaultDelay {
			return fmt.Errorf("faults.delay: %q: want a duration such as \"2s\", at most %s", f.Delay, MaxFaultDelay)
		}
	}
	return nil
}

// FaultDecision is what Decide chose for one attempt.
type FaultDecision struct {
	// Delay is the extra wait before sending; 0 for none.
	Delay time.Duration
	// BadSignature signs with WrongSecret instead of the secret, or with
	// the previous secret when PreviousSecret is set.
	BadSignature bool
	// PreviousSecret: the bad signature uses the secret before the last
	// rotation (Faults.BadSignatureSecret "previous").
	PreviousSecret bool
	// ExtraFields adds UnknownFieldName to the body (WithUnknownField).
	ExtraFields bool
	// Duplicates is how many extra copies are sent, byte for byte.
	Duplicates int
	// Reordered: the attempt is a held-back sync_start's first; it waits
	// ReorderGap before it is sent.
	Reordered bool
}

// Wait is how long the attempt waits before it is sent: Delay, plus
// ReorderGap for a held-back sync_start.
func (d FaultDecision) Wait() time.Duration {
	if d.Reordered {
		return d.Delay + ReorderGap
	}
	return d.Delay
}

// Kinds lists the faults d applies, in FaultKinds order.
func (d FaultDecision) Kinds() []string {
	var out []string
	if d.Delay > 0 {
		out = append(out, FaultDelay)
	}
	if d.BadSignature {
		out = append(out, FaultBadSignature)
	}
	if d.ExtraFields {
		out = append(out, FaultExtraFields)
	}
	if d.Duplicates > 0 {
		out = append(out, FaultDuplicate)
	}
	if d.Reordered {
		out = append(out, FaultReorder)
	}
	return out
}

// Decide chooses the faults of attempt number attempt (1-based) of the
// delivery with id deliveryID: a pure function of f, the id and the
// number, so that the same seed gives the same faults on every run.
func (f Faults) Decide(deliveryID string, attempt int) FaultDecision {
	var d FaultDecision
	if f.IsZero() {
		return d
	}
	roll := func(kind string) float64 {
		h := sha256.New()
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(f.Seed))
		h.Write(b[:])
		h.Write([]byte(deliveryID + "\x00" + strconv.Itoa(attempt) + "\x00" + kind))
		return float64(binary.BigEndian.Uint64(h.Sum(nil))>>11) / (1 << 53)
	}
	hit := func(kind string, p float64) bool { return p > 0 && roll(kind) < p }
	if delay, err := time.ParseDuration(f.Delay); err == nil && delay > 0 {
		p := f.DelayProbability
		if p == 0 {
			p = 1
		}
		if hit(FaultDelay, p) {
			d.Delay = delay
		}
	}
	d.BadSignature = hit(FaultBadSignature, f.BadSignature)
	d.PreviousSecret = d.BadSignature && f.BadSignatureSecret == "previous"
	d.ExtraFields = hit(FaultExtraFields, f.ExtraFields)
	switch {
	case f.DuplicateCount > 0:
		d.Duplicates = f.DuplicateCount
	case hit(FaultDuplicate, f.Duplicate):
		d.Duplicates = 1
	}
	d.Reordered = f.Reordered && attempt == 1
	return d
}

// BadSecret is the secret a bad_signature fault signs with for a webhook
// whose secret is secret and whose last rotation kept previous ("" when
// none): previous when d asks for it and there is one, else WrongSecret.
func (d FaultDecision) BadSecret(secret, previous string) string {
	if d.PreviousSecret && previous != "" {
		return previous
	}
	return WrongSecret(secret)
}

// WrongSecret is the secret a bad_signature fault signs with: not secret,
// and never empty, so that the receiver gets a signature header it must
// refuse.
func WrongSecret(secret string) string { return "standin_wrong_" + secret }

// WithUnknownField returns a copy of the JSON object body with
// UnknownFieldName added as its last top-level field; body unchanged when it
// is not an object.
func WithUnknownField(body []byte) []byte {
	trimmed := bytes.TrimRight(body, " \t\r\n")
	if len(trimmed) < 2 || trimmed[0] != '{' || trimmed[len(trimmed)-1] != '}' {
		return body
	}
	field := `"` + UnknownFieldName + `":"added by standin's extra_fields fault"`
	inner := bytes.TrimSpace(trimmed[1 : len(trimmed)-1])
	out := make([]byte, 0, len(trimmed)+len(field)+2)
	out = append(out, trimmed[:len(trimmed)-1]...)
	if len(inner) > 0 {
		out = append(out, ',')
	}
	out = append(out, field...)
	return append(out, '}')
}

// FaultText joins kinds as an attempt's fault field.
func FaultText(kinds []string) string { return strings.Join(kinds, ",") }
