package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server"
	"github.com/standin-dev/standin/server/client"
)

// maxTriggerCount bounds trigger --count.
const maxTriggerCount = 1_000_000

// triggerFlags are the fields of an emitted event and how many copies to
// emit.
type triggerFlags struct {
	req    client.EmitRequest
	data   string
	count  int
	faults []string
}

func newTriggerCmd() *cobra.Command {
	var (
		af apiFlags
		tf triggerFlags
		wf waitFlags
	)
	cmd := &cobra.Command{
		Use:   "trigger EVENT [flags]",
		Short: "Emit an event to every subscribed webhook",
		Long: `Emit one event of the catalog (POST /standin/v1/events): standin delivers it
to every active webhook subscribed to it, account webhooks and the group
webhooks of its group, shaped by each webhook's profile (Fivetran or Portable).
Empty fields get realistic defaults. The event id and the deliveries created are
printed; --wait then follows each delivery through its retries until it is
final.

--count N emits N copies of the event, for load tests, in batches of 1,000
(POST /standin/v1/events:batch, each batch all or nothing). Each copy gets its
own defaults (e.g. its own sync_id) unless a flag fixes the field. Instead of
each event, a summary is printed: events emitted, deliveries created, elapsed
time and events per second (-o json: {"events", "deliveries", "seconds",
"events_per_second", "items": [the emitted events with their deliveries]}).
With --wait, every delivery of every copy is followed until it is final, with
a progress line at most once a second, a line for each of the first failed or
cancelled deliveries and a count by state at the end (-o json: "states", and
each delivery's final state in "items").

Fivetran events: ` + joinCatalog(delivery.ProfileFivetran) + `.
Portable events: ` + joinCatalog(delivery.ProfilePortable) + `.

Exit codes: 0 emitted (with --wait: every delivery succeeded), 1 API error
(e.g. an unknown event: InvalidInput), 2 usage error, 3 with --wait a delivery
failed or was cancelled, 130 Ctrl-C during --wait (the deliveries go on in
standin; follow them with standin deliveries list) or while --count emits (the
batches already sent stay emitted).`,
		Example: `  # a failed sync, followed through Fivetran's retries
  standin trigger sync_end --status FAILURE --reason "disk full" --wait

  # a given connector in a given group, rescheduled
  standin trigger sync_end --connector assimilate_seem --group inappropriate_implode \
    --status RESCHEDULED --rescheduled-at 2026-05-22T01:00:00Z

  # any event with your own data object
  standin trigger transformation_run_failed --data @failed.json
  standin trigger edit_connector --data '{"changed":["schedule"]}'

  # a Portable flow ending
  standin trigger sync_end --flow 42 --status FAILED --details "source timed out"

  # a load test: 10,000 sync_end events, each with its own sync_id
  standin trigger sync_end --count 10000
  standin trigger sync_end --count 5000 --wait -o json | jq '.states'`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tf.count < 1 || tf.count > maxTriggerCount {
				return usageErr("--count %d: want 1 to 1,000,000", tf.count)
			}
			req := tf.req
			req.Event = args[0]
			if tf.data != "" {
				data, err := readJSONArg("--data", tf.data, cmd.InOrStdin())
				if err != nil {
					return err
				}
				req.Data = data
			}
			faults, err := parseFaults(tf.faults)
			if err != nil {
				return err
			}
			req.Faults = faults
			if err := wf.validate(); err != nil {
				return err
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			if tf.count > 1 {
				return triggerMany(cmd, c, &af, &wf, req, tf.count)
			}
			resp, err := c.Emit(cmd.Context(), req)
			if err != nil {
				return err
			}
			return reportEmitted(cmd, c, &af, &wf, resp)
		},
	}
	fl := cmd.Flags()
	r := &tf.req
	fl.StringVar(&r.ConnectorID, "connector", "", "Fivetran connector (connection) id (default: assimilate_seem, the id in Fivetran's samples)")
	fl.StringVar(&r.ConnectorType, "connector-type", "", "Fivetran connector type, e.g. google_cloud_postgresql")
	fl.StringVar(&r.ConnectorName, "connector-name", "", "Fivetran connector name (the schema)")
	fl.StringVar(&r.GroupID, "group", "", "destination group: sent as destination_group_id, and selects that group's webhooks")
	fl.StringVar(&r.SyncID, "sync-id", "", "Fivetran sync id, a UUID (default: a new one)")
	fl.StringVar(&r.Status, "status", "", "sync_end status: SUCCESSFUL (default), FAILURE, FAILURE_WITH_TASK, RESCHEDULED or FAILED; also Portable's status")
	fl.StringVar(&r.Reason, "reason", "", "sync_end: Fivetran's data.reason")
	fl.StringVar(&r.TaskType, "task-type", "", "sync_end: Fivetran's data.taskType")
	fl.StringVar(&r.RescheduledAt, "rescheduled-at", "", "sync_end: Fivetran's data.rescheduledAt, RFC 3339")
	fl.StringVar(&tf.data, "data", "", "Fivetran's data object: inline JSON, @file.json, or @- for stdin (not with --reason, --task-type, --rescheduled-at)")
	fl.Int64Var(&r.FlowID, "flow", 0, "Portable flow id")
	fl.Int64Var(&r.RunAttemptID, "run-attempt", 0, "Portable run attempt id")
	fl.Int64Var(&r.SourceID, "source-id", 0, "Portable source id")
	fl.StringVar(&r.SourceType, "source-type", "", "Portable source type, e.g. hubspot_crm")
	fl.Int64Var(&r.DestinationID, "destination-id", 0, "Portable destination id")
	fl.StringVar(&r.DestinationType, "destination-type", "", "Portable destination type, e.g. bigquery")
	fl.StringVar(&r.Details, "details", "", "Portable sync_end details text")
	addFaultFlag(cmd, &tf.faults)
	fl.IntVar(&tf.count, "count", 1, "emit this many copies of the event, 1 to 1,000,000, in batches of 1,000, and print a summary (for load tests)")
	wf.add(cmd, "the deliveries")
	addAPIFlags(cmd, &af, true)
	return cmd
}

