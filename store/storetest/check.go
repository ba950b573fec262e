package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
)

// testCheck: a check's report is stored byte for byte (key order and
// non-ASCII text kept), read back by id with its webhook and time; a second
// report with the same id is ErrConflict, an unknown id ErrNotFound, and a
// report that is not a JSON object is refused.
func testCheck(t *testing.T, st store.Store) {
	ctx := t.Context()
	report := []byte(`{"url":"http://127.0.0.1:9/hook","profile":"fivetran","probes":[{"id":"non_ascii","reason":"raw UTF-8 🚀 数据 accepted"}],"a_last":1}`)
	c := &store.Check{ID: "chk_1", WebhookID: "program_quoth", Report: report,
		CreatedAt: time.Date(2025, 7, 14, 23, 59, 58, 123456789, time.FixedZone("X", 3600))}
	require.NoError(t, st.CheckCreate(ctx, c))
	require.Equal(t, time.Date(2025, 7, 14, 22, 59, 58, 123456000, time.UTC), c.CreatedAt, "normalized in place")

	got, err := st.CheckGetByID(ctx, "chk_1")
	require.NoError(t, err)
	require.Equal(t, c.ID, got.ID)
	require.Equal(t, "program_quoth", got.WebhookID)
	require.True(t, got.CreatedAt.Equal(c.CreatedAt), "created_at %v, want %v", got.CreatedAt, c.CreatedAt)
	require.Equal(t, string(report), string(got.Report), "byte for byte")

	explicit := &store.Check{ID: "chk_2", Report: []byte(`{"url":"http://x"}`), CreatedAt: base}
	require.NoError(t, st.CheckCreate(ctx, explicit))
	got, err = st.CheckGetByID(ctx, "chk_2")
	require.NoError(t, err)
	require.Empty(t, got.WebhookID)

	err = st.CheckCreate(ctx, &store.Check{ID: "chk_1", Report: []byte(`{}`), CreatedAt: base})
	require.True(t, errors.Is(err, store.ErrConflict), "duplicate id: %v", err)
	_, err = st.CheckGetByID(ctx, "nope")
	require.True(t, errors.Is(err, store.ErrNotFound), "unknown id: %v", err)
	require.Error(t, st.CheckCreate(ctx, &store.Check{ID: "chk_3", Report: []byte(`[1]`), CreatedAt: base}))
	require.Error(t, st.CheckCreate(ctx, &store.Check{ID: "chk_4", Report: []byte(`{`), CreatedAt: base}))
	_, err = st.CheckGetByID(ctx, "chk_3")
	require.True(t, errors.Is(err, store.ErrNotFound), "a refused report is not stored: %v", err)
}

// testFaults: a webhook's faults are kept on create and update (and
// cleared by an update to none), a delivery's faults as emitted, on a
// single read and on the worker's batched read, and an attempt's fault
// kinds as recorded.
func testFaults(t *testing.T, st store.Store) {
	ctx := t.Context()
	faults := delivery.Faults{Seed: 7, Duplicate: 0.5, DuplicateCount: 2, Delay: "1s", BadSignature: 1, ExtraFields: 0.25}
	wh := webhook("wh_f", "account", "", "sync_end")
	wh.Faults = faults
	createWebhook(t, st, wh)
	got, err := st.WebhookGetByID(ctx, "wh_f")
	require.NoError(t, err)
	require.Equal(t, faults, got.Faults)
	plain := createWebhook(t, st, webhook("wh_plain", "account", "", "sync_end"))
	got, err = st.WebhookGetByID(ctx, plain.ID)
	require.NoError(t, err)
	require.True(t, got.Faults.IsZero())

	other := delivery.Faults{Seed: 9, ExtraFields: 1}
	got, err = st.WebhookUpdate(ctx, store.WebhookUpdateParams{ID: "wh_f", Faults: &other, UpdatedAt: base})
	require.NoError(t, err)
	require.Equal(t, other, got.Faults)
	got, err = st.WebhookUpdate(ctx, store.WebhookUpdateParams{ID: "wh_f", Active: ptr(false), UpdatedAt: base})
	require.NoError(t, err)
	require.Equal(t, other, got.Faults, "kept by an update of other fields")
	got, err = st.WebhookUpdate(ctx, store.WebhookUpdateParams{ID: "wh_f", Faults: &delivery.Faults{}, UpdatedAt: base})
	require.NoError(t, err)
	require.True(t, got.Faults.IsZero(), "cleared")

	p := event("ev_f", "sync_end", base, "wh_f", 2)
	p.Deliveries[0].Faults = faults
	ds := createEvent(t, st, p)
	require.Equal(t, faults, ds[0].Faults)
	d, err := st.DeliveryGetByID(ctx, ds[0].ID)
	require.NoError(t, err)
	require.Equal(t, faults, d.Faults)
	d, err = st.DeliveryGetByID(ctx, ds[1].ID)
	require.NoError(t, err)
	require.True(t, d.Faults.IsZero())
	many, err := st.DeliveryGetManyWithWebhook(ctx, []string{ds[0].ID})
	require.NoError(t, err)
	require.Equal(t, faults, many[ds[0].ID].Delivery.Faults)

	at := base.Add(time.Second)
	_, err = st.AttemptRecordMany(ctx, []store.AttemptRecordParams{
		{Attempt: store.Attempt{DeliveryID: ds[0].ID, URL: "http://x", StartedAt: at, StatusCode: 401, Fault: "bad_signature,duplicate"},
			State: store.DeliveryRetrying, FirstAttemptAt: &at, NextAttemptAt: &at, UpdatedAt: at},
		{Attempt: store.Attempt{DeliveryID: ds[1].ID, URL: "http://x", StartedAt: at, StatusCode: 200, Succeeded: true},
			State: store.DeliverySucceeded, FirstAttemptAt: &at, UpdatedAt: at},
	})
	require.NoError(t, err)
	_, err = st.AttemptRecord(ctx, store.AttemptRecordParams{
		Attempt: store.Attempt{DeliveryID: ds[0].ID, URL: "http://x", StartedAt: at, StatusCode: 200, Succeeded: true, Fault: "extra_fields"},
		State:   store.DeliverySucceeded, FirstAttemptAt: &at, UpdatedAt: at})
	require.NoError(t, err)
	attempts, err := st.AttemptListByDelivery(ctx, ds[0].ID)
	require.NoError(t, err)
	require.Len(t, attempts, 2)
	require.Equal(t, "bad_signature,duplicate", attempts[0].Fault)
	require.Equal(t, "extra_fields", attempts[1].Fault)
	attempts, err = st.AttemptListByDelivery(ctx, ds[1].ID)
	require.NoError(t, err)
	require.Empty(t, attempts[0].Fault)

	stats, err := st.StatsGet(ctx, store.StatsParams{})
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"delay": 0, "bad_signature": 1, "extra_fields": 1, "duplicate": 1, "reorder": 0}, stats.Faults)
}
