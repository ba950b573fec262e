package delivery_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
)

func TestFaultsDecide(t *testing.T) {
	if d := (delivery.Faults{}).Decide("d1", 1); len(d.Kinds()) != 0 {
		t.Fatalf("zero faults decided %v", d.Kinds())
	}
	f := delivery.Faults{Seed: 42, Duplicate: 0.3, BadSignature: 0.5, ExtraFields: 0.1, Delay: "2s", DelayProbability: 0.2}
	counts := map[string]int{}
	const n = 4000
	for i := range n {
		id := fmt.Sprintf("delivery_%d", i)
		a, b := f.Decide(id, 1), f.Decide(id, 1)
		if a != b {
			t.Fatalf("%s: the same seed decided %+v then %+v", id, a, b)
		}
		for _, k := range a.Kinds() {
			counts[k]++
		}
		if a.Delay != 0 && a.Delay != 2*time.Second {
			t.Fatalf("delay %v", a.Delay)
		}
	}
	for kind, p := range map[string]float64{delivery.FaultDuplicate: 0.3, delivery.FaultBadSignature: 0.5,
		delivery.FaultExtraFields: 0.1, delivery.FaultDelay: 0.2} {
		got := float64(counts[kind]) / n
		if got < p-0.04 || got > p+0.04 {
			t.Errorf("%s: rate %.3f, want about %.2f", kind, got, p)
		}
	}
	// Another seed, or another attempt, decides differently.
	other := f
	other.Seed = 43
	same, sameAttempt := 0, 0
	for i := range 200 {
		id := fmt.Sprintf("delivery_%d", i)
		if f.Decide(id, 1) == other.Decide(id, 1) {
			same++
		}
		if f.Decide(id, 1) == f.Decide(id, 2) {
			sameAttempt++
		}
	}
	if same == 200 || sameAttempt == 200 {
		t.Errorf("the seed or the attempt number changes nothing: %d, %d of 200 equal", same, sameAttempt)
	}
	exact := delivery.Faults{DuplicateCount: 3}.Decide("d", 1)
	if exact.Duplicates != 3 || fmt.Sprint(exact.Kinds()) != "[duplicate]" {
		t.Errorf("duplicate_count 3: %+v", exact)
	}
}

func TestFaultsValidate(t *testing.T) {
	for _, bad := range []delivery.Faults{{Duplicate: 1.5}, {BadSignature: -0.1}, {DuplicateCount: 6},
		{Delay: "soon"}, {Delay: "11s"}, {ExtraFields: 2}, {DelayProbability: 3}} {
		if bad.Validate() == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if err := (delivery.Faults{Seed: -1, Duplicate: 1, DuplicateCount: 5, Delay: "10s", BadSignature: 1, ExtraFields: 1}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestWithUnknownField(t *testing.T) {
	got := delivery.WithUnknownField([]byte(`{"event":"sync_end","data":{"status":"SUCCESSFUL"}}`))
	want := `{"event":"sync_end","data":{"status":"SUCCESSFUL"},"standin_unknown_field":"added by standin's extra_fields fault"}`
	if string(got) != want {
		t.Fatalf("got %s", got)
	}
	if !json.Valid(delivery.WithUnknownField([]byte(`{}`))) {
		t.Error("{} plus a field is not JSON")
	}
	if string(delivery.WithUnknownField([]byte(`[1]`))) != `[1]` {
		t.Error("a non-object changed")
	}
}

func TestFaultsReordered(t *testing.T) {
	f := delivery.Faults{Reorder: true, Reordered: true, Delay: "2s"}
	first, second := f.Decide("d", 1), f.Decide("d", 2)
	if first.Wait() != 2*time.Second+delivery.ReorderGap || fmt.Sprint(first.Kinds()) != "[delay reorder]" {
		t.Errorf("first attempt: wait %v, kinds %v", first.Wait(), first.Kinds())
	}
	if second.Wait() != 2*time.Second || second.Reordered {
		t.Errorf("a retry is not held back again: %+v", second)
	}
	if (delivery.Faults{Reorder: true}).Decide("d", 1).Reordered {
		t.Error("only a delivery standin held back is reordered")
	}
}

func TestFaultsBadSecret(t *testing.T) {
	prev := delivery.Faults{BadSignature: 1, BadSignatureSecret: "previous"}.Decide("d", 1)
	if got := prev.BadSecret("new", "old"); got != "old" {
		t.Errorf("previous: %q", got)
	}
	if got := prev.BadSecret("new", ""); got != delivery.WrongSecret("new") {
		t.Errorf("previous without a rotation: %q", got)
	}
	if got := (delivery.Faults{BadSignature: 1}).Decide("d", 1).BadSecret("new", "old"); got != delivery.WrongSecret("new") {
		t.Errorf("wrong: %q", got)
	}
	if (delivery.Faults{BadSignatureSecret: "older"}).Validate() == nil {
		t.Error("bad_signature_secret older accepted")
	}
}