func joinCatalog(p delivery.Profile) string { return strings.Join(delivery.Catalog(p), ", ") }

// reportEmitted prints an emitted event and its deliveries and, with
// --wait, follows them. With -o json it writes the emit call's data or,
// with --wait, {"event": that data, "deliveries": [GET
// /standin/v1/deliveries/{id} data…]}, and the progress goes to stderr.
func reportEmitted(cmd *cobra.Command, c *client.Client, af *apiFlags, wf *waitFlags, resp *client.Response[client.EmittedEvent]) error {
	out, progress := cmd.OutOrStdout(), cmd.OutOrStdout()
	if af.jsonOut() {
		progress = cmd.ErrOrStderr()
		if !wf.wait {
			return writeJSON(out, resp.Raw)
		}
	}
	ev := resp.Data
	if !af.jsonOut() || wf.wait {
		printEmitted(progress, ev)
	}
	if !wf.wait {
		return nil
	}
	ids := make([]string, len(ev.Deliveries))
	for i, d := range ev.Deliveries {
		ids[i] = d.ID
	}
	seen, err := followDeliveries(cmd.Context(), c, progress, wf, ids, nil)
	if af.jsonOut() {
		doc := struct {
			Event      json.RawMessage   `json:"event"`
			Deliveries []json.RawMessage `json:"deliveries"`
		}{resp.Raw, raws(seen)}
		if werr := writeValue(out, doc); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

// printEmitted writes the event id and a table of its deliveries.
func printEmitted(w io.Writer, ev client.EmittedEvent) {
	fmt.Fprintf(w, "Emitted %s %s at %s\n", ev.Event, ev.ID, fmtTime(&ev.CreatedAt))
	if len(ev.Deliveries) == 0 {
		fmt.Fprintf(w, "No active webhook is subscribed to %s: nothing to deliver (see standin webhooks list).\n", ev.Event)
		return
	}
	fmt.Fprintf(w, "%s:\n", plural(len(ev.Deliveries), "delivery"))
	tw := newTable(w)
	fmt.Fprintln(tw, "  DELIVERY\tWEBHOOK\tSTATE")
	for _, d := range ev.Deliveries {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", d.ID, d.WebhookID, d.State)
	}
	_ = tw.Flush()
}

// emittedMany is what trigger --count emitted.
type emittedMany struct {
	event              string
	events, deliveries int
	elapsed            time.Duration
	// items are the emitted events, in order, when they were kept.
	items []client.EmittedEvent
}

// rate is the events emitted per second.
func (em *emittedMany) rate() float64 {
	if em.elapsed <= 0 {
		return 0
	}
	return float64(em.events) / em.elapsed.Seconds()
}

// emitCopies emits n copies of req through POST /standin/v1/events:batch,
// server.MaxEmitBatch a request. keep keeps the emitted events; progress,
// when not nil, is told how far it got about once a second.
func emitCopies(ctx context.Context, c *client.Client, req client.EmitRequest, n int, keep bool, progress io.Writer) (*emittedMany, error) {
	batch := make([]client.EmitRequest, min(n, server.MaxEmitBatch))
	for i := range batch {
		batch[i] = req
	}
	em := &emittedMany{event: req.Event}
	start := time.Now()
	lastProgress := start
	for em.events < n {
		k := min(n-em.events, len(batch))
		resp, err := c.EmitMany(ctx, batch[:k])
		if err == nil && len(resp.Data.Items) != k {
			err = fmt.Errorf("emit %d events: the answer has %d", k, len(resp.Data.Items))
		}
		if err != nil {
			return nil, emitCopiesError(ctx, err, em.events, n)
		}
		for _, ev := range resp.Data.Items {
			em.deliveries += len(ev.Deliveries)
		}
		if keep {
			em.items = append(em.items, resp.Data.Items...)
		}
		em.events += k
		if progress != nil && em.events < n && time.Since(lastProgress) >= time.Second {
			fmt.Fprintf(progress, "  %d of %d events emitted…\n", em.events, n)
			lastProgress = time.Now()
		}
	}
	em.elapsed = time.Since(start)
	return em, nil
}

// emitCopiesError is the command's error when a batch of trigger --count
// failed after done of n events were emitted: Ctrl-C is exit 130.
func emitCopiesError(ctx context.Context, err error, done, n int) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return &exitError{code: exitInterrupted, err: fmt.Errorf("interrupted: %d of %d events emitted", done, n)}
	}
	if done == 0 {
		return err
	}
	return fmt.Errorf("%d of %d events emitted, then: %w", done, n, err)
}

