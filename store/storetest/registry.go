package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/store"
)

func group(id, name string) *store.Group {
	return &store.Group{ID: id, Name: name, CreatedAt: base}
}

func connection(id, groupID string) *store.Connection {
	return &store.Connection{
		ID:            id,
		GroupID:       groupID,
		Service:       "google_cloud_postgresql",
		Schema:        "pg_" + id,
		SyncFrequency: 360,
		ScheduleType:  store.ScheduleTypeAuto,
		CreatedAt:     base,
		UpdatedAt:     base,
	}
}

func createConnection(t *testing.T, st store.Store, c *store.Connection, events ...store.EventCreateParams) []*store.Delivery {
	t.Helper()
	ds, err := st.ConnectionCreate(t.Context(), store.ConnectionCreateParams{Connection: c, Events: events})
	require.NoError(t, err)
	return ds
}

func testGroupCRUD(t *testing.T, st store.Store) {
	ctx := t.Context()
	warehouse := group("inappropriate_implode", "Warehouse")
	require.NoError(t, st.GroupCreate(ctx, warehouse))
	staging := group("elegant_canyon", "Staging")
	staging.CreatedAt = time.Date(2025, 7, 14, 23, 59, 58, 123456789, time.FixedZone("X", 3600))
	require.NoError(t, st.GroupCreate(ctx, staging))
	require.Positive(t, warehouse.Seq)
	require.Greater(t, staging.Seq, warehouse.Seq)
	require.Equal(t, time.Date(2025, 7, 14, 22, 59, 58, 123456000, time.UTC), staging.CreatedAt, "normalized in place")

	got, err := st.GroupGetByID(ctx, "elegant_canyon")
	require.NoError(t, err)
	require.Equal(t, staging, got)

	err = st.GroupCreate(ctx, group("elegant_canyon", "Again"))
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = st.GroupGetByID(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Error(t, st.GroupCreate(ctx, &store.Group{Name: "no id"}))

	// Pages in creation order.
	for i := range 5 {
		require.NoError(t, st.GroupCreate(ctx, group(fmt.Sprintf("g_%d", i), "")))
	}
	var ids []string
	var after int64
	for {
		list, err := st.GroupList(ctx, store.GroupListParams{AfterSeq: after, Limit: 3})
		require.NoError(t, err)
		if len(list) == 0 {
			break
		}
		for _, g := range list {
			ids = append(ids, g.ID)
		}
		after = list[len(list)-1].Seq
	}
	require.Equal(t, []string{"inappropriate_implode", "elegant_canyon", "g_0", "g_1", "g_2", "g_3", "g_4"}, ids)
	_, err = st.GroupList(ctx, store.GroupListParams{})
	require.Error(t, err, "a zero limit is an error")
}

func testConnectionCreate(t *testing.T, st store.Store) {
	ctx := t.Context()
	require.NoError(t, st.GroupCreate(ctx, group("g1", "One")))
	require.NoError(t, st.GroupCreate(ctx, group("g2", "Two")))

	succeeded := base.Add(-time.Hour)
	c := connection("assimilate_seem", "g1")
	c.SucceededAt = &succeeded
	ds := createConnection(t, st, c, event("ev_create", "create_connector", base, "wh_1", 2))
	require.Len(t, ds, 2)
	require.Equal(t, int64(1), c.Version)
	require.Positive(t, c.Seq)

	got, err := st.ConnectionGetByID(ctx, "assimilate_seem")
	require.NoError(t, err)
	require.Equal(t, c, got)
	require.Nil(t, got.Sync)
	require.Nil(t, got.FailedAt)
	_, err = st.EventGetByID(ctx, "ev_create")
	require.NoError(t, err, "the event is created with the connection")
	require.Len(t, deliverJobs(t, st), 2)

	// A duplicate id, or a missing group, writes nothing, events included.
	_, err = st.ConnectionCreate(ctx, store.ConnectionCreateParams{
		Connection: connection("assimilate_seem", "g2"),
		Events:     []store.EventCreateParams{event("ev_dup", "create_connector", base, "wh_1", 1)},
	})
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = st.ConnectionCreate(ctx, store.ConnectionCreateParams{
		Connection: connection("orphan", "no_such_group"),
		Events:     []store.EventCreateParams{event("ev_orphan", "create_connector", base, "wh_1", 1)},
	})
	require.ErrorIs(t, err, store.ErrNotFound)
	for _, id := range []string{"ev_dup", "ev_orphan"} {
		_, err = st.EventGetByID(ctx, id)
		require.ErrorIs(t, err, store.ErrNotFound)
	}
	_, err = st.ConnectionGetByID(ctx, "orphan")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Len(t, deliverJobs(t, st), 2)
	require.Error(t, createConnectionErr(t, st, &store.Connection{ID: "x"}), "no group id")

	// List, all or one group's, in pages.
	for i := range 4 {
		createConnection(t, st, connection(fmt.Sprintf("c_%d", i), []string{"g1", "g2"}[i%2]))
	}
	ids := func(p store.ConnectionListParams) []string {
		t.Helper()
		var out []string
		for {
			list, err := st.ConnectionList(ctx, p)
			require.NoError(t, err)
			if len(list) == 0 {
				return out
			}
			for _, c := range list {
				out = append(out, c.ID)
			}
			p.AfterSeq = list[len(list)-1].Seq
		}
	}
	require.Equal(t, []string{"assimilate_seem", "c_0", "c_1", "c_2", "c_3"}, ids(store.ConnectionListParams{Limit: 2}))
	require.Equal(t, []string{"assimilate_seem", "c_0", "c_2"}, ids(store.ConnectionListParams{GroupID: "g1", Limit: 2}))
	require.Equal(t, []string{"c_1", "c_3"}, ids(store.ConnectionListParams{GroupID: "g2", Limit: 10}))
	require.Empty(t, ids(store.ConnectionListParams{GroupID: "g3", Limit: 10}))
	_, err = st.ConnectionList(ctx, store.ConnectionListParams{})
	require.Error(t, err, "a zero limit is an error")
}

func createConnectionErr(t *testing.T, st store.Store, c *store.Connection) error {
	t.Helper()
	_, err := st.ConnectionCreate(t.Context(), store.ConnectionCreateParams{Connection: c})
	return err
}

func testConnectionUpdate(t *testing.T, st store.Store) {
	ctx := t.Context()
	require.NoError(t, st.GroupCreate(ctx, group("g1", "One")))
	orig := connection("c1", "g1")
	createConnection(t, st, orig)
	other := connection("c2", "g1")
	createConnection(t, st, other)

	// A sync: the connection, sync_start now and sync_end due later, in one
	// transaction.
	start := base.Add(time.Minute)
	end := start.Add(5 * time.Minute)
	sync := &store.ConnectionSync{
		ID:            "b4703f73-6315-4e22-8d7a-3bfb18b2fed2",
		StartedAt:     start.Add(123 * time.Nanosecond),
		EndsAt:        end,
		Status:        "RESCHEDULED",
		Reason:        "quota",
		TaskType:      "reconnect",
		RescheduledAt: end.Add(time.Hour),
		Historical:    true,
		EndEventID:    "ev_end",
	}
	startEv := event("ev_start", "sync_start", start, "wh_1", 1)
	endEv := event("ev_end", "sync_end", start, "wh_1", 2)
	endEv.Deliveries[0].RunAt, endEv.Deliveries[1].RunAt = end, end
	got, ds, err := st.ConnectionUpdate(ctx, store.ConnectionUpdateParams{
		ID:            "c1",
		IfVersion:     1,
		Sync:          sync,
		ResyncPending: ptr(true),
		UpdatedAt:     start,
		Events:        []store.EventCreateParams{startEv, endEv},
	})
	require.NoError(t, err)
	require.Len(t, ds, 3)
	require.Equal(t, "ev_start", ds[0].EventID)
	require.Equal(t, end, *ds[2].NextAttemptAt, "sync_end is due when the sync ends")
	want := *orig
	want.Sync = &store.ConnectionSync{}
	*want.Sync = *sync
	want.Sync.StartedAt = start // microseconds
	want.ResyncPending = true
	want.UpdatedAt = start
	want.Version = 2
	require.Equal(t, &want, got)
	fetched, err := st.ConnectionGetByID(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, &want, fetched)
	jobs := deliverJobs(t, st)
	require.Len(t, jobs, 3)
	for _, job := range jobs {
		if job.Args.DeliveryID != ds[0].ID {
			require.Equal(t, rivertype.JobStateScheduled, job.State, "sync_end's deliveries wait for the sync's end")
			require.WithinDuration(t, end, job.ScheduledAt, time.Millisecond)
			require.False(t, job.Batch)
		}
	}

	// A stale version changes nothing, not even the events.
	_, _, err = st.ConnectionUpdate(ctx, store.ConnectionUpdateParams{
		ID: "c1", IfVersion: 1, Paused: ptr(true), UpdatedAt: end,
		Events: []store.EventCreateParams{event("ev_stale", "pause_connector", end, "wh_1", 1)},
	})
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = st.EventGetByID(ctx, "ev_stale")
	require.ErrorIs(t, err, store.ErrNotFound)
	fetched, err = st.ConnectionGetByID(ctx, "c1")
	require.NoError(t, err)
	require.Equal(t, &want, fetched)

	// One delivery of the sync_end has an attempt already; cancelling the
	// event cancels what is still open and leaves finished ones alone.
	_, err = st.AttemptRecord(ctx, store.AttemptRecordParams{
		Attempt: store.Attempt{DeliveryID: ds[1].ID, StartedAt: end, StatusCode: 200, Succeeded: true},
		State:   store.DeliverySucceeded, UpdatedAt: end,
	})
	require.NoError(t, err)
	succeeded, failed := end.Add(time.Second), end.Add(2*time.Second)
	later := end.Add(time.Minute)
	got, ds, err = st.ConnectionUpdate(ctx, store.ConnectionUpdateParams{
		ID:            "c1",
		Paused:        ptr(true),
		SyncFrequency: ptr(60),
		ScheduleType:  ptr(store.ScheduleTypeManual),
		SucceededAt:   &succeeded,
		FailedAt:      &failed,
		ResyncPending: ptr(false),
		UpdatedAt:     later,
		CancelEventID: "ev_end",
	})
	require.NoError(t, err)
	require.Empty(t, ds)
	want.Paused, want.SyncFrequency, want.ScheduleType = true, 60, store.ScheduleTypeManual
	want.SucceededAt, want.FailedAt = &succeeded, &failed
	want.ResyncPending, want.UpdatedAt, want.Version = false, later, 3
	require.Equal(t, &want, got)
	d, err := st.DeliveryGetByID(ctx, eventDeliveryIDs(t, st, "ev_end")[0])
	require.NoError(t, err)
	require.Equal(t, store.DeliverySucceeded, d.State, "finished deliveries stay as they are")
	d, err = st.DeliveryGetByID(ctx, eventDeliveryIDs(t, st, "ev_end")[1])
	require.NoError(t, err)
	require.Equal(t, store.DeliveryCancelled, d.State)
	require.Equal(t, later, *d.FinishedAt)
	require.Nil(t, d.NextAttemptAt)
	d, err = st.DeliveryGetByID(ctx, eventDeliveryIDs(t, st, "ev_start")[0])
	require.NoError(t, err)
	require.Equal(t, store.DeliveryPending, d.State, "other events are untouched")

	untouched, err := st.ConnectionGetByID(ctx, "c2")
	require.NoError(t, err)
	require.Equal(t, other, untouched)

	// No IfVersion: applies whatever the version; a missing id is not found.
	got, _, err = st.ConnectionUpdate(ctx, store.ConnectionUpdateParams{ID: "c1", Paused: ptr(false)})
	require.NoError(t, err)
	require.False(t, got.Paused)
	require.Equal(t, int64(4), got.Version)
	require.Equal(t, later, got.UpdatedAt, "a zero UpdatedAt keeps it")
	_, _, err = st.ConnectionUpdate(ctx, store.ConnectionUpdateParams{ID: "nope", Paused: ptr(true)})
	require.ErrorIs(t, err, store.ErrNotFound)
	_, _, err = st.ConnectionUpdate(ctx, store.ConnectionUpdateParams{ID: "nope", IfVersion: 1, Paused: ptr(true)})
	require.ErrorIs(t, err, store.ErrNotFound)

	// A failing event rolls the update back.
	bad := event("ev_bad", "sync_start", later, "wh_1", 1)
	bad.Deliveries[0].ID = eventDeliveryIDs(t, st, "ev_start")[0] // exists already
	_, _, err = st.ConnectionUpdate(ctx, store.ConnectionUpdateParams{ID: "c1", Paused: ptr(true), Events: []store.EventCreateParams{bad}})
	require.ErrorIs(t, err, store.ErrConflict)
	fetched, err = st.ConnectionGetByID(ctx, "c1")
	require.NoError(t, err)
	require.False(t, fetched.Paused)
	require.Equal(t, int64(4), fetched.Version)
}

// eventDeliveryIDs returns the ids of the deliveries of event eventID, oldest first.
func eventDeliveryIDs(t *testing.T, st store.Store, eventID string) []string {
	t.Helper()
	list, err := st.DeliveryList(t.Context(), store.DeliveryListParams{EventID: eventID, Limit: 100})
	require.NoError(t, err)
	ids := make([]string, len(list))
	for i, d := range list {
		ids[len(list)-1-i] = d.ID
	}
	return ids
}

func testEventCreateMany(t *testing.T, st store.Store) {
	ctx := t.Context()
	a := event("ev_a", "sync_start", base, "wh_1", 1)
	b := event("ev_b", "sync_end", base, "wh_1", 2)
	b.Deliveries[0].RunAt = base.Add(time.Hour)
	ds, err := st.EventCreateMany(ctx, []store.EventCreateParams{a, b})
	require.NoError(t, err)
	require.Equal(t, []string{"ev_a_d0", "ev_b_d0", "ev_b_d1"}, []string{ds[0].ID, ds[1].ID, ds[2].ID})
	require.Equal(t, base.Add(time.Hour), *ds[1].NextAttemptAt)
	require.Len(t, deliverJobs(t, st), 3)

	// All or nothing: the second event's id exists.
	_, err = st.EventCreateMany(ctx, []store.EventCreateParams{event("ev_c", "sync_start", base, "wh_1", 1), event("ev_a", "sync_end", base, "wh_1", 1)})
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = st.EventGetByID(ctx, "ev_c")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Len(t, deliverJobs(t, st), 3)

	ds, err = st.EventCreateMany(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, ds)
}

func testWebhookHealth(t *testing.T, st store.Store) {
	ctx := t.Context()
	wh := createWebhook(t, st, webhook("wh_1", store.WebhookTypeAccount, "", "sync_end"))
	require.Nil(t, wh.FailingSince)
	other := createWebhook(t, st, webhook("wh_2", store.WebhookTypeAccount, "", "sync_end"))

	t1 := base.Add(time.Minute + 7*time.Nanosecond)
	got, err := st.WebhookHealthRecord(ctx, store.WebhookHealthParams{ID: "wh_1", At: t1})
	require.NoError(t, err)
	require.Equal(t, base.Add(time.Minute), *got.FailingSince)
	want := *wh
	want.FailingSince = got.FailingSince
	require.Equal(t, &want, got, "only FailingSince changes")

	// A later failure keeps the first failure's time.
	got, err = st.WebhookHealthRecord(ctx, store.WebhookHealthParams{ID: "wh_1", At: t1.Add(time.Hour)})
	require.NoError(t, err)
	require.Equal(t, base.Add(time.Minute), *got.FailingSince)
	fetched, err := st.WebhookGetByID(ctx, "wh_1")
	require.NoError(t, err)
	require.Equal(t, &want, fetched)

	// A success clears it; the next failure starts again.
	got, err = st.WebhookHealthRecord(ctx, store.WebhookHealthParams{ID: "wh_1", Succeeded: true, At: t1.Add(2 * time.Hour)})
	require.NoError(t, err)
	require.Nil(t, got.FailingSince)
	got, err = st.WebhookHealthRecord(ctx, store.WebhookHealthParams{ID: "wh_1", At: base.Add(3 * time.Hour)})
	require.NoError(t, err)
	require.Equal(t, base.Add(3*time.Hour), *got.FailingSince)

	// An update that does not ask keeps it; ClearFailingSince clears it.
	got, err = st.WebhookUpdate(ctx, store.WebhookUpdateParams{ID: "wh_1", Active: ptr(false), DisabledReason: ptr("failing"), UpdatedAt: base})
	require.NoError(t, err)
	require.Equal(t, base.Add(3*time.Hour), *got.FailingSince)
	got, err = st.WebhookUpdate(ctx, store.WebhookUpdateParams{ID: "wh_1", Active: ptr(true), ClearFailingSince: true, UpdatedAt: base})
	require.NoError(t, err)
	require.Nil(t, got.FailingSince)
	require.True(t, got.Active)

	// Created with a FailingSince, it reads back.
	third := webhook("wh_3", store.WebhookTypeAccount, "", "sync_end")
	third.FailingSince = &t1
	createWebhook(t, st, third)
	fetched, err = st.WebhookGetByID(ctx, "wh_3")
	require.NoError(t, err)
	require.Equal(t, third, fetched)

	_, err = st.WebhookHealthRecord(ctx, store.WebhookHealthParams{ID: "nope", At: base})
	require.ErrorIs(t, err, store.ErrNotFound)
	untouched, err := st.WebhookGetByID(ctx, "wh_2")
	require.NoError(t, err)
	require.Equal(t, other, untouched)
}

// testConnectionExtraAndSchema: a connection's Extra is kept byte for byte
// (key order and spacing included) through create, read, list and update, an
// update without Extra leaves it alone, and ConnectionList filters by exact
// schema name, combined with the group.
func testConnectionExtraAndSchema(t *testing.T, st store.Store) {
	ctx := t.Context()
	require.NoError(t, st.GroupCreate(ctx, group("g1", "One")))
	require.NoError(t, st.GroupCreate(ctx, group("g2", "Two")))
	extra := []byte(`{"service_version":1,"daily_sync_time":"14:00","config":{"z":1, "a":"b"}}`)
	c := connection("c_extra", "g1")
	c.Schema = "hubspot"
	c.Extra = extra
	createConnection(t, st, c)
	got, err := st.ConnectionGetByID(ctx, "c_extra")
	require.NoError(t, err)
	require.Equal(t, string(extra), string(got.Extra))

	plain := connection("c_plain", "g2")
	plain.Schema = "hubspot"
	createConnection(t, st, plain)
	got, err = st.ConnectionGetByID(ctx, "c_plain")
	require.NoError(t, err)
	require.Nil(t, got.Extra, "no extra fields read back as nil")
	other := connection("c_other", "g1")
	other.Schema = "hubspot_2"
	createConnection(t, st, other)

	// An update without Extra keeps it; with Extra replaces it.
	got, _, err = st.ConnectionUpdate(ctx, store.ConnectionUpdateParams{ID: "c_extra", Paused: ptr(true), UpdatedAt: base})
	require.NoError(t, err)
	require.Equal(t, string(extra), string(got.Extra))
	replaced := []byte(`{"daily_sync_time":"03:00","pause_after_trial":true}`)
	got, _, err = st.ConnectionUpdate(ctx, store.ConnectionUpdateParams{ID: "c_extra", Extra: replaced, UpdatedAt: base})
	require.NoError(t, err)
	require.Equal(t, string(replaced), string(got.Extra))
	got, err = st.ConnectionGetByID(ctx, "c_extra")
	require.NoError(t, err)
	require.Equal(t, string(replaced), string(got.Extra))

	ids := func(p store.ConnectionListParams) []string {
		t.Helper()
		p.Limit = 100
		list, err := st.ConnectionList(ctx, p)
		require.NoError(t, err)
		out := []string{}
		for _, c := range list {
			out = append(out, c.ID)
		}
		return out
	}
	require.Equal(t, []string{"c_extra", "c_plain"}, ids(store.ConnectionListParams{Schema: "hubspot"}), "exact match, not a prefix")
	require.Equal(t, []string{"c_extra"}, ids(store.ConnectionListParams{Schema: "hubspot", GroupID: "g1"}))
	require.Equal(t, []string{"c_plain"}, ids(store.ConnectionListParams{Schema: "hubspot", GroupID: "g2"}))
	require.Equal(t, []string{"c_other"}, ids(store.ConnectionListParams{Schema: "hubspot_2"}))
	require.Empty(t, ids(store.ConnectionListParams{Schema: "HUBSPOT"}))
	list, err := st.ConnectionList(ctx, store.ConnectionListParams{Schema: "hubspot", Limit: 100})
	require.NoError(t, err)
	require.Equal(t, string(replaced), string(list[0].Extra), "lists carry Extra too")
}
