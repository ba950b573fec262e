package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/server/client"
)

// syncFlags are the flags of `standin sync`.
type syncFlags struct {
	fivetran client.SimulateSyncRequest
	portable client.RunFlowRequest
	flow     int64
	status   string
	duration time.Duration
	faults   []string
}

// fivetranOnly and portableOnly are the flags of one kind of sync.
var (
	fivetranOnly = []string{"reason", "task-type", "rescheduled-at", "force", "resync"}
	portableOnly = []string{"details", "run-attempt", "source-id", "source-type", "destination-id", "destination-type"}
)

func newSyncCmd() *cobra.Command {
	var (
		af apiFlags
		sf syncFlags
		wf waitFlags
	)
	cmd := &cobra.Command{
		Use:   "sync CONNECTION_ID [flags] | sync --flow FLOW_ID [flags]",
		Short: "Simulate a sync: sync_start now, sync_end after --duration",
		Long: `Simulate a sync of a connection registered in standin's sync simulator
(POST /standin/v1/connections/{id}/sync): force_update_connector with --force,
resync_connector with --resync, sync_start now and sync_end with --status after
--duration (emulated time: the real wait is divided by standin's --time-scale),
all with one sync_id, to the Fivetran webhooks of the connection's group and
account.

With --flow, run a Portable flow instead
(POST /standin/v1/portable/flows/{flow_id}/run): sync_start now and sync_end
after --duration, to Portable webhooks only.

--wait follows every delivery, sync_end's included once it is emitted, until it
is final. Exit codes as for standin trigger: 0, 1 API error (e.g.
NotFound_Connector, or Conflict for a paused or already syncing connection
without --force), 2 usage error, 3 a delivery failed or was cancelled, 130
Ctrl-C during --wait.`,
		Example: `  # a sync that fails after 5 emulated minutes, followed to the end
  standin sync assimilate_seem --status FAILURE --reason "disk full" --duration 5m --wait

  # restart a running sync
  standin sync assimilate_seem --force

  # a Portable flow run that fails
  standin sync --flow 42 --status FAILED --details "source timed out" --wait`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			isFlow := fl.Changed("flow")
			switch {
			case isFlow && len(args) == 1:
				return usageErr("give a CONNECTION_ID or --flow, not both")
			case !isFlow && len(args) == 0:
				return usageErr("give the CONNECTION_ID to sync, or --flow FLOW_ID")
			case isFlow && sf.flow <= 0:
				return usageErr("--flow %d: want a positive flow id", sf.flow)
			case sf.duration < 0:
				return usageErr("--duration must not be negative")
			}
			wrong, kind := fivetranOnly, "a Fivetran connection sync (without --flow)"
			if !isFlow {
				wrong, kind = portableOnly, "a Portable flow run (--flow)"
			}
			for _, name := range wrong {
				if fl.Changed(name) {
					return usageErr("--%s only applies to %s", name, kind)
				}
			}
			if err := wf.validate(); err != nil {
				return err
			}
			faults, err := parseFaults(sf.faults)
			if err != nil {
				return err
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			duration := ""
			if fl.Changed("duration") {
				duration = sf.duration.String()
			}
			if isFlow {
				req := sf.portable
				req.Status, req.Duration, req.Faults = sf.status, duration, faults
				resp, err := c.RunFlow(cmd.Context(), sf.flow, req)
				if err != nil {
					return err
				}
				d := resp.Data
				match := func(src map[string]any) bool {
					return jsonInt(src["flow_id"]) == int64(d.FlowID) && jsonInt(src["run_attempt_id"]) == int64(d.RunAttemptID)
				}
				head := fmt.Sprintf("%s: flow %d, run attempt %d", orDefault(resp.Message, "Flow run has been started"), d.FlowID, d.RunAttemptID)
				return reportSync(cmd, c, &af, &wf, head, d.EndsAt, d.Events, resp.Raw, match)
			}
			req := sf.fivetran
			req.Status, req.Duration, req.Faults = sf.status, duration, faults
			resp, err := c.SimulateSync(cmd.Context(), args[0], req)
			if err != nil {
				return err
			}
			d := resp.Data
			match := func(src map[string]any) bool { return src["sync_id"] == d.SyncID }
			head := fmt.Sprintf("%s: connection %s (%s) in group %s, sync_id %s",
				orDefault(resp.Message, "Sync has been started"), d.Connection.ID, d.Connection.Service, d.Connection.GroupID, d.SyncID)
			return reportSync(cmd, c, &af, &wf, head, d.EndsAt, d.Events, resp.Raw, match)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&sf.status, "status", "", "sync_end status: SUCCESSFUL (default), FAILURE, FAILURE_WITH_TASK, RESCHEDULED or FAILED")
	fl.DurationVar(&sf.duration, "duration", 0, "the sync's length in emulated time, e.g. 5m (default: standin's, 5 minutes unless configured)")
	addFaultFlag(cmd, &sf.faults)
	fl.StringVar(&sf.fivetran.Reason, "reason", "", "sync_end's data.reason")
	fl.StringVar(&sf.fivetran.TaskType, "task-type", "", "sync_end's data.taskType")
	fl.StringVar(&sf.fivetran.RescheduledAt, "rescheduled-at", "", "sync_end's data.rescheduledAt, RFC 3339")
	fl.BoolVar(&sf.fivetran.Force, "force", false, "stop a running sync and start again (emits force_update_connector)")
	fl.BoolVar(&sf.fivetran.Resync, "resync", false, "a historical re-sync (emits resync_connector first)")
	fl.Int64Var(&sf.flow, "flow", 0, "run this Portable flow instead of syncing a connection")
	fl.StringVar(&sf.portable.Details, "details", "", "Portable: sync_end's details text")
	fl.Int64Var(&sf.portable.RunAttemptID, "run-attempt", 0, "Portable: the run attempt id (default: a fresh one)")
	fl.Int64Var(&sf.portable.SourceID, "source-id", 0, "Portable: the source id")
	fl.StringVar(&sf.portable.SourceType, "source-type", "", "Portable: the source type, e.g. hubspot_crm")
	fl.Int64Var(&sf.portable.DestinationID, "destination-id", 0, "Portable: the destination id")
	fl.StringVar(&sf.portable.DestinationType, "destination-type", "", "Portable: the destination type, e.g. bigquery")
	wf.add(cmd, "the sync's deliveries")
	addAPIFlags(cmd, &af, true)
	return cmd
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// jsonInt reads a JSON number (or numeric string) decoded into any.
func jsonInt(v any) int64 {
	switch v := v.(type) {
	case float64:
		return int64(v)
	case json.Number:
		n, _ := v.Int64()
		return n
	case string:
		var n client.Int64
		if n.UnmarshalJSON([]byte(v)) == nil {
			return int64(n)
		}
	}
	return -1
}

// reportSync prints a started sync and its events and, with --wait,
// follows their deliveries and sync_end's, found by match on the emitted
// source once it is emitted. With -o json it writes the call's data or, with
// --wait, {"sync": that data, "deliveries": [GET /standin/v1/deliveries/{id}
// data…]}.
func reportSync(cmd *cobra.Command, c *client.Client, af *apiFlags, wf *waitFlags, head string, endsAt time.Time,
	events []client.EmittedEvent, raw json.RawMessage, match func(map[string]any) bool) error {
	out, progress := cmd.OutOrStdout(), cmd.OutOrStdout()
	if af.jsonOut() {
		progress = cmd.ErrOrStderr()
		if !wf.wait {
			return writeJSON(out, raw)
		}
	}
	fmt.Fprintln(progress, head)
	hasEnd := false
	var ids []string
	for _, ev := range events {
		printEmitted(progress, ev)
		hasEnd = hasEnd || ev.Event == "sync_end"
		for _, d := range ev.Deliveries {
			ids = append(ids, d.ID)
		}
	}
	if wait := time.Until(endsAt); wait > 0 {
		fmt.Fprintf(progress, "The sync ends, and sync_end is sent, at %s (in %s real).\n", fmtTime(&endsAt), fmtDuration(wait))
	}
	if !wf.wait {
		return nil
	}
	var discover func(context.Context) ([]string, bool, error)
	if !hasEnd {
		since := endsAt.Add(-time.Minute)
		if len(events) > 0 {
			since = events[0].CreatedAt
		}
		discover = func(ctx context.Context) ([]string, bool, error) {
			if time.Until(endsAt) > time.Second {
				return nil, false, nil // not due yet (a second of clock skew allowed)
			}
			return findSyncEnd(ctx, c, progress, since, match)
		}
	}
	if discover != nil {
		fmt.Fprintln(progress, "Waiting for the deliveries, sync_end's included (Ctrl-C stops waiting; the sync and delivery go on)…")
	}
	seen, err := followDeliveries(cmd.Context(), c, progress, wf, ids, discover)
	var ee *exitError
	if errors.As(err, &ee) && ee.code == exitInterrupted && discover != nil && time.Until(endsAt) > 0 {
		ee.err = fmt.Errorf("%w; sync_end is due at %s", ee.err, fmtTime(&endsAt))
	}
	if af.jsonOut() {
		doc := struct {
			Sync       json.RawMessage   `json:"sync"`
			Deliveries []json.RawMessage `json:"deliveries"`
		}{raw, raws(seen)}
		if doc.Deliveries == nil {
			doc.Deliveries = []json.RawMessage{}
		}
		if werr := writeValue(out, doc); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

// findSyncEnd looks for the sync's sync_end among the events emitted since
// since; when it is there it prints it and returns its deliveries' ids.
func findSyncEnd(ctx context.Context, c *client.Client, w io.Writer, since time.Time, match func(map[string]any) bool) ([]string, bool, error) {
	f := client.EventFilter{Event: "sync_end", Since: since}
	for {
		page, err := c.ListEvents(ctx, f)
		if err != nil {
			return nil, false, err
		}
		for _, ev := range page.Data.Items {
			var src map[string]any
			if json.Unmarshal(ev.Source, &src) != nil || !match(src) {
				continue
			}
			detail, err := c.GetEvent(ctx, ev.ID)
			if err != nil {
				return nil, false, err
			}
			emitted := client.EmittedEvent{ID: ev.ID, Event: ev.Event, CreatedAt: ev.CreatedAt}
			ids := make([]string, len(detail.Data.Deliveries))
			for i, d := range detail.Data.Deliveries {
				ids[i] = d.ID
				emitted.Deliveries = append(emitted.Deliveries, client.EmittedDelivery{ID: d.ID, WebhookID: d.WebhookID, State: d.State})
			}
			printEmitted(w, emitted)
			return ids, true, nil
		}
		if page.Data.NextCursor == "" {
			return nil, false, nil
		}
		f.Cursor = page.Data.NextCursor
	}
}