// triggerMany emits n copies of req (trigger --count) and prints a summary
// or, with -o json, an emittedManyJSON document; with --wait it then
// follows every delivery, printing its progress on stderr with -o json.
func triggerMany(cmd *cobra.Command, c *client.Client, af *apiFlags, wf *waitFlags, req client.EmitRequest, n int) error {
	out, progress := cmd.OutOrStdout(), cmd.OutOrStdout()
	var emitProgress io.Writer = progress
	if af.jsonOut() {
		progress, emitProgress = cmd.ErrOrStderr(), nil
	}
	em, err := emitCopies(cmd.Context(), c, req, n, af.jsonOut() || wf.wait, emitProgress)
	if err != nil {
		return err
	}
	if !af.jsonOut() || wf.wait {
		printEmittedMany(progress, em)
	}
	var states map[string]int
	if wf.wait {
		states, err = followMany(cmd.Context(), c, progress, wf, em.items)
	}
	if af.jsonOut() {
		if werr := writeEmittedMany(out, em, states); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

// printEmittedMany writes the one-line summary of trigger --count.
func printEmittedMany(w io.Writer, em *emittedMany) {
	rate := fmt.Sprintf("%.0f", em.rate())
	if em.rate() < 10 {
		rate = fmt.Sprintf("%.1f", em.rate())
	}
	fmt.Fprintf(w, "Emitted %d %s events in %s (%s events/s): %s created\n",
		em.events, em.event, fmtDuration(em.elapsed), rate, plural(em.deliveries, "delivery"))
	if em.deliveries == 0 {
		fmt.Fprintf(w, "No active webhook is subscribed to %s: nothing to deliver (see standin webhooks list).\n", em.event)
	}
}

// emittedManyJSON is the -o json output of trigger --count, items apart.
type emittedManyJSON struct {
	// Events and Deliveries are how many were emitted and created.
	Events     int `json:"events"`
	Deliveries int `json:"deliveries"`
	// Seconds is how long emitting took, EventsPerSecond the rate.
	Seconds         float64 `json:"seconds"`
	EventsPerSecond float64 `json:"events_per_second"`
	// States counts the deliveries by state at the end of --wait; absent
	// without --wait or without deliveries.
	States map[string]int `json:"states,omitempty"`
}

// emittedItem is one emitted event as the emit calls answer it.
type emittedItem struct {
	ID         string                   `json:"id"`
	Event      string                   `json:"event"`
	CreatedAt  string                   `json:"created_at"`
	Deliveries []client.EmittedDelivery `json:"deliveries"`
}

// writeEmittedMany writes emittedManyJSON with "items", the emitted events
// (with --wait, each delivery's state is the last seen), one at a time.
func writeEmittedMany(w io.Writer, em *emittedMany, states map[string]int) error {
	head, err := json.MarshalIndent(emittedManyJSON{
		Events:          em.events,
		Deliveries:      em.deliveries,
		Seconds:         math.Round(em.elapsed.Seconds()*1e6) / 1e6,
		EventsPerSecond: math.Round(em.rate()*10) / 10,
		States:          states,
	}, "", "  ")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(bytes.TrimSuffix(head, []byte("\n}")))
	bw.WriteString(",\n  \"items\": [")
	for i, ev := range em.items {
		ds := ev.Deliveries
		if ds == nil {
			ds = []client.EmittedDelivery{}
		}
		raw, err := json.MarshalIndent(emittedItem{ev.ID, ev.Event, fmtTime(&ev.CreatedAt), ds}, "    ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		bw.Write(raw)
	}
	bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}
