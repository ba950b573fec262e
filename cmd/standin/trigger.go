package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server/client"
)

// triggerFlags are the fields of an emitted event.
type triggerFlags struct {
	req  client.EmitRequest
	data string
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

Fivetran events: ` + joinCatalog(delivery.ProfileFivetran) + `.
Portable events: ` + joinCatalog(delivery.ProfilePortable) + `.

Exit codes: 0 emitted (with --wait: every delivery succeeded), 1 API error
(e.g. an unknown event: InvalidInput), 2 usage error, 3 with --wait a delivery
failed or was cancelled, 130 Ctrl-C during --wait (the deliveries go on in
standin; follow them with standin deliveries list).`,
		Example: `  # a failed sync, followed through Fivetran's retries
  standin trigger sync_end --status FAILURE --reason "disk full" --wait

  # a given connector in a given group, rescheduled
  standin trigger sync_end --connector assimilate_seem --group inappropriate_implode \
    --status RESCHEDULED --rescheduled-at 2026-05-22T01:00:00Z

  # any event with your own data object
  standin trigger transformation_run_failed --data @failed.json
  standin trigger edit_connector --data '{"changed":["schedule"]}'

  # a Portable flow ending
  standin trigger sync_end --flow 42 --status FAILED --details "source timed out"`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := tf.req
			req.Event = args[0]
			if tf.data != "" {
				data, err := readJSONArg("--data", tf.data, cmd.InOrStdin())
				if err != nil {
					return err
				}
				req.Data = data
			}
			if err := wf.validate(); err != nil {
				return err
			}
			c, err := af.client()
			if err != nil {
				return err
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
	fl.StringVar(&r.ConnectorID, "connector", "", "Fivetran connector (connection) id (default: a generated one)")
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
