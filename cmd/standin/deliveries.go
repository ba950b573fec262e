package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/server/client"
)

func newDeliveriesCmd() *cobra.Command {
	cmd := groupCommand("deliveries", "Inspect, redeliver and cancel deliveries",
		`The delivery log: every event on its way to every webhook, with each attempt's
request headers, response status, latency and error, in real and emulated time.`,
		`  standin deliveries list --status retrying
  standin deliveries show 0196a0c4-3f5e-7b1a-9d2e-8c1f0a6b2d3e
  standin deliveries retry 0196a0c4-3f5e-7b1a-9d2e-8c1f0a6b2d3e --wait`)
	cmd.AddCommand(newDeliveriesListCmd(), newDeliveriesShowCmd(), newDeliveriesRetryCmd(), newDeliveriesCancelCmd())
	return cmd
}

// parseSince reads a time bound: RFC 3339, or a duration meaning that long
// before now ("15m").
func parseSince(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, usageErr("%s %q: want an RFC 3339 time or a duration ago such as 15m", flag, v)
}

func newDeliveriesListCmd() *cobra.Command {
	var (
		af                  apiFlags
		lf                  listFlags
		f                   client.DeliveryFilter
		since, until, state string
	)
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List deliveries, newest first",
		Example: `  standin deliveries list
  standin deliveries list --webhook program_quoth --status failed --since 1h
  standin deliveries list --event-id 0196a0c4-3f5e-7b1a-9d2e-8c1f0a6b2d3e -o json | jq -r '.items[].state'`,
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
			f.Status = state
			c, err := af.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			items, raws, next, err := listAll(ctx, lf, func(p client.ListParams) (*client.Response[client.Page[client.Delivery]], error) {
				f.Cursor, f.Limit = p.Cursor, p.Limit
				return c.ListDeliveries(ctx, f)
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if af.jsonOut() {
				return writeListJSON(out, raws, next)
			}
			printDeliveries(out, items)
			moreHint(cmd, next)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.WebhookID, "webhook", "", "only deliveries to this webhook")
	fl.StringVar(&f.Event, "event", "", "only deliveries of this event name")
	fl.StringVar(&f.EventID, "event-id", "", "only deliveries of this emitted event")
	fl.StringVar(&state, "status", "", "only deliveries in this state: pending, retrying, succeeded, failed or cancelled")
	fl.StringVar(&since, "since", "", "only deliveries created at or after this time: RFC 3339, or a duration ago (15m)")
	fl.StringVar(&until, "until", "", "only deliveries created before this time: RFC 3339, or a duration ago")
	lf.add(cmd, "delivery")
	addAPIFlags(cmd, &af, true)
	return cmd
}

// printDeliveries writes a table of deliveries.
func printDeliveries(w io.Writer, ds []client.Delivery) {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tEVENT\tWEBHOOK\tSTATE\tATTEMPTS\tLAST\tNEXT ATTEMPT\tCREATED")
	for _, d := range ds {
		last := "-"
		if d.LastStatus != nil {
			last = strconv.Itoa(*d.LastStatus)
			if *d.LastStatus == 0 {
				last = "no response"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.Event, d.WebhookID, d.State, d.Attempts,
			last, fmtTime(d.NextAttemptAt), fmtTime(&d.CreatedAt))
	}
	_ = tw.Flush()
}

func newDeliveriesShowCmd() *cobra.Command {
	var (
		af      apiFlags
		headers bool
	)
	cmd := &cobra.Command{
		Use:   "show DELIVERY_ID",
		Short: "Show a delivery: its state, request body and every attempt",
		Example: `  standin deliveries show 0196a0c4-3f5e-7b1a-9d2e-8c1f0a6b2d3e
  standin deliveries show 0196a0c4-3f5e-7b1a-9d2e-8c1f0a6b2d3e --headers
  standin deliveries show 0196a0c4-3f5e-7b1a-9d2e-8c1f0a6b2d3e -o json | jq '.attempts[].status'`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			resp, err := c.GetDelivery(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if af.jsonOut() {
				return writeJSON(out, resp.Raw)
			}
			return printDeliveryDetail(out, &resp.Data, headers, time.Now())
		},
	}
	cmd.Flags().BoolVar(&headers, "headers", false, "also print each attempt's request and response headers")
	addAPIFlags(cmd, &af, true)
	return cmd
}

// printDeliveryDetail writes a delivery for people.
func printDeliveryDetail(w io.Writer, d *client.DeliveryDetail, headers bool, now time.Time) error {
	dl := d.Delivery
	tw := newTable(w)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("ID", dl.ID)
	row("Event", dl.Event+" ("+dl.EventID+")")
	row("Webhook", dl.WebhookID)
	row("Profile", profileOf(dl.Profile))
	state := dl.State
	if client.Final(dl.State) {
		state = describeFinal(d)
	}
	row("State", state)
	if next := describeNext(d, now); next != "" && !client.Final(dl.State) {
		row("Next", next)
	}
	if dl.LastError != "" {
		row("Last error", dl.LastError)
	}
	row("Created", fmtTime(&dl.CreatedAt))
	row("First attempt", fmtTime(dl.FirstAttemptAt))
	if dl.FinishedAt != nil {
		row("Finished", fmtTime(dl.FinishedAt))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nAttempts (%d):\n", len(d.Attempts))
	if len(d.Attempts) > 0 {
		tw = newTable(w)
		fmt.Fprintln(tw, "  #\tKIND\tSTARTED (REAL)\tEMULATED\tSTATUS\tLATENCY\tRESULT")
		retry := 0
		for _, at := range d.Attempts {
			kind := "first"
			switch {
			case at.Manual:
				kind = "manual"
			case retry > 0:
				kind = "retry " + strconv.Itoa(retry)
			}
			if !at.Manual {
				retry++
			}
			status := strconv.Itoa(at.Status)
			if at.Status == 0 {
				status = "-"
			}
			result := "accepted"
			if !at.Succeeded {
				result = orDash(at.Error)
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t+%s\t%s\t%s\t%s\n", at.Number, kind, fmtTime(&at.StartedAt),
				fmtDuration(at.EmulatedDelay), status, fmtDuration(at.Latency), result)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if headers {
		for _, at := range d.Attempts {
			fmt.Fprintf(w, "\nAttempt %d request headers:\n", at.Number)
			printHeaders(w, at.RequestHeaders)
			fmt.Fprintf(w, "Attempt %d response headers:\n", at.Number)
			printHeaders(w, at.ResponseHeaders)
			if at.ResponseExcerpt != "" {
				fmt.Fprintf(w, "Attempt %d response body (excerpt):\n  %s\n", at.Number, at.ResponseExcerpt)
			}
		}
	}
	fmt.Fprintln(w, "\nRequest body:")
	if err := writeJSON(w, json.RawMessage(d.RequestBody)); err != nil {
		fmt.Fprintln(w, d.RequestBody) // not JSON: as sent
	}
	return nil
}

func printHeaders(w io.Writer, h map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(h)) {
		fmt.Fprintf(w, "  %s: %s\n", k, h[k])
	}
}

func newDeliveriesRetryCmd() *cobra.Command {
	var (
		af apiFlags
		wf waitFlags
	)
	cmd := &cobra.Command{
		Use:   "retry DELIVERY_ID [--wait]",
		Short: "Redeliver now, outside the retry schedule",
		Long: `Queue one manual attempt now (POST /standin/v1/deliveries/{id}/redeliver), in
any state, finished deliveries included. A successful manual attempt makes the
delivery succeeded; a failed one leaves its state and schedule as they were.
With --wait, wait for that attempt and show it: exit 3 when the receiver did not
accept it.`,
		Example: `  standin deliveries retry 0196a0c4-3f5e-7b1a-9d2e-8c1f0a6b2d3e
  standin deliveries retry 0196a0c4-3f5e-7b1a-9d2e-8c1f0a6b2d3e --wait`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := wf.validate(); err != nil {
				return err
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			resp, err := c.RedeliverDelivery(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out, progress := cmd.OutOrStdout(), cmd.OutOrStdout()
			if af.jsonOut() {
				progress = cmd.ErrOrStderr()
				if !wf.wait {
					return writeJSON(out, resp.Raw)
				}
			} else {
				fmt.Fprintf(out, "Redelivery of %s queued (%s, %s so far).\n", args[0], resp.Data.State, plural(resp.Data.Attempts, "attempt"))
			}
			if !wf.wait {
				return nil
			}
			before := resp.Data.Attempts
			ctx, cancel := wf.context(cmd.Context())
			defer cancel()
			f := &follower{client: c, out: progress, interval: wf.pollInterval, now: time.Now,
				known: map[string]client.Delivery{args[0]: resp.Data}}
			seen, err := f.follow(ctx, []string{args[0]}, func(d *client.DeliveryDetail) bool {
				return manualAttemptAfter(d, before) != nil
			})
			if err != nil {
				return waitError(err, wf.timeout, details(seen))
			}
			if af.jsonOut() {
				if err := writeJSON(out, seen[0].raw); err != nil {
					return err
				}
			}
			if at := manualAttemptAfter(seen[0].detail, before); !at.Succeeded {
				return &exitError{code: exitUndelivered, err: fmt.Errorf("delivery %s: the receiver did not accept the redelivery", args[0])}
			}
			return nil
		},
	}
	wf.add(cmd, "the redelivery")
	cmd.Flags().Lookup("wait").Usage = "wait for the manual attempt and show its outcome (exit 3 when refused)"
	addAPIFlags(cmd, &af, true)
	return cmd
}

// manualAttemptAfter returns the first manual attempt after the first
// before attempts, or nil.
func manualAttemptAfter(d *client.DeliveryDetail, before int) *client.Attempt {
	for i := range d.Attempts {
		if i >= before && d.Attempts[i].Manual {
			return &d.Attempts[i]
		}
	}
	return nil
}

func newDeliveriesCancelCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "cancel DELIVERY_ID",
		Short: "Stop a pending or retrying delivery",
		Long: `Cancel a pending or retrying delivery (POST /standin/v1/deliveries/{id}/cancel):
it gets no further scheduled attempt. A finished delivery cannot be cancelled
(Conflict, exit 1).`,
		Example: `  standin deliveries cancel 0196a0c4-3f5e-7b1a-9d2e-8c1f0a6b2d3e`,
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			resp, err := c.CancelDelivery(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if af.jsonOut() {
				return writeJSON(out, resp.Raw)
			}
			msg := resp.Message
			if msg == "" {
				msg = "Delivery " + args[0] + " is " + resp.Data.State
			}
			fmt.Fprintf(out, "%s (%s).\n", msg, plural(resp.Data.Attempts, "attempt"))
			return nil
		},
	}
	addAPIFlags(cmd, &af, true)
	return cmd
}
