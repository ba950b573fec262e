package postgres

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
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
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A generic plan, as a prepared statement gets after five runs.
		for _, set := range []string{`SET LOCAL enable_nestloop = off`, `SET LOCAL plan_cache_mode = force_generic_plan`} {
			if _, err := tx.Exec(ctx, set); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := tx.Exec(ctx, `PREPARE read_plan (text[]) AS `+sql); err != nil {
			t.Fatal(err)
		}
		rows, err := tx.Query(ctx, `EXPLAIN EXECUTE read_plan ('{a,b,c}')`)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `DEALLOCATE read_plan`); err != nil {
			t.Fatal(err)
		}
		rollback(ctx, tx)
		plan := strings.Join(lines, "\n")
		if !strings.Contains(plan, "Index Scan using standin_delivery_pkey") || strings.Contains(plan, "Seq Scan on standin_delivery") {
			t.Errorf("%s: the plan does not look ids up in standin_delivery's primary key:\n%s", name, plan)
		}
	}
}
