// Package storetest is the conformance suite of store.Store. Every backend
// runs it with one line in its tests:
//
//	func TestStore(t *testing.T) { storetest.Run(t, openTestStore) }
//
// Adding store behaviour means adding to this suite, so that SQLite and
// PostgreSQL cannot drift apart.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
)

// Run runs the conformance suite against the stores open returns. open must
// return a fresh, migrated store that no other test uses (a new file or
// schema) and register its Close (and any cleanup of the database) with
// t.Cleanup. Subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store)
	}{
		{"WebhookCRUD", testWebhookCRUD},
		{"NotFoundAndConflict", testNotFoundAndConflict},
		{"WebhookUpdateOnlyGivenFields", testWebhookUpdateOnlyGivenFields},
		{"WebhookSecretRotation", testWebhookSecretRotation},
		{"WebhookListPagination", testWebhookListPagination},
		{"WebhookListSubscribed", testWebhookListSubscribed},
		{"EventCreate", testEventCreate},
		{"EventCreateAtomic", testEventCreateAtomic},
		{"DeliveryList", testDeliveryList},
		{"DeliveryCancel", testDeliveryCancel},
		{"DeliveryEnqueue", testDeliveryEnqueue},
		{"AttemptRecord", testAttemptRecord},
		{"AttemptRecordAfterCancel", testAttemptRecordAfterCancel},
		{"AttemptRecordMany", testAttemptRecordMany},
		{"AttemptRecordRetryJob", testAttemptRecordRetryJob},
		{"BatchJobs", testBatchJobs},
		{"DeliveryGetManyWithWebhook", testDeliveryGetManyWithWebhook},
		{"EventList", testEventList},
		{"Concurrent", testConcurrent},
		{"TimePrecision", testTimePrecision},
		{"Migrate", testMigrate},
		{"QueueWorksJobs", testQueueWorksJobs},
		{"EventCreateMany", testEventCreateMany},
		{"WebhookHealth", testWebhookHealth},
		{"GroupCRUD", testGroupCRUD},
		{"ConnectionCreate", testConnectionCreate},
		{"ConnectionUpdate", testConnectionUpdate},
		{"ConnectionExtraAndSchema", testConnectionExtraAndSchema},
		{"JobMaxAttempts", testJobMaxAttempts},
		{"Stats", testStats},
		{"AttemptLastID", testAttemptLastID},
		{"Check", testCheck},
		{"Faults", testFaults},
		{"Settings", testSettings},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// base is the suite's reference time: not now, with a sub-microsecond part
// the store drops.
var base = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func webhook(id, typ, groupID string, events ...string) *store.Webhook {
	return &store.Webhook{
		ID:        id,
		Type:      typ,
		GroupID:   groupID,
		URL:       "https://receiver.example/" + id,
		Events:    events,
		Active:    true,
		Secret:    "secret-" + id,
		CreatedAt: base,
		CreatedBy: "user_1",
		UpdatedAt: base,
		Profile:   delivery.ProfileFivetran,
	}
}

func createWebhook(t *testing.T, st store.Store, wh *store.Webhook) *store.Webhook {
	t.Helper()
	require.NoError(t, st.WebhookCreate(t.Context(), wh))
	return wh
}

// event returns EventCreateParams for an event with n deliveries to
// webhookID, ids "<id>_d<i>".
func event(id, name string, at time.Time, webhookID string, n int) store.EventCreateParams {
	p := store.EventCreateParams{Event: store.Event{
		ID:        id,
		Name:      name,
		GroupID:   "group_1",
		Source:    json.RawMessage(`{"connector_id": "c1",  "sync_id":"s1"}`),
		CreatedAt: at,
	}}
	for i := range n {
		p.Deliveries = append(p.Deliveries, store.DeliveryNew{
			ID:        fmt.Sprintf("%s_d%d", id, i),
			WebhookID: webhookID,
			Profile:   delivery.ProfileFivetran,
			Body:      []byte(fmt.Sprintf(`{"event":%q,"n":%d}`, name, i)),
		})
	}
	return p
}

func createEvent(t *testing.T, st store.Store, p store.EventCreateParams) []*store.Delivery {
	t.Helper()
	ds, err := st.EventCreate(t.Context(), p)
	require.NoError(t, err)
	require.Len(t, ds, len(p.Deliveries))
	return ds
}

// jobLister is the part of a River client the suite uses to look at jobs;
// every *river.Client has it, whatever its driver.
type jobLister interface {
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

// deliveryJob is a River job seen for one delivery it carries: a job of
// the delivery's own (store.DeliverArgs), or a batch job
// (store.DeliverBatchArgs) shared with others.
type deliveryJob struct {
	*rivertype.JobRow
	// Args are the job's arguments for this delivery; for a batch job, its
	// delivery id.
	Args  store.DeliverArgs
	Batch bool
}

// deliverJobs returns the delivery jobs in the store's database, in
// insertion order, one entry per delivery a job carries (so a batch job of
// three deliveries gives three), seen through an insert-only River client
// from Queue.
func deliverJobs(t *testing.T, st store.Store) []deliveryJob {
	t.Helper()
	q, err := st.Queue(&river.Config{})
	require.NoError(t, err)
	lister, ok := q.(jobLister)
	require.True(t, ok, "Queue returned %T, which has no JobList", q)
	res, err := lister.JobList(t.Context(),
		river.NewJobListParams().Kinds(store.DeliverArgs{}.Kind(), store.DeliverBatchArgs{}.Kind()).First(10_000))
	require.NoError(t, err)
	var out []deliveryJob
	for _, job := range res.Jobs {
		if job.Kind == (store.DeliverBatchArgs{}).Kind() {
			var args store.DeliverBatchArgs
			require.NoError(t, json.Unmarshal(job.EncodedArgs, &args))
			require.NotEmpty(t, args.DeliveryIDs, "batch job %d", job.ID)
			for _, id := range args.DeliveryIDs {
				out = append(out, deliveryJob{JobRow: job, Args: store.DeliverArgs{DeliveryID: id}, Batch: true})
			}
			continue
		}
		var args store.DeliverArgs
		require.NoError(t, json.Unmarshal(job.EncodedArgs, &args))
		out = append(out, deliveryJob{JobRow: job, Args: args})
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func testWebhookCRUD(t *testing.T, st store.Store) {
	ctx := t.Context()
	account := createWebhook(t, st, webhook("wh_account", store.WebhookTypeAccount, "", "sync_start", "sync_end"))
	group := webhook("wh_group", store.WebhookTypeGroup, "group_1", "sync_end")
	group.Profile = delivery.ProfilePortable
	group.Signing = delivery.Signing{Scheme: delivery.SchemeHMAC, Algorithm: "SHA512", Encoding: "HEX", Header: "X-Sig", LowerHex: true}
	group.DisabledReason = "failing"
	group.Active = false
	createWebhook(t, st, group)

	require.Positive(t, account.Seq)
	require.Greater(t, group.Seq, account.Seq)

	got, err := st.WebhookGetByID(ctx, "wh_account")
	require.NoError(t, err)
	require.Equal(t, account, got)
	got, err = st.WebhookGetByID(ctx, "wh_group")
	require.NoError(t, err)
	require.Equal(t, group, got)

	list, err := st.WebhookList(ctx, store.WebhookListParams{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, []*store.Webhook{account, group}, list)

	// Deleting a webhook keeps its deliveries.
	ds := createEvent(t, st, event("ev_1", "sync_end", base, "wh_account", 1))
	require.NoError(t, st.WebhookDelete(ctx, "wh_account"))
	_, err = st.WebhookGetByID(ctx, "wh_account")
	require.ErrorIs(t, err, store.ErrNotFound)
	d, err := st.DeliveryGetByID(ctx, ds[0].ID)
	require.NoError(t, err)
	require.Equal(t, "wh_account", d.WebhookID)

	list, err = st.WebhookList(ctx, store.WebhookListParams{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, []*store.Webhook{group}, list)

	// An id can be reused after delete; the new webhook gets a new Seq.
	again := createWebhook(t, st, webhook("wh_account", store.WebhookTypeAccount, "", "sync_end"))
	require.Greater(t, again.Seq, group.Seq)
}

func testNotFoundAndConflict(t *testing.T, st store.Store) {
	ctx := t.Context()
	createWebhook(t, st, webhook("wh_1", store.WebhookTypeAccount, "", "sync_end"))

	err := st.WebhookCreate(ctx, webhook("wh_1", store.WebhookTypeGroup, "g", "sync_end"))
	require.ErrorIs(t, err, store.ErrConflict)
	require.ErrorContains(t, err, "wh_1")

	_, err = st.WebhookGetByID(ctx, "wh_missing")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorContains(t, err, "get webhook wh_missing")

	_, err = st.WebhookUpdate(ctx, store.WebhookUpdateParams{ID: "wh_missing", URL: ptr("https://x"), UpdatedAt: base})
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.WebhookUpdate(ctx, store.WebhookUpdateParams{ID: "wh_missing"})
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, st.WebhookDelete(ctx, "wh_missing"), store.ErrNotFound)

	_, err = st.EventGetByID(ctx, "ev_missing")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.DeliveryGetByID(ctx, "d_missing")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorContains(t, err, "d_missing")

	createEvent(t, st, event("ev_1", "sync_end", base, "wh_1", 1))
	_, err = st.EventCreate(ctx, event("ev_1", "sync_end", base, "wh_1", 0))
	require.ErrorIs(t, err, store.ErrConflict)

	attempts, err := st.AttemptListByDelivery(ctx, "d_missing")
	require.NoError(t, err)
	require.Empty(t, attempts)

	require.Error(t, st.WebhookCreate(ctx, &store.Webhook{ID: "wh_bad", Type: "team"}))
	_, err = st.WebhookList(ctx, store.WebhookListParams{})
	require.Error(t, err, "a zero limit is an error")
}

func testWebhookUpdateOnlyGivenFields(t *testing.T, st store.Store) {
	ctx := t.Context()
	orig := createWebhook(t, st, webhook("wh_1", store.WebhookTypeGroup, "group_1", "sync_start", "sync_end"))
	other := createWebhook(t, st, webhook("wh_2", store.WebhookTypeAccount, "", "sync_end"))
	later := base.Add(time.Hour)

	got, err := st.WebhookUpdate(ctx, store.WebhookUpdateParams{ID: "wh_1", URL: ptr("https://new.example/hook"), UpdatedAt: later})
	require.NoError(t, err)
	want := *orig
	want.URL = "https://new.example/hook"
	want.UpdatedAt = later
	require.Equal(t, &want, got)

	signing := delivery.Signing{Scheme: delivery.SchemeToken, Header: "X-Token"}
	got, err = st.WebhookUpdate(ctx, store.WebhookUpdateParams{
		ID:             "wh_1",
		Events:         &[]string{"connection_failure"},
		Active:         ptr(false),
		Secret:         ptr(""),
		Profile:        ptr(delivery.ProfilePortable),
		Signing:        &signing,
		DisabledReason: ptr("failed for 3 days"),
		UpdatedAt:      later.Add(time.Minute),
	})
	require.NoError(t, err)
	want.Events = []string{"connection_failure"}
	want.Active = false
	want.Secret = ""
	want.Profile = delivery.ProfilePortable
	want.Signing = signing
	want.DisabledReason = "failed for 3 days"
	want.UpdatedAt = later.Add(time.Minute)
	require.Equal(t, &want, got)

	fetched, err := st.WebhookGetByID(ctx, "wh_1")
	require.NoError(t, err)
	require.Equal(t, &want, fetched)

	// No fields and no time: nothing changes.
	got, err = st.WebhookUpdate(ctx, store.WebhookUpdateParams{ID: "wh_1"})
	require.NoError(t, err)
	require.Equal(t, &want, got)

	// Clearing the event filter stores an empty list.
	got, err = st.WebhookUpdate(ctx, store.WebhookUpdateParams{ID: "wh_1", Events: &[]string{}})
	require.NoError(t, err)
	require.Empty(t, got.Events)

	untouched, err := st.WebhookGetByID(ctx, "wh_2")
	require.NoError(t, err)
	require.Equal(t, other, untouched)
}

func testWebhookListPagination(t *testing.T, st store.Store) {
	ctx := t.Context()
	const total, page = 250, 100
	var want []string
	for i := range total {
		id := fmt.Sprintf("wh_%03d", total-i) // ids sort opposite to creation
		createWebhook(t, st, webhook(id, store.WebhookTypeAccount, "", "sync_end"))
		want = append(want, id)
	}

	var got []string
	var pages []int
	var after, lastSeq int64
	for {
		list, err := st.WebhookList(ctx, store.WebhookListParams{AfterSeq: after, Limit: page})
		require.NoError(t, err)
		if len(list) == 0 {
			break
		}
		pages = append(pages, len(list))
		for _, wh := range list {
			require.Greater(t, wh.Seq, lastSeq)
			lastSeq = wh.Seq
			got = append(got, wh.ID)
		}
		after = list[len(list)-1].Seq
	}
	require.Equal(t, []int{100, 100, 50}, pages)
	require.Equal(t, want, got)

	// The same page twice is the same page.
	a, err := st.WebhookList(ctx, store.WebhookListParams{AfterSeq: 3, Limit: 5})
	require.NoError(t, err)
	b, err := st.WebhookList(ctx, store.WebhookListParams{AfterSeq: 3, Limit: 5})
	require.NoError(t, err)
	require.Equal(t, a, b)
}

func testWebhookListSubscribed(t *testing.T, st store.Store) {
	ctx := t.Context()
	createWebhook(t, st, webhook("account_all", store.WebhookTypeAccount, "", "sync_start", "sync_end"))
	createWebhook(t, st, webhook("account_other_event", store.WebhookTypeAccount, "", "sync_start"))
	inactive := webhook("account_inactive", store.WebhookTypeAccount, "", "sync_end")
	inactive.Active = false
	createWebhook(t, st, inactive)
	createWebhook(t, st, webhook("group_1_end", store.WebhookTypeGroup, "group_1", "sync_end"))
	createWebhook(t, st, webhook("group_1_start", store.WebhookTypeGroup, "group_1", "sync_start"))
	createWebhook(t, st, webhook("group_2_end", store.WebhookTypeGroup, "group_2", "sync_end"))
	// An event name must match a whole element, not a substring.
	createWebhook(t, st, webhook("group_1_prefix", store.WebhookTypeGroup, "group_1", "sync_end_extra"))
	createWebhook(t, st, webhook("account_none", store.WebhookTypeAccount, ""))

	ids := func(eventName, groupID string) []string {
		t.Helper()
		list, err := st.WebhookListSubscribed(ctx, eventName, groupID)
		require.NoError(t, err)
		out := []string{}
		for _, wh := range list {
			out = append(out, wh.ID)
		}
		return out
	}
	require.Equal(t, []string{"account_all", "group_1_end"}, ids("sync_end", "group_1"))
	require.Equal(t, []string{"account_all", "group_2_end"}, ids("sync_end", "group_2"))
	require.Equal(t, []string{"account_all"}, ids("sync_end", "group_3"))
	require.Equal(t, []string{"account_all"}, ids("sync_end", ""))
	require.Equal(t, []string{"account_all", "account_other_event", "group_1_start"}, ids("sync_start", "group_1"))
	require.Equal(t, []string{}, ids("connection_failure", "group_1"))

	_, err := st.WebhookUpdate(ctx, store.WebhookUpdateParams{ID: "account_inactive", Active: ptr(true), UpdatedAt: base})
	require.NoError(t, err)
	require.Equal(t, []string{"account_all", "account_inactive"}, ids("sync_end", "group_3"))
}

func testEventCreate(t *testing.T, st store.Store) {
	ctx := t.Context()
	runAt := base.Add(6 * time.Minute)
	p := event("ev_1", "sync_end", base, "wh_1", 3)
	p.Deliveries[1].RunAt = runAt
	p.Deliveries[2].Profile = delivery.ProfilePortable
	ds := createEvent(t, st, p)

	for i, d := range ds {
		require.Equal(t, p.Deliveries[i].ID, d.ID)
		require.Equal(t, "ev_1", d.EventID)
		require.Equal(t, "sync_end", d.EventName)
		require.Equal(t, "wh_1", d.WebhookID)
		require.Equal(t, p.Deliveries[i].Profile, d.Profile)
		require.Equal(t, p.Deliveries[i].Body, d.Body)
		require.Equal(t, store.DeliveryPending, d.State)
		require.Zero(t, d.Attempts)
		require.Nil(t, d.FirstAttemptAt)
		require.Nil(t, d.FinishedAt)
		require.Equal(t, base, d.CreatedAt)
		require.Equal(t, base, d.UpdatedAt)
		got, err := st.DeliveryGetByID(ctx, d.ID)
		require.NoError(t, err)
		require.Equal(t, d, got)
	}
	require.Equal(t, base, *ds[0].NextAttemptAt, "no RunAt: due when the event was created")
	require.Equal(t, runAt, *ds[1].NextAttemptAt)

	ev, err := st.EventGetByID(ctx, "ev_1")
	require.NoError(t, err)
	require.Equal(t, &p.Event, ev, "the source's bytes read back exactly")

	// The two deliveries due at once share a batch job in the batch
	// queue; the one with a RunAt has a job of its own, scheduled then.
	jobs := deliverJobs(t, st)
	require.Len(t, jobs, 3)
	byDelivery := map[string]deliveryJob{}
	for _, job := range jobs {
		require.Equal(t, store.JobMaxAttempts, job.MaxAttempts)
		byDelivery[job.Args.DeliveryID] = job
	}
	for _, i := range []int{0, 2} {
		job := byDelivery[p.Deliveries[i].ID]
		require.True(t, job.Batch, "delivery %d", i)
		require.Equal(t, store.QueueBatch, job.Queue)
		require.Equal(t, rivertype.JobStateAvailable, job.State)
	}
	require.Equal(t, byDelivery[p.Deliveries[0].ID].ID, byDelivery[p.Deliveries[2].ID].ID, "one batch job")
	scheduled := byDelivery[p.Deliveries[1].ID]
	require.False(t, scheduled.Batch)
	require.Equal(t, river.QueueDefault, scheduled.Queue)
	require.Equal(t, rivertype.JobStateScheduled, scheduled.State)
	require.WithinDuration(t, runAt, scheduled.ScheduledAt, time.Millisecond)

	// An event nobody subscribes to is stored with no deliveries and no jobs.
	ds, err = st.EventCreate(ctx, event("ev_2", "sync_start", base, "", 0))
	require.NoError(t, err)
	require.Empty(t, ds)
	_, err = st.EventGetByID(ctx, "ev_2")
	require.NoError(t, err)
	require.Len(t, deliverJobs(t, st), 3)

	// No source is stored as none.
	p = event("ev_3", "sync_start", base, "wh_1", 0)
	p.Event.Source = nil
	createEvent(t, st, p)
	ev, err = st.EventGetByID(ctx, "ev_3")
	require.NoError(t, err)
	require.Nil(t, ev.Source)
}

func testEventCreateAtomic(t *testing.T, st store.Store) {
	ctx := t.Context()
	createEvent(t, st, event("ev_ok", "sync_end", base, "wh_1", 2))

	// A duplicate delivery id in the batch fails the whole event.
	p := event("ev_dup", "sync_end", base, "wh_1", 3)
	p.Deliveries[2].ID = p.Deliveries[0].ID
	_, err := st.EventCreate(ctx, p)
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = st.EventGetByID(ctx, "ev_dup")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.DeliveryGetByID(ctx, p.Deliveries[1].ID)
	require.ErrorIs(t, err, store.ErrNotFound)

	// So does a delivery id that exists already, from another event.
	p = event("ev_clash", "sync_end", base, "wh_1", 2)
	p.Deliveries[1].ID = "ev_ok_d0"
	_, err = st.EventCreate(ctx, p)
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = st.EventGetByID(ctx, "ev_clash")
	require.ErrorIs(t, err, store.ErrNotFound)

	// A duplicate event id writes no deliveries.
	_, err = st.EventCreate(ctx, event("ev_ok", "sync_end", base, "wh_1", 2))
	require.ErrorIs(t, err, store.ErrConflict)

	jobs := deliverJobs(t, st)
	require.Len(t, jobs, 2, "only the first event's jobs exist")
	list, err := st.DeliveryList(ctx, store.DeliveryListParams{Limit: 100})
	require.NoError(t, err)
	require.Len(t, list, 2)

	// Invalid params write nothing either.
	p = event("ev_bad", "sync_end", base, "wh_1", 1)
	p.Deliveries[0].WebhookID = ""
	_, err = st.EventCreate(ctx, p)
	require.Error(t, err)
	_, err = st.EventGetByID(ctx, "ev_bad")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testDeliveryList(t *testing.T, st store.Store) {
	ctx := t.Context()
	// 6 events a minute apart, alternating webhooks and names; 2 deliveries
	// each, so 12 deliveries, two per created_at.
	for i := range 6 {
		name := []string{"sync_start", "sync_end"}[i%2]
		wh := []string{"wh_a", "wh_b", "wh_c"}[i%3]
		createEvent(t, st, event(fmt.Sprintf("ev_%d", i), name, base.Add(time.Duration(i)*time.Minute), wh, 2))
	}
	_, err := st.DeliveryCancel(ctx, "ev_4_d1", base.Add(time.Hour))
	require.NoError(t, err)

	ids := func(p store.DeliveryListParams) []string {
		t.Helper()
		if p.Limit == 0 {
			p.Limit = 100
		}
		list, err := st.DeliveryList(ctx, p)
		require.NoError(t, err)
		out := []string{}
		for _, d := range list {
			out = append(out, d.ID)
		}
		return out
	}
	all := ids(store.DeliveryListParams{})
	require.Equal(t, []string{
		"ev_5_d1", "ev_5_d0", "ev_4_d1", "ev_4_d0", "ev_3_d1", "ev_3_d0",
		"ev_2_d1", "ev_2_d0", "ev_1_d1", "ev_1_d0", "ev_0_d1", "ev_0_d0",
	}, all, "newest first, then id descending")

	require.Equal(t, []string{"ev_3_d1", "ev_3_d0", "ev_0_d1", "ev_0_d0"}, ids(store.DeliveryListParams{WebhookID: "wh_a"}))
	require.Equal(t, []string{"ev_2_d1", "ev_2_d0"}, ids(store.DeliveryListParams{EventID: "ev_2"}))
	require.Equal(t, []string{"ev_5_d1", "ev_5_d0", "ev_3_d1", "ev_3_d0", "ev_1_d1", "ev_1_d0"}, ids(store.DeliveryListParams{EventName: "sync_end"}))
	require.Equal(t, []string{"ev_4_d1"}, ids(store.DeliveryListParams{State: store.DeliveryCancelled}))
	require.Len(t, ids(store.DeliveryListParams{State: store.DeliveryPending}), 11)
	require.Equal(t, []string{"ev_3_d1", "ev_3_d0", "ev_2_d1", "ev_2_d0"},
		ids(store.DeliveryListParams{Since: base.Add(2 * time.Minute), Until: base.Add(4 * time.Minute)}), "Since inclusive, Until exclusive")
	require.Equal(t, []string{"ev_3_d1", "ev_3_d0"},
		ids(store.DeliveryListParams{WebhookID: "wh_a", EventName: "sync_end", State: store.DeliveryPending, Since: base.Add(time.Minute)}))

	// Pages of 5 walk the whole list, splitting rows with equal created_at.
	var paged []string
	before := ""
	for {
		page := ids(store.DeliveryListParams{BeforeID: before, Limit: 5})
		if len(page) == 0 {
			break
		}
		require.LessOrEqual(t, len(page), 5)
		paged = append(paged, page...)
		before = page[len(page)-1]
	}
	require.Equal(t, all, paged)

	// Paging composes with filters.
	require.Equal(t, []string{"ev_0_d1", "ev_0_d0"}, ids(store.DeliveryListParams{WebhookID: "wh_a", BeforeID: "ev_3_d0"}))

	_, err = st.DeliveryList(ctx, store.DeliveryListParams{BeforeID: "d_missing", Limit: 5})
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.DeliveryList(ctx, store.DeliveryListParams{})
	require.Error(t, err, "a zero limit is an error")
}

func testDeliveryCancel(t *testing.T, st store.Store) {
	ctx := t.Context()
	ds := createEvent(t, st, event("ev_1", "sync_end", base, "wh_1", 4))
	at := base.Add(time.Hour)

	got, err := st.DeliveryCancel(ctx, ds[0].ID, at)
	require.NoError(t, err)
	want := *ds[0]
	want.State = store.DeliveryCancelled
	want.FinishedAt = &at
	want.UpdatedAt = at
	want.NextAttemptAt = nil
	require.Equal(t, &want, got)
	fetched, err := st.DeliveryGetByID(ctx, ds[0].ID)
	require.NoError(t, err)
	require.Equal(t, &want, fetched)

	_, err = st.DeliveryCancel(ctx, ds[0].ID, at)
	require.ErrorIs(t, err, store.ErrConflict, "cancelled already")

	record := func(id string, state store.DeliveryState) {
		t.Helper()
		_, err := st.AttemptRecord(ctx, store.AttemptRecordParams{
			Attempt:   store.Attempt{DeliveryID: id, URL: "https://r", StartedAt: base, StatusCode: 500},
			State:     state,
			UpdatedAt: base.Add(time.Minute),
		})
		require.NoError(t, err)
	}
	record(ds[1].ID, store.DeliveryRetrying)
	got, err = st.DeliveryCancel(ctx, ds[1].ID, at)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryCancelled, got.State)
	require.Equal(t, 1, got.Attempts)

	record(ds[2].ID, store.DeliverySucceeded)
	_, err = st.DeliveryCancel(ctx, ds[2].ID, at)
	require.ErrorIs(t, err, store.ErrConflict)
	record(ds[3].ID, store.DeliveryFailed)
	_, err = st.DeliveryCancel(ctx, ds[3].ID, at)
	require.ErrorIs(t, err, store.ErrConflict)
	fetched, err = st.DeliveryGetByID(ctx, ds[3].ID)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryFailed, fetched.State)

	_, err = st.DeliveryCancel(ctx, "d_missing", at)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testDeliveryEnqueue(t *testing.T, st store.Store) {
	ctx := t.Context()
	ds := createEvent(t, st, event("ev_1", "sync_end", base, "wh_1", 1))
	require.Len(t, deliverJobs(t, st), 1)

	args := store.DeliverArgs{DeliveryID: ds[0].ID, Manual: true}
	require.NoError(t, st.DeliveryEnqueue(ctx, args))
	jobs := deliverJobs(t, st)
	require.Len(t, jobs, 2)
	require.Equal(t, args, jobs[1].Args)
	require.False(t, jobs[1].Batch)
	require.Equal(t, rivertype.JobStateAvailable, jobs[1].State)

	err := st.DeliveryEnqueue(ctx, store.DeliverArgs{DeliveryID: "d_missing"})
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Len(t, deliverJobs(t, st), 2)
}

// testBatchJobs creates, in one call, more deliveries due at once than a
// batch job carries, with one scheduled later: the due ones are split into
// batch jobs of at most store.BatchJobMax, in order, each delivery in
// exactly one; the scheduled one has a job of its own. A lone delivery due
// at once has a job of its own too.
func testBatchJobs(t *testing.T, st store.Store) {
	ctx := t.Context()
	n := 2*store.BatchJobMax + 7
	var params []store.EventCreateParams
	for i := range n {
		params = append(params, event(fmt.Sprintf("ev_%03d", i), "sync_end", base, "wh_1", 1))
	}
	later := base.Add(time.Hour)
	params[5].Deliveries[0].RunAt = later
	ds, err := st.EventCreateMany(ctx, params)
	require.NoError(t, err)
	require.Len(t, ds, n)

	jobs := deliverJobs(t, st)
	require.Len(t, jobs, n, "every delivery in exactly one job")
	seen := map[string]bool{}
	sizes := map[int64]int{}
	var batchOrder []string
	for _, job := range jobs {
		require.False(t, seen[job.Args.DeliveryID], "delivery %s in two jobs", job.Args.DeliveryID)
		seen[job.Args.DeliveryID] = true
		if job.Args.DeliveryID == ds[5].ID {
			require.False(t, job.Batch)
			require.Equal(t, rivertype.JobStateScheduled, job.State)
			require.WithinDuration(t, later, job.ScheduledAt, time.Millisecond)
			continue
		}
		require.True(t, job.Batch, "delivery %s", job.Args.DeliveryID)
		require.Equal(t, store.QueueBatch, job.Queue)
		require.Equal(t, store.JobMaxAttempts, job.MaxAttempts)
		sizes[job.ID]++
		batchOrder = append(batchOrder, job.Args.DeliveryID)
	}
	var counts []int
	for _, c := range sizes {
		counts = append(counts, c)
	}
	slices.Sort(counts)
	require.Equal(t, []int{n - 1 - 2*store.BatchJobMax, store.BatchJobMax, store.BatchJobMax}, counts)
	require.True(t, slices.IsSorted(batchOrder), "the batches keep the emit's order")

	// One delivery due at once: a job of its own.
	lone := createEvent(t, st, event("ev_lone", "sync_end", base, "wh_1", 1))
	jobs = deliverJobs(t, st)
	last := jobs[len(jobs)-1]
	require.Equal(t, lone[0].ID, last.Args.DeliveryID)
	require.False(t, last.Batch)
	require.Equal(t, river.QueueDefault, last.Queue)
	require.Equal(t, rivertype.JobStateAvailable, last.State)
}

// testAttemptRecordRetryJob records first attempts that ask for a job of
// their delivery's own (RetryJobAt, as a batch job's do): the job is
// inserted with the attempt, scheduled at RetryJobAt (now when zero); an
// attempt that does not ask inserts none; a record that fails inserts none.
func testAttemptRecordRetryJob(t *testing.T, st store.Store) {
	ctx := t.Context()
	ds := createEvent(t, st, event("ev_1", "sync_end", base, "wh_1", 3))
	before := len(deliverJobs(t, st))
	next := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	retrying := func(id string, jobAt *time.Time) store.AttemptRecordParams {
		first := base
		return store.AttemptRecordParams{
			Attempt: store.Attempt{DeliveryID: id, StartedAt: base, StatusCode: 503},
			State:   store.DeliveryRetrying, FirstAttemptAt: &first, NextAttemptAt: &next, UpdatedAt: base,
			RetryJobAt: jobAt,
		}
	}
	now := time.Time{}
	_, err := st.AttemptRecordMany(ctx, []store.AttemptRecordParams{
		retrying(ds[0].ID, &next), retrying(ds[1].ID, &now), retrying(ds[2].ID, nil),
	})
	require.NoError(t, err)
	jobs := deliverJobs(t, st)[before:]
	require.Len(t, jobs, 2)
	byDelivery := map[string]deliveryJob{}
	for _, job := range jobs {
		require.False(t, job.Batch)
		require.False(t, job.Args.Manual)
		require.Equal(t, river.QueueDefault, job.Queue)
		require.Equal(t, store.JobMaxAttempts, job.MaxAttempts)
		byDelivery[job.Args.DeliveryID] = job
	}
	require.Equal(t, rivertype.JobStateScheduled, byDelivery[ds[0].ID].State)
	require.WithinDuration(t, next, byDelivery[ds[0].ID].ScheduledAt, time.Millisecond)
	require.Equal(t, rivertype.JobStateAvailable, byDelivery[ds[1].ID].State)
	require.NotContains(t, byDelivery, ds[2].ID)

	// A batch that fails (a delivery that does not exist) records nothing
	// and inserts no job.
	_, err = st.AttemptRecordMany(ctx, []store.AttemptRecordParams{
		retrying(ds[2].ID, &now), retrying("d_missing", &now),
	})
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Len(t, deliverJobs(t, st), before+2)
	attempts, err := st.AttemptListByDelivery(ctx, ds[2].ID)
	require.NoError(t, err)
	require.Len(t, attempts, 1)
}

func testAttemptRecord(t *testing.T, st store.Store) {
	ctx := t.Context()
	ds := createEvent(t, st, event("ev_1", "sync_end", base, "wh_1", 2))
	id := ds[0].ID

	first := base.Add(time.Second)
	next := first.Add(6 * time.Minute)
	a1 := store.Attempt{
		DeliveryID:      id,
		URL:             "https://receiver.example/hook",
		StartedAt:       first,
		EmulatedDelay:   0,
		RequestHeaders:  http.Header{"Content-Type": {"application/json"}, "X-Fivetran-Signature-256": {"ABC"}},
		StatusCode:      503,
		Latency:         1234567 * time.Nanosecond,
		Error:           "",
		ResponseHeaders: http.Header{"Retry-After": {"10"}, "Set-Cookie": {"a=1", "b=2"}},
		ResponseExcerpt: []byte("unavailable"),
	}
	got1, err := st.AttemptRecord(ctx, store.AttemptRecordParams{
		Attempt: a1, State: store.DeliveryRetrying, FirstAttemptAt: &first, NextAttemptAt: &next, UpdatedAt: first,
	})
	require.NoError(t, err)
	require.Equal(t, 1, got1.Number)
	require.NotZero(t, got1.ID)
	want1 := a1
	want1.ID, want1.Number = got1.ID, 1
	require.Equal(t, &want1, got1)

	d, err := st.DeliveryGetByID(ctx, id)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryRetrying, d.State)
	require.Equal(t, 1, d.Attempts)
	require.Equal(t, first, *d.FirstAttemptAt)
	require.Equal(t, next, *d.NextAttemptAt)
	require.Equal(t, 503, d.LastStatus)
	require.Empty(t, d.LastError)
	require.Equal(t, first, d.UpdatedAt)
	require.Nil(t, d.FinishedAt)

	// A network error; FirstAttemptAt given again does not move it.
	second := next
	later := first.Add(100 * time.Hour)
	next2 := second.Add(27 * time.Minute)
	a2 := store.Attempt{DeliveryID: id, URL: a1.URL, StartedAt: second, EmulatedDelay: 6 * time.Minute, Error: "connection refused"}
	got2, err := st.AttemptRecord(ctx, store.AttemptRecordParams{
		Attempt: a2, State: store.DeliveryRetrying, FirstAttemptAt: &later, NextAttemptAt: &next2, UpdatedAt: second,
	})
	require.NoError(t, err)
	require.Equal(t, 2, got2.Number)
	require.Greater(t, got2.ID, got1.ID)
	d, err = st.DeliveryGetByID(ctx, id)
	require.NoError(t, err)
	require.Equal(t, first, *d.FirstAttemptAt)
	require.Equal(t, 0, d.LastStatus)
	require.Equal(t, "connection refused", d.LastError)

	// Success finishes the delivery and clears the next attempt.
	third := next2
	a3 := store.Attempt{DeliveryID: id, Manual: true, URL: a1.URL, StartedAt: third, StatusCode: 200, Succeeded: true}
	got3, err := st.AttemptRecord(ctx, store.AttemptRecordParams{Attempt: a3, State: store.DeliverySucceeded, UpdatedAt: third})
	require.NoError(t, err)
	require.Equal(t, 3, got3.Number)
	d, err = st.DeliveryGetByID(ctx, id)
	require.NoError(t, err)
	require.Equal(t, store.DeliverySucceeded, d.State)
	require.Equal(t, 3, d.Attempts)
	require.Nil(t, d.NextAttemptAt)
	require.Equal(t, third, *d.FinishedAt)
	require.Equal(t, 200, d.LastStatus)
	require.Empty(t, d.LastError)

	attempts, err := st.AttemptListByDelivery(ctx, id)
	require.NoError(t, err)
	require.Equal(t, []*store.Attempt{got1, got2, got3}, attempts)

	// Numbering is per delivery.
	other, err := st.AttemptRecord(ctx, store.AttemptRecordParams{
		Attempt: store.Attempt{DeliveryID: ds[1].ID, StartedAt: base, StatusCode: 410}, State: store.DeliveryFailed, UpdatedAt: base,
	})
	require.NoError(t, err)
	require.Equal(t, 1, other.Number)
	d, err = st.DeliveryGetByID(ctx, ds[1].ID)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryFailed, d.State)
	require.Nil(t, d.FirstAttemptAt, "not given, not set")
	require.Equal(t, base, *d.FinishedAt)

	_, err = st.AttemptRecord(ctx, store.AttemptRecordParams{
		Attempt: store.Attempt{DeliveryID: "d_missing", StartedAt: base}, State: store.DeliveryRetrying, UpdatedAt: base,
	})
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.AttemptRecord(ctx, store.AttemptRecordParams{
		Attempt: store.Attempt{DeliveryID: id, StartedAt: base}, State: "exploded", UpdatedAt: base,
	})
	require.Error(t, err)
	attempts, err = st.AttemptListByDelivery(ctx, id)
	require.NoError(t, err)
	require.Len(t, attempts, 3, "failed records write nothing")
}

func testConcurrent(t *testing.T, st store.Store) {
	ctx := t.Context()
	const workers, rounds, perEvent = 8, 10, 5
	shared := createEvent(t, st, event("ev_shared", "sync_end", base, "wh_1", 1))[0]

	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*2)
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				id := fmt.Sprintf("ev_w%d_r%d", w, r)
				if _, err := st.EventCreate(ctx, event(id, "sync_end", base.Add(time.Duration(r)*time.Second), "wh_1", perEvent)); err != nil {
					errs <- fmt.Errorf("event %s: %w", id, err)
				}
				_, err := st.AttemptRecord(ctx, store.AttemptRecordParams{
					Attempt:   store.Attempt{DeliveryID: shared.ID, StartedAt: base, StatusCode: 500},
					State:     store.DeliveryRetrying,
					UpdatedAt: base,
				})
				if err != nil {
					errs <- fmt.Errorf("attempt by worker %d: %w", w, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	attempts, err := st.AttemptListByDelivery(ctx, shared.ID)
	require.NoError(t, err)
	require.Len(t, attempts, workers*rounds)
	for i, a := range attempts {
		require.Equal(t, i+1, a.Number, "numbers are 1..n with no gap or repeat")
	}
	d, err := st.DeliveryGetByID(ctx, shared.ID)
	require.NoError(t, err)
	require.Equal(t, workers*rounds, d.Attempts)

	list, err := st.DeliveryList(ctx, store.DeliveryListParams{Limit: 10_000})
	require.NoError(t, err)
	require.Len(t, list, 1+workers*rounds*perEvent)
	require.Len(t, deliverJobs(t, st), 1+workers*rounds*perEvent)
}

func testTimePrecision(t *testing.T, st store.Store) {
	ctx := t.Context()
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	at := time.Date(2025, 7, 14, 23, 59, 58, 123456789, zone)
	want := time.Date(2025, 7, 14, 18, 29, 58, 123456000, time.UTC)

	wh := webhook("wh_1", store.WebhookTypeAccount, "", "sync_end")
	wh.CreatedAt, wh.UpdatedAt = at, at
	createWebhook(t, st, wh)
	require.Equal(t, want, wh.CreatedAt, "WebhookCreate normalizes the record it stores")
	got, err := st.WebhookGetByID(ctx, "wh_1")
	require.NoError(t, err)
	require.Equal(t, want, got.CreatedAt)
	require.Equal(t, time.UTC, got.CreatedAt.Location())

	p := event("ev_1", "sync_end", at, "wh_1", 1)
	p.Deliveries[0].RunAt = at.Add(time.Nanosecond)
	ds := createEvent(t, st, p)
	require.Equal(t, want, ds[0].CreatedAt)
	d, err := st.DeliveryGetByID(ctx, ds[0].ID)
	require.NoError(t, err)
	require.Equal(t, want, d.CreatedAt)
	require.Equal(t, want, *d.NextAttemptAt)
	ev, err := st.EventGetByID(ctx, "ev_1")
	require.NoError(t, err)
	require.Equal(t, want, ev.CreatedAt)

	a, err := st.AttemptRecord(ctx, store.AttemptRecordParams{
		Attempt: store.Attempt{
			DeliveryID: d.ID, StartedAt: at, StatusCode: 500,
			EmulatedDelay: 27*time.Minute + 1, Latency: 1500 * time.Microsecond,
		},
		State: store.DeliveryRetrying, FirstAttemptAt: &at, NextAttemptAt: &at, UpdatedAt: at,
	})
	require.NoError(t, err)
	require.Equal(t, want, a.StartedAt)
	attempts, err := st.AttemptListByDelivery(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, want, attempts[0].StartedAt)
	require.Equal(t, 27*time.Minute+1, attempts[0].EmulatedDelay, "durations keep nanoseconds")
	require.Equal(t, 1500*time.Microsecond, attempts[0].Latency)
	d, err = st.DeliveryGetByID(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, want, *d.FirstAttemptAt)
	require.Equal(t, want, d.UpdatedAt)

	// Times a microsecond apart stay apart and in order.
	for i := range 3 {
		createEvent(t, st, event(fmt.Sprintf("ev_us_%d", i), "sync_start", base.Add(time.Duration(i)*time.Microsecond), "wh_1", 1))
	}
	list, err := st.DeliveryList(ctx, store.DeliveryListParams{EventName: "sync_start", Limit: 10})
	require.NoError(t, err)
	require.Equal(t, []string{"ev_us_2_d0", "ev_us_1_d0", "ev_us_0_d0"}, []string{list[0].ID, list[1].ID, list[2].ID})
	list, err = st.DeliveryList(ctx, store.DeliveryListParams{Since: base.Add(time.Microsecond), Until: base.Add(2 * time.Microsecond), Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "ev_us_1_d0", list[0].ID)
}

func testMigrate(t *testing.T, st store.Store) {
	ctx := t.Context()
	require.NoError(t, st.Migrate(ctx), "migrating a migrated store is a no-op")
	require.NoError(t, st.Migrate(ctx))

	status, err := st.MigrationStatus(ctx)
	require.NoError(t, err)
	components := map[string]int{}
	for _, ms := range status {
		require.True(t, ms.Applied, "%s migration %d (%s) is not applied", ms.Component, ms.Version, ms.Name)
		require.NotNil(t, ms.AppliedAt)
		// Applied by this test's store: minutes ago at most (River's SQLite
		// times are to the second).
		require.WithinDuration(t, time.Now(), *ms.AppliedAt, 10*time.Minute, "%s migration %d", ms.Component, ms.Version)
		require.NotEmpty(t, ms.Name)
		require.Positive(t, ms.Version)
		components[ms.Component]++
	}
	require.Positive(t, components["standin"])
	require.Positive(t, components["river"])
	require.Len(t, components, 2)

	// The store still works after migrating again.
	createWebhook(t, st, webhook("wh_1", store.WebhookTypeAccount, "", "sync_end"))
}

// deliverWorker works delivery jobs the way standin's worker does: it reads
// the delivery and records an attempt through the store from inside Work
// (which must not deadlock, even on a single-connection database), then
// reports the job.
type deliverWorker struct {
	river.WorkerDefaults[store.DeliverArgs]
	st     store.Store
	worked chan<- store.DeliverArgs
}

// Work implements river.Worker.
func (w *deliverWorker) Work(ctx context.Context, job *river.Job[store.DeliverArgs]) error {
	if _, err := w.st.DeliveryGetByID(ctx, job.Args.DeliveryID); err != nil {
		return err
	}
	_, err := w.st.AttemptRecord(ctx, store.AttemptRecordParams{
		Attempt:   store.Attempt{DeliveryID: job.Args.DeliveryID, Manual: job.Args.Manual, StartedAt: base, StatusCode: 200, Succeeded: true},
		State:     store.DeliverySucceeded,
		UpdatedAt: base,
	})
	if err != nil {
		return err
	}
	select {
	case w.worked <- job.Args:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// deliverBatchWorker works a batch job as deliverWorker works a job of each
// of its deliveries.
type deliverBatchWorker struct {
	river.WorkerDefaults[store.DeliverBatchArgs]
	one *deliverWorker
}

// Work implements river.Worker.
func (w *deliverBatchWorker) Work(ctx context.Context, job *river.Job[store.DeliverBatchArgs]) error {
	for _, id := range job.Args.DeliveryIDs {
		if err := w.one.Work(ctx, &river.Job[store.DeliverArgs]{JobRow: job.JobRow, Args: store.DeliverArgs{DeliveryID: id}}); err != nil {
			return err
		}
	}
	return nil
}

func testQueueWorksJobs(t *testing.T, st store.Store) {
	ctx := t.Context()
	worked := make(chan store.DeliverArgs, 10)
	workers := river.NewWorkers()
	one := &deliverWorker{st: st, worked: worked}
	river.AddWorker(workers, one)
	river.AddWorker(workers, &deliverBatchWorker{one: one})
	q, err := st.Queue(&river.Config{
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: 2},
			store.QueueBatch:   {MaxWorkers: 1},
		},
		Workers:           workers,
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 20 * time.Millisecond,
		TestOnly:          true,
	})
	require.NoError(t, err)
	require.NoError(t, q.Start(ctx))
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		require.NoError(t, q.Stop(stopCtx))
	})

	// The store keeps working while River runs on the same database.
	ds := createEvent(t, st, event("ev_1", "sync_end", base, "wh_1", 2))
	require.NoError(t, st.DeliveryEnqueue(ctx, store.DeliverArgs{DeliveryID: ds[0].ID, Manual: true}))

	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var got []string
	for len(got) < 3 {
		select {
		case args := <-worked:
			got = append(got, fmt.Sprintf("%s manual=%t", args.DeliveryID, args.Manual))
		case <-waitCtx.Done():
			t.Fatalf("worked %v, want 3 jobs: %v", got, waitCtx.Err())
		}
	}
	slices.Sort(got)
	require.Equal(t, []string{"ev_1_d0 manual=false", "ev_1_d0 manual=true", "ev_1_d1 manual=false"}, got)

	attempts, err := st.AttemptListByDelivery(ctx, "ev_1_d0")
	require.NoError(t, err)
	require.Len(t, attempts, 2)
}

// testJobMaxAttempts reads the max_attempts of the River jobs the store
// inserts (for a new event's deliveries and for a redelivery) back from the
// database: it is store.JobMaxAttempts, the one definition of that limit.
func testJobMaxAttempts(t *testing.T, st store.Store) {
	ctx := t.Context()
	createWebhook(t, st, webhook("wh_1", store.WebhookTypeAccount, "", "sync_end"))
	_, err := st.EventCreate(ctx, event("ev_1", "sync_end", base, "wh_1", 1))
	require.NoError(t, err)
	ds, err := st.DeliveryList(ctx, store.DeliveryListParams{EventID: "ev_1", Limit: 10})
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NoError(t, st.DeliveryEnqueue(ctx, store.DeliverArgs{DeliveryID: ds[0].ID, Manual: true}))
	jobs := deliverJobs(t, st)
	require.Len(t, jobs, 2)
	for _, job := range jobs {
		require.Equal(t, store.JobMaxAttempts, job.MaxAttempts, "job %d (%s)", job.ID, job.EncodedArgs)
	}
	require.Equal(t, 1000, store.JobMaxAttempts, "long outages are survived: see the constant's comment")
}
