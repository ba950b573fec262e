package storetest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/store"
)

func testEventList(t *testing.T, st store.Store) {
	ctx := t.Context()
	// 6 events a minute apart, alternating names, plus two more sharing the
	// last created_at so the id breaks the tie.
	var created []store.EventCreateParams
	for i := range 6 {
		name := []string{"sync_start", "sync_end"}[i%2]
		p := event(fmt.Sprintf("ev_%d", i), name, base.Add(time.Duration(i)*time.Minute), "wh_1", i%2)
		createEvent(t, st, p)
		created = append(created, p)
	}
	for _, id := range []string{"ev_6a", "ev_6b"} {
		createEvent(t, st, event(id, "sync_end", base.Add(6*time.Minute), "wh_1", 0))
	}

	ids := func(p store.EventListParams) []string {
		t.Helper()
		if p.Limit == 0 {
			p.Limit = 100
		}
		list, err := st.EventList(ctx, p)
		require.NoError(t, err)
		out := []string{}
		for _, ev := range list {
			out = append(out, ev.ID)
		}
		return out
	}
	all := ids(store.EventListParams{})
	require.Equal(t, []string{"ev_6b", "ev_6a", "ev_5", "ev_4", "ev_3", "ev_2", "ev_1", "ev_0"}, all,
		"newest first, then id descending")

	// Events read back whole, as EventGetByID returns them.
	list, err := st.EventList(ctx, store.EventListParams{Name: "sync_start", Limit: 100})
	require.NoError(t, err)
	require.Len(t, list, 3)
	require.Equal(t, &created[4].Event, list[0])

	require.Equal(t, []string{"ev_6b", "ev_6a", "ev_5", "ev_3", "ev_1"}, ids(store.EventListParams{Name: "sync_end"}))
	require.Equal(t, []string{"ev_3", "ev_2"},
		ids(store.EventListParams{Since: base.Add(2 * time.Minute), Until: base.Add(4 * time.Minute)}), "Since inclusive, Until exclusive")
	require.Equal(t, []string{"ev_5", "ev_3"},
		ids(store.EventListParams{Name: "sync_end", Since: base.Add(3 * time.Minute), Until: base.Add(6 * time.Minute)}))
	require.Empty(t, ids(store.EventListParams{Name: "dbt_run_start"}))

	// Pages of 3 walk the whole list, splitting rows with equal created_at.
	var paged []string
	before := ""
	for {
		page := ids(store.EventListParams{BeforeID: before, Limit: 3})
		if len(page) == 0 {
			break
		}
		require.LessOrEqual(t, len(page), 3)
		paged = append(paged, page...)
		before = page[len(page)-1]
	}
	require.Equal(t, all, paged)
	require.Equal(t, []string{"ev_6a", "ev_5"}, ids(store.EventListParams{BeforeID: "ev_6b", Limit: 2}))

	// Paging composes with filters.
	require.Equal(t, []string{"ev_1"}, ids(store.EventListParams{Name: "sync_end", BeforeID: "ev_3"}))

	_, err = st.EventList(ctx, store.EventListParams{BeforeID: "ev_missing", Limit: 5})
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.EventList(ctx, store.EventListParams{})
	require.Error(t, err, "a zero limit is an error")
}

// testAttemptRecordAfterCancel records attempts that were in flight when
// their delivery was cancelled: a failure leaves the delivery cancelled, a
// success finishes it as succeeded.
func testAttemptRecordAfterCancel(t *testing.T, st store.Store) {
	ctx := t.Context()
	ds := createEvent(t, st, event("ev_1", "sync_end", base, "wh_1", 2))
	cancelledAt := base.Add(time.Minute)
	for _, d := range ds {
		_, err := st.DeliveryCancel(ctx, d.ID, cancelledAt)
		require.NoError(t, err)
	}

	started := base.Add(30 * time.Second)
	recorded := base.Add(2 * time.Minute)
	next := recorded.Add(6 * time.Minute)
	a, err := st.AttemptRecord(ctx, store.AttemptRecordParams{
		Attempt:        store.Attempt{DeliveryID: ds[0].ID, URL: "https://r", StartedAt: started, StatusCode: 500, Error: "receiver answered HTTP 500"},
		State:          store.DeliveryRetrying,
		FirstAttemptAt: &started,
		NextAttemptAt:  &next,
		UpdatedAt:      recorded,
	})
	require.NoError(t, err)
	require.Equal(t, 1, a.Number)
	d, err := st.DeliveryGetByID(ctx, ds[0].ID)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryCancelled, d.State, "a failed attempt does not revive a cancelled delivery")
	require.Nil(t, d.NextAttemptAt)
	require.Equal(t, cancelledAt, *d.FinishedAt)
	require.Equal(t, 1, d.Attempts)
	require.Equal(t, 500, d.LastStatus)
	require.Equal(t, started, *d.FirstAttemptAt)
	attempts, err := st.AttemptListByDelivery(ctx, ds[0].ID)
	require.NoError(t, err)
	require.Len(t, attempts, 1, "the attempt is recorded")

	_, err = st.AttemptRecord(ctx, store.AttemptRecordParams{
		Attempt:   store.Attempt{DeliveryID: ds[1].ID, URL: "https://r", StartedAt: started, StatusCode: 200, Succeeded: true},
		State:     store.DeliverySucceeded,
		UpdatedAt: recorded,
	})
	require.NoError(t, err)
	d, err = st.DeliveryGetByID(ctx, ds[1].ID)
	require.NoError(t, err)
	require.Equal(t, store.DeliverySucceeded, d.State, "a success is the truth: the receiver has it")
	require.Equal(t, recorded, *d.FinishedAt)
}

