package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Stage is one part of the latency scenario's emit-to-receipt time,
// measured per delivery from standin's own records (PostgreSQL only).
type Stage struct {
	Name  string  `json:"name"`
	P50Ms float64 `json:"p50_ms"`
	P95Ms float64 `json:"p95_ms"`
	P99Ms float64 `json:"p99_ms"`
}

// stagesSQL splits each measured delivery's time into stages, from the send
// time the emitter put in the event's data, the event's creation (when the
// API began storing it), the River job's first attempt (when a worker
// fetched it; for deliveries emitted together, their batch job's), the
// attempt's start (after the worker read the delivery) and
// the attempt's request latency. $1 is the first measured sequence number
// (the warm-up's are skipped).
const stagesSQL = `
	WITH jd AS (
		-- When the first job of each delivery was fetched: its own job's,
		-- or that of the batch job it shared with others emitted at once.
		SELECT coalesce(j.args->>'delivery_id', ids.id) AS delivery_id, min(j.attempted_at) AS attempted_at
		FROM river_job j
		LEFT JOIN LATERAL jsonb_array_elements_text(j.args->'delivery_ids') AS ids (id) ON true
		WHERE j.kind IN ('standin_deliver', 'standin_deliver_batch')
		GROUP BY 1
	), x AS (
		SELECT (e.source->'data'->>'bench_sent')::numeric / 1e6 AS sent_ms,
			extract(epoch FROM e.created_at) * 1e3 AS created_ms,
			extract(epoch FROM j.attempted_at) * 1e3 AS fetched_ms,
			extract(epoch FROM a.started_at) * 1e3 AS started_ms,
			a.latency_ns / 1e6 AS send_ms
		FROM standin_event e
		JOIN standin_delivery d ON d.event_id = e.id
		JOIN standin_attempt a ON a.delivery_id = d.id AND a.number = 1
		JOIN jd j ON j.delivery_id = d.id
		WHERE (e.source->'data'->>'bench_seq')::int >= $1
	), s (i, name, ms) AS (
		SELECT 1, 'accept (emit request to the store)', created_ms - sent_ms FROM x
		UNION ALL SELECT 2, 'queue (commit, notify, River fetch)', fetched_ms - created_ms FROM x
		UNION ALL SELECT 3, 'start (worker start, delivery read, signing)', started_ms - fetched_ms FROM x
		UNION ALL SELECT 4, 'send (HTTP request to the receiver)', send_ms FROM x
	)
	SELECT name,
		percentile_cont(0.5) WITHIN GROUP (ORDER BY ms),
		percentile_cont(0.95) WITHIN GROUP (ORDER BY ms),
		percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)
	FROM s GROUP BY i, name ORDER BY i`

// latencyStages reads the stages of the latency scenario's deliveries with
// sequence numbers from firstSeq on from the PostgreSQL database at dbURL.
func latencyStages(ctx context.Context, dbURL string, firstSeq int) ([]Stage, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("latency stages: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, stagesSQL, firstSeq)
	if err != nil {
		return nil, fmt.Errorf("latency stages: %w", err)
	}
	stages, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Stage, error) {
		var s Stage
		err := row.Scan(&s.Name, &s.P50Ms, &s.P95Ms, &s.P99Ms)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("latency stages: %w", err)
	}
	return stages, nil
}

// formatStages writes stages as indented lines under the table.
func formatStages(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s/%s by stage (p50 / p95 / p99 ms, from standin's records):\n", r.Backend, r.Scenario)
	for _, s := range r.Stages {
		fmt.Fprintf(&b, "    %-46s %6.1f %6.1f %6.1f\n", s.Name, s.P50Ms, s.P95Ms, s.P99Ms)
	}
	return b.String()
}
