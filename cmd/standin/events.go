package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/server/client"
)

func newEventsCmd() *cobra.Command {
	cmd := groupCommand("events", "Inspect emitted events",
		`Every event standin emitted (by standin trigger, the sync simulator or the
emulator API), with what was emitted and the deliveries it fanned out to.`,
		`  standin events list --event sync_end --since 1h
  standin events show 0196a0c4-3f5e-7b1a-9d2e-8c1f0a6b2d3e`)
	cmd.AddCommand(newEventsListCmd(), newEventsShowCmd())
	return cmd
}

func newEventsListCmd() *cobra.Command {
	var (
		af           apiFlags
		lf           listFlags
		f            client.EventFilter
		since, until string
	)
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List emitted events, newest first",
		Example: `  standin events list
  standin events list --event sync_end --since 30m
  standin events list --all -o json | jq -r '.items[].id'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			var err error
			if f.Since, err = parseSince("--since", since, now); err != nil {
				return err
			}
			if f.Until, err = parseSince("--until", until, now); err != nil {
				return err
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			items, raws, next, err := listAll(ctx, lf, func(p client.ListParams) (*client.Response[client.Page[client.Event]], error) {
				f.Cursor, f.Limit = p.Cursor, p.Limit
				return c.ListEvents(ctx, f)
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if af.jsonOut() {
				return writeListJSON(out, raws, next)
			}
			tw := newTable(out)
			fmt.Fprintln(tw, "ID\tEVENT\tGROUP\tCREATED")
			for _, ev := range items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ev.ID, ev.Event, orDash(ev.GroupID), fmtTime(&ev.CreatedAt))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			moreHint(cmd, next)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Event, "event", "", "only events of this name")
	fl.StringVar(&since, "since", "", "only events created at or after this time: RFC 3339, or a duration ago (15m)")
	fl.StringVar(&until, "until", "", "only events created before this time: RFC 3339, or a duration ago")
	lf.add(cmd, "event")
	addAPIFlags(cmd, &af, true)
	return cmd
}

func newEventsShowCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "show EVENT_ID",
		Short: "Show an emitted event and its deliveries",
		Example: `  standin events show 0196a0c4-3f5e-7b1a-9d2e-8c1f0a6b2d3e
  standin events show 0196a0c4-3f5e-7b1a-9d2e-8c1f0a6b2d3e -o json | jq '.deliveries[].state'`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			resp, err := c.GetEvent(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if af.jsonOut() {
				return writeJSON(out, resp.Raw)
			}
			ev := resp.Data.Event
			tw := newTable(out)
			fmt.Fprintf(tw, "ID\t%s\n", ev.ID)
			fmt.Fprintf(tw, "Event\t%s\n", ev.Event)
			fmt.Fprintf(tw, "Group\t%s\n", orDash(ev.GroupID))
			fmt.Fprintf(tw, "Created\t%s\n", fmtTime(&ev.CreatedAt))
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(ev.Source) > 0 {
				fmt.Fprintln(out, "\nEmitted:")
				if err := writeJSON(out, ev.Source); err != nil {
					return err
				}
			}
			fmt.Fprintf(out, "\n%s:\n", plural(len(resp.Data.Deliveries), "delivery"))
			if len(resp.Data.Deliveries) > 0 {
				printDeliveries(out, resp.Data.Deliveries)
			}
			return nil
		},
	}
	addAPIFlags(cmd, &af, true)
	return cmd
}