// testAttemptRecordMany checks the worker's batched write: attempts applied
// in order (two of one delivery numbered 1 and 2), each with the effect of
// AttemptRecord; and all or nothing when one delivery does not exist.
func testAttemptRecordMany(t *testing.T, st store.Store) {
	ctx := t.Context()
	ds := createEvent(t, st, event("ev_1", "sync_end", base, "wh_1", 3))
	first := base.Add(time.Second)
	next := first.Add(6 * time.Minute)
	attempt := func(id string, status int, ok bool) store.Attempt {
		return store.Attempt{
			DeliveryID: id, URL: "https://receiver.example/hook", StartedAt: first,
			StatusCode: status, Latency: time.Millisecond, Succeeded: ok,
			RequestHeaders: http.Header{"Content-Type": {"application/json"}},
		}
	}
	got, err := st.AttemptRecordMany(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)

	got, err = st.AttemptRecordMany(ctx, []store.AttemptRecordParams{
		{Attempt: attempt(ds[0].ID, 500, false), State: store.DeliveryRetrying, FirstAttemptAt: &first, NextAttemptAt: &next, UpdatedAt: first},
		{Attempt: attempt(ds[1].ID, 200, true), State: store.DeliverySucceeded, FirstAttemptAt: &first, UpdatedAt: first},
		{Attempt: attempt(ds[0].ID, 200, true), State: store.DeliverySucceeded, FirstAttemptAt: &first, UpdatedAt: next},
	})
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, []int{1, 1, 2}, []int{got[0].Number, got[1].Number, got[2].Number})
	require.Equal(t, []string{ds[0].ID, ds[1].ID, ds[0].ID}, []string{got[0].DeliveryID, got[1].DeliveryID, got[2].DeliveryID})
	require.Greater(t, got[2].ID, got[0].ID)

	listed, err := st.AttemptListByDelivery(ctx, ds[0].ID)
	require.NoError(t, err)
	require.Equal(t, []*store.Attempt{got[0], got[2]}, listed)
	d0, err := st.DeliveryGetByID(ctx, ds[0].ID)
	require.NoError(t, err)
	require.Equal(t, store.DeliverySucceeded, d0.State)
	require.Equal(t, 2, d0.Attempts)
	require.Equal(t, next, *d0.FinishedAt)
	require.Nil(t, d0.NextAttemptAt)
	require.Zero(t, d0.ManualAttempts)
	d1, err := st.DeliveryGetByID(ctx, ds[1].ID)
	require.NoError(t, err)
	require.Equal(t, store.DeliverySucceeded, d1.State)
	require.Equal(t, 1, d1.Attempts)

	// A manual attempt (a redelivery) counts in Attempts and ManualAttempts:
	// the schedule's attempts are the difference.
	manual := attempt(ds[1].ID, 200, true)
	manual.Manual = true
	got, err = st.AttemptRecordMany(ctx, []store.AttemptRecordParams{
		{Attempt: manual, State: store.DeliverySucceeded, FirstAttemptAt: &first, UpdatedAt: next},
	})
	require.NoError(t, err)
	require.Equal(t, 2, got[0].Number)
	require.True(t, got[0].Manual)
	d1, err = st.DeliveryGetByID(ctx, ds[1].ID)
	require.NoError(t, err)
	require.Equal(t, 2, d1.Attempts)
	require.Equal(t, 1, d1.ManualAttempts)
	_, err = st.AttemptRecord(ctx, store.AttemptRecordParams{
		Attempt: attempt(ds[1].ID, 200, true), State: store.DeliverySucceeded, FirstAttemptAt: &first, UpdatedAt: next,
	})
	require.NoError(t, err)
	d1, err = st.DeliveryGetByID(ctx, ds[1].ID)
	require.NoError(t, err)
	require.Equal(t, []int{3, 1}, []int{d1.Attempts, d1.ManualAttempts})

	// One unknown delivery: nothing of the batch is recorded.
	_, err = st.AttemptRecordMany(ctx, []store.AttemptRecordParams{
		{Attempt: attempt(ds[2].ID, 200, true), State: store.DeliverySucceeded, FirstAttemptAt: &first, UpdatedAt: first},
		{Attempt: attempt("nope", 200, true), State: store.DeliverySucceeded, FirstAttemptAt: &first, UpdatedAt: first},
	})
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorContains(t, err, "nope")
	d2, err := st.DeliveryGetByID(ctx, ds[2].ID)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryPending, d2.State)
	require.Zero(t, d2.Attempts)
	listed, err = st.AttemptListByDelivery(ctx, ds[2].ID)
	require.NoError(t, err)
	require.Empty(t, listed)
}
