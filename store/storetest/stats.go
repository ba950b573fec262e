package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
)

// testStats checks StatsGet's counts against a known set of records.
func testStats(t *testing.T, st store.Store) {
	ctx := t.Context()
	bounds := []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, time.Second}

	empty, err := st.StatsGet(ctx, store.StatsParams{LatencyBounds: bounds})
	require.NoError(t, err)
	require.Zero(t, empty.Events)
	require.Len(t, empty.Deliveries, len(delivery.DeliveryStates()), "every state is listed, with zero")
	require.Len(t, empty.Jobs, len(store.JobStates))
	require.Empty(t, empty.Attempts)
	require.Equal(t, []int64{0, 0, 0}, empty.Latency.Cumulative)

	active := webhook("wh_a", store.WebhookTypeAccount, "")
	require.NoError(t, st.WebhookCreate(ctx, active))
	off := webhook("wh_off", store.WebhookTypeAccount, "")
	off.Active, off.DisabledReason = false, "failed for 3 days"
	require.NoError(t, st.WebhookCreate(ctx, off))
	paused := webhook("wh_p", store.WebhookTypeAccount, "")
	paused.Active = false
	require.NoError(t, st.WebhookCreate(ctx, paused))

	ds := createEvent(t, st, event("ev_s1", "sync_end", base, "wh_a", 3))
	createEvent(t, st, event("ev_s2", "sync_start", base.Add(time.Second), "wh_a", 1))

	first := base.Add(time.Second)
	next := first.Add(6 * time.Minute)
	record := func(id string, status int, latency time.Duration, state store.DeliveryState, ok bool) {
		t.Helper()
		p := store.AttemptRecordParams{
			Attempt:   store.Attempt{DeliveryID: id, StartedAt: first, StatusCode: status, Latency: latency, Succeeded: ok},
			State:     state,
			UpdatedAt: first,
		}
		if state == store.DeliveryRetrying {
			p.FirstAttemptAt, p.NextAttemptAt = &first, &next
		}
		_, err := st.AttemptRecord(ctx, p)
		require.NoError(t, err)
	}
	record(ds[0].ID, 503, 5*time.Millisecond, store.DeliveryRetrying, false)
	record(ds[0].ID, 0, 2*time.Second, store.DeliveryRetrying, false) // no response
	record(ds[1].ID, 200, 50*time.Millisecond, store.DeliverySucceeded, true)
	record(ds[2].ID, 404, 500*time.Millisecond, store.DeliveryFailed, false)
	_, err = st.DeliveryCancel(ctx, "ev_s2_d0", base.Add(time.Minute))
	require.NoError(t, err)

	got, err := st.StatsGet(ctx, store.StatsParams{LatencyBounds: bounds})
	require.NoError(t, err)
	require.Equal(t, int64(2), got.Events)
	require.Equal(t, map[string]int64{
		"pending": 0, "retrying": 1, "succeeded": 1, "failed": 1, "cancelled": 1,
	}, got.Deliveries)
	require.Equal(t, []store.AttemptCount{
		{Succeeded: false, StatusClass: "4xx", Count: 1},
		{Succeeded: false, StatusClass: "5xx", Count: 1},
		{Succeeded: false, StatusClass: "none", Count: 1},
		{Succeeded: true, StatusClass: "2xx", Count: 1},
	}, got.Attempts)
	require.Equal(t, store.LatencyHistogram{
		Bounds:     bounds,
		Cumulative: []int64{1, 2, 3},
		Count:      4,
		Sum:        5*time.Millisecond + 2*time.Second + 50*time.Millisecond + 500*time.Millisecond,
	}, got.Latency)
	require.Equal(t, int64(3), got.Webhooks)
	require.Equal(t, int64(1), got.WebhooksActive)
	require.Equal(t, int64(1), got.WebhooksDeactivated)
	var jobs int64
	for _, n := range got.Jobs {
		jobs += n
	}
	require.Equal(t, int64(2), jobs, "a batch job for the event's three deliveries, a job for the lone one")
	require.Len(t, got.Jobs, len(store.JobStates), "no state outside store.JobStates")

	_, err = st.StatsGet(ctx, store.StatsParams{LatencyBounds: []time.Duration{time.Second, time.Millisecond}})
	require.Error(t, err, "bounds must ascend")
}

// testAttemptLastID checks that AttemptLastID follows recorded attempts.
func testAttemptLastID(t *testing.T, st store.Store) {
	ctx := t.Context()
	last, err := st.AttemptLastID(ctx)
	require.NoError(t, err)
	require.Zero(t, last, "no attempt yet")
	ds := createEvent(t, st, event("ev_l", "sync_end", base, "wh_1", 2))
	var ids []int64
	for _, d := range ds {
		a, err := st.AttemptRecord(ctx, store.AttemptRecordParams{
			Attempt: store.Attempt{DeliveryID: d.ID, StartedAt: base, StatusCode: 200, Succeeded: true},
			State:   store.DeliverySucceeded, UpdatedAt: base,
		})
		require.NoError(t, err)
		ids = append(ids, a.ID)
		last, err = st.AttemptLastID(ctx)
		require.NoError(t, err)
		require.Equal(t, a.ID, last)
	}
	require.Greater(t, ids[1], ids[0])
}
