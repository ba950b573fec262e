package emit

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server/internal/apierr"
	"github.com/standin-dev/standin/store"
)

var testNow = time.Date(2026, 5, 22, 0, 6, 8, 638_000_000, time.UTC)

// fakeStore is the emitter's Store: subscribers by event, and a record of
// what was stored and looked up.
type fakeStore struct {
	mu       sync.Mutex
	webhooks []*store.Webhook
	lookups  []string // event/group of each WebhookListSubscribed
	creates  [][]store.EventCreateParams
}

func (f *fakeStore) WebhookListSubscribed(_ context.Context, event, group string) ([]*store.Webhook, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups = append(f.lookups, event+"/"+group)
	var out []*store.Webhook
	for _, wh := range f.webhooks {
		if wh.Active && slices.Contains(wh.Events, event) && (wh.GroupID == "" || wh.GroupID == group) {
			out = append(out, wh)
		}
	}
	return out, nil
}

func (f *fakeStore) EventCreateMany(_ context.Context, params []store.EventCreateParams) ([]*store.Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creates = append(f.creates, params)
	var out []*store.Delivery
	for _, p := range params {
		for _, d := range p.Deliveries {
			out = append(out, &store.Delivery{ID: d.ID, EventID: p.Event.ID, WebhookID: d.WebhookID, Body: d.Body})
		}
	}
	return out, nil
}

func newTest(webhooks ...*store.Webhook) (*Emitter, *fakeStore) {
	st := &fakeStore{webhooks: webhooks}
	return New(st, func() time.Time { return testNow }), st
}

func hook(id, group string, p delivery.Profile, events ...string) *store.Webhook {
	return &store.Webhook{ID: id, GroupID: group, Profile: p, Events: events, Active: true}
}

// TestPrepareFanOut checks who gets a delivery: subscribed webhooks of the
// event's group or of the account whose profile can send the event, and
// only the emission's platform when it names one.
func TestPrepareFanOut(t *testing.T) {
	t.Parallel()
	e, _ := newTest(
		hook("acct", "", "", delivery.EventSyncEnd),
		hook("g1", "g1", delivery.ProfileFivetran, delivery.EventSyncEnd),
		hook("g2", "g2", delivery.ProfileFivetran, delivery.EventSyncEnd),
		hook("portable", "", delivery.ProfilePortable, delivery.EventSyncEnd),
		hook("other", "", "", delivery.EventSyncStart),
	)
	for _, tt := range []struct {
		name    string
		em      Emission
		want    []string
		noField string // a field the stored record must not show
	}{
		{"both platforms", Emission{Source: delivery.Source{Event: delivery.EventSyncEnd, GroupID: "g1"}}, []string{"acct", "g1", "portable"}, ""},
		{"fivetran only", Emission{Source: delivery.Source{Event: delivery.EventSyncEnd, GroupID: "g1"}, Profile: delivery.ProfileFivetran}, []string{"acct", "g1"}, "flow_id"},
		{"portable only", Emission{Source: delivery.Source{Event: delivery.EventSyncEnd, FlowID: 7}, Profile: delivery.ProfilePortable}, []string{"portable"}, "connector_id"},
	} {
		p, err := e.Prepare(t.Context(), tt.em)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for _, d := range p.Deliveries {
			got = append(got, d.WebhookID)
			if len(d.Body) == 0 || d.ID == "" {
				t.Errorf("%s: delivery %+v", tt.name, d)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: deliveries to %v, want %v", tt.name, got, tt.want)
		}
		if !p.Event.CreatedAt.Equal(testNow) || p.Event.Name != delivery.EventSyncEnd {
			t.Errorf("%s: event %+v", tt.name, p.Event)
		}
		var rec map[string]any
		if err := json.Unmarshal(p.Event.Source, &rec); err != nil {
			t.Fatal(err)
		}
		if _, ok := rec[tt.noField]; tt.noField != "" && ok {
			t.Errorf("%s: stored record %s shows %s", tt.name, p.Event.Source, tt.noField)
		}
	}
}

// TestEmitManyLooksUpOnceAndStoresOnce checks that a batch looks up the
// subscribers of each (event, group) once and stores everything in one
// call, and that a bad source names its index and stores nothing.
func TestEmitManyLooksUpOnceAndStoresOnce(t *testing.T) {
	t.Parallel()
	e, st := newTest(hook("acct", "", "", delivery.EventSyncStart, delivery.EventSyncEnd))
	srcs := []delivery.Source{
		{Event: delivery.EventSyncStart}, {Event: delivery.EventSyncStart},
		{Event: delivery.EventSyncEnd, GroupID: "g1"}, {Event: delivery.EventSyncEnd, GroupID: "g1"},
	}
	out, err := e.EmitMany(t.Context(), srcs, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 4 || len(st.creates) != 1 || len(st.creates[0]) != 4 {
		t.Fatalf("%d emitted in %d store calls", len(out), len(st.creates))
	}
	if want := []string{"sync_start/" + delivery.DefaultGroupID, "sync_end/g1"}; !slices.Equal(st.lookups, want) {
		t.Errorf("lookups %v, want %v", st.lookups, want)
	}
	for i, em := range out {
		if len(em.Deliveries) != 1 || em.Deliveries[0].EventID != em.Event.ID {
			t.Errorf("emitted %d: %+v", i, em)
		}
	}

	_, err = e.EmitMany(t.Context(), []delivery.Source{{Event: delivery.EventSyncStart}, {Event: "nope"}}, time.Time{})
	var in *apierr.InputError
	if !errors.As(err, &in) || !errors.Is(err, delivery.ErrUnknownEvent) || in.Msg != "events[1]: Invalid event 'nope'" {
		t.Errorf("bad source: %v", err)
	}
	if _, err := e.EmitMany(t.Context(), []delivery.Source{{Event: delivery.EventSyncEnd, Data: json.RawMessage(`[1]`)}}, time.Time{}); err == nil ||
		err.Error() != "events[0]: Field 'data' must be a JSON object" {
		t.Errorf("data not an object: %v", err)
	}
	if len(st.creates) != 1 {
		t.Errorf("refused batches were stored: %d store calls", len(st.creates))
	}
}

// TestMaxDeliveries checks the delivery limit: per event for single emits,
// for the whole batch of one request.
func TestMaxDeliveries(t *testing.T) {
	t.Parallel()
	e, st := newTest(hook("a", "", "", delivery.EventSyncEnd), hook("b", "", "", delivery.EventSyncEnd))
	e.SetMaxDeliveries(3)
	if _, _, err := e.Emit(t.Context(), delivery.Source{Event: delivery.EventSyncEnd}, time.Time{}); err != nil {
		t.Fatalf("2 deliveries under a limit of 3: %v", err)
	}
	_, err := e.EmitMany(t.Context(), []delivery.Source{{Event: delivery.EventSyncEnd}, {Event: delivery.EventSyncEnd}}, time.Time{})
	if err == nil || !strings.HasPrefix(err.Error(), "The events would create more than 3 deliveries (4 up to events[1])") {
		t.Errorf("batch over the limit: %v", err)
	}
	e.SetMaxDeliveries(1)
	if _, _, err := e.Emit(t.Context(), delivery.Source{Event: delivery.EventSyncEnd}, time.Time{}); err == nil ||
		err.Error() != "The event would create 2 deliveries, more than the limit of 1" {
		t.Errorf("single over the limit: %v", err)
	}
	if len(st.creates) != 1 {
		t.Errorf("%d store calls, want 1 (refused emits store nothing)", len(st.creates))
	}
}
