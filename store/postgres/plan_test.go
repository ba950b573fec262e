package postgres

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
)

// TestDeliveryReadIsIndexLookups checks that the worker's batched read looks
// each delivery up by its primary key whatever the planner believes of the
// table: with nested loops priced out (enable_nestloop off), a join of the
// ids with the table would become a hash or merge join over all of it,
// which is what a generic plan chosen while the table was small did as it
// grew (see DeliveryGetManyWithWebhook).
func TestDeliveryReadIsIndexLookups(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openSchemaStore(t, 2)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	for name, sql := range map[string]string{"deliveries": deliveriesByIDSQL, "webhooks": webhooksOfDeliveriesSQL} {
		// A generic plan, as a prepared statement gets after five runs.
		plan := explainPrepared(t, s, []string{`SET LOCAL enable_nestloop = off`, `SET LOCAL plan_cache_mode = force_generic_plan`},
			`text[]`, sql, `'{a,b,c}'`)
		if !strings.Contains(plan, "Index Scan using standin_delivery_pkey") || strings.Contains(plan, "Seq Scan on standin_delivery") {
			t.Errorf("%s: the plan does not look ids up in standin_delivery's primary key:\n%s", name, plan)
		}
	}
}

// explainPrepared returns the plan PostgreSQL makes for sql as a prepared
// statement with parameter types params, run with the arguments of args (an
// SQL list), in a transaction of its own after the statements of settings.
func explainPrepared(t *testing.T, s *Store, settings []string, params, sql, args string) string {
	t.Helper()
	ctx := t.Context()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rollback(ctx, tx)
	for _, set := range settings {
		if _, err := tx.Exec(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	// A prepared statement outlives the transaction: it goes with DEALLOCATE.
	if _, err := tx.Exec(ctx, `PREPARE explained (`+params+`) AS `+sql); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, `EXPLAIN EXECUTE explained (`+args+`)`)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `DEALLOCATE explained`); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestAttemptWriteIsHOTUpdate checks that recording an attempt updates its
// delivery's row as a heap-only (HOT) update, which writes no index entry:
// no index of standin_delivery holds a column the attempt changes, and its
// pages keep room for the new row version (migration 00009). Counted in the
// statement's own transaction (pg_stat_xact_user_tables).
func TestAttemptWriteIsHOTUpdate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openSchemaStore(t, 2)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 200
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	p := store.EventCreateParams{Event: store.Event{ID: "ev", Name: "sync_end", CreatedAt: at}}
	for i := range n {
		// Bodies of a real payload's size, so that the rows fill many pages.
		p.Deliveries = append(p.Deliveries, store.DeliveryNew{ID: fmt.Sprintf("d%d", i), WebhookID: "wh",
			Profile: delivery.ProfileFivetran, Body: bytes.Repeat([]byte("x"), 500)})
	}
	if _, err := s.EventCreate(ctx, p); err != nil {
		t.Fatal(err)
	}

	r := &attemptRound{byDelivery: map[string]*store.Attempt{}}
	for i := range n {
		// The common attempt: the first one, which succeeds and moves the
		// delivery from pending to succeeded.
		started := at.Add(time.Second)
		a := &store.Attempt{DeliveryID: fmt.Sprintf("d%d", i), URL: "http://r", StartedAt: started, StatusCode: 200, Succeeded: true}
		if err := r.add(a, store.AttemptRecordParams{Attempt: *a, State: store.DeliverySucceeded, FirstAttemptAt: &started, UpdatedAt: started}); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rollback(ctx, tx)
	rows, err := tx.Query(ctx, attemptRecordManySQL, r.args()...)
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var updates, hot int64
	if err := tx.QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables
		WHERE relid = 'standin_delivery'::regclass`).Scan(&updates, &hot); err != nil {
		t.Fatal(err)
	}
	if updates != n || hot != n {
		t.Errorf("recording %d attempts updated %d deliveries, %d of them HOT; want all %d HOT", n, updates, hot, n)
	}
}

// TestDeliveryReadLeavesPlanSetting checks that the worker's read, which
// sets plan_cache_mode for its batch (see DeliveryGetManyWithWebhook),
// leaves the connection's own setting after it, both when the read succeeds
// and when the batch fails after the SET (an id PostgreSQL refuses).
func TestDeliveryReadLeavesPlanSetting(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openSchemaStore(t, 2)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Hold one of the two connections, so that the reads and the checks
	// share the other.
	held, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	mode := func() string {
		t.Helper()
		var m string
		if err := s.pool.QueryRow(ctx, `SHOW plan_cache_mode`).Scan(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	want := mode()
	if _, err := s.DeliveryGetManyWithWebhook(ctx, []string{"d1"}); err != nil {
		t.Fatal(err)
	}
	if got := mode(); got != want {
		t.Errorf("after a read, plan_cache_mode = %q, want the connection's %q", got, want)
	}
	if _, err := s.DeliveryGetManyWithWebhook(ctx, []string{"d\x00"}); err == nil {
		t.Fatal("reading an id with a NUL byte succeeded; the test needs a read that fails after the SET")
	}
	if got := mode(); got != want {
		t.Errorf("after a failed read, plan_cache_mode = %q, want the connection's %q", got, want)
	}
}

// TestAttemptWritePlan checks that the attempt statement's generic plan,
// made once per connection under attemptPlanSQL's settings, finds the
// deliveries through the primary key even when it is made while the table
// is small and analyzed, where a sequential scan is cheapest (as when the
// first attempts of a new database make it), and with nested loops priced
// out too.
func TestAttemptWritePlan(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openSchemaStore(t, 2)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// A few deliveries, counted by ANALYZE: a table of one page, where a
	// sequential scan is the cheapest plan, as on a new database.
	p := store.EventCreateParams{Event: store.Event{ID: "ev", Name: "sync_end", CreatedAt: time.Now()}}
	for i := range 3 {
		p.Deliveries = append(p.Deliveries, store.DeliveryNew{ID: fmt.Sprintf("d%d", i), WebhookID: "wh",
			Profile: delivery.ProfileFivetran, Body: []byte(`{}`)})
	}
	if _, err := s.EventCreate(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE standin_delivery`); err != nil {
		t.Fatal(err)
	}
	for _, nestloop := range []string{"on", "off"} {
		plan := explainPrepared(t, s, []string{attemptPlanSQL, `SET LOCAL enable_nestloop = ` + nestloop},
			`text[], text[], timestamptz[], timestamptz[], integer[], text[], timestamptz[], timestamptz[],
			boolean[], text[], timestamptz[], bigint[], text[], bigint[], text[], bytea[], boolean[], boolean[], text, text[]`,
			attemptRecordManySQL,
			`'{a}', '{succeeded}', '{}', '{}', '{200}', '{""}', '{}', '{}',
			'{f}', '{u}', '{}', '{0}', '{}', '{0}', '{}', '{}', '{t}', '{t}', 'cancelled', '{""}'`)
		if !strings.Contains(plan, "Index Cond: (id = ANY ($1))") || strings.Contains(plan, "Seq Scan on standin_delivery") {
			t.Errorf("enable_nestloop %s: the generic plan does not find deliveries through the primary key:\n%s", nestloop, plan)
		}
	}
}
