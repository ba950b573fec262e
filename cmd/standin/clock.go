package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/server/clock"
)

func newClockCmd() *cobra.Command {
	cmd := groupCommand("clock", "Show or move standin's clock",
		`standin serve --clock manual starts with time frozen: it moves only when told,
and each advance fires, in order and before it returns, every retry and
simulated sync_end that comes due on the way. The real clock (the default)
cannot be moved.`,
		`  standin clock show
  standin clock advance 6m
  standin clock advance 3d
  standin clock advance --to 2026-05-23T00:00:00Z`)
	cmd.AddCommand(newClockShowCmd(), newClockAdvanceCmd())
	return cmd
}

func newClockShowCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:     "show",
		Short:   "Print the clock's time and kind",
		Example: `  standin clock show`,
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			resp, err := c.GetClock(cmd.Context())
			if err != nil {
				return err
			}
			if af.jsonOut() {
				return writeJSON(cmd.OutOrStdout(), resp.Raw)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (%s clock, time scale %g)\n", resp.Data.Now.Format(clockFormat), resp.Data.Kind, resp.Data.TimeScale)
			return nil
		},
	}
	addAPIFlags(cmd, &af, true)
	return cmd
}

// clockFormat is how the clock commands print times.
const clockFormat = "2006-01-02T15:04:05.000Z07:00"

func newClockAdvanceCmd() *cobra.Command {
	var (
		af apiFlags
		to string
	)
	cmd := &cobra.Command{
		Use:   "advance DURATION | --to TIME",
		Short: "Move the manual clock forward, firing what comes due",
		Long: `Move the manual clock forward by DURATION (a Go duration such as 6m or 24h,
optionally after whole days: 3d, 1d12h) or to an RFC 3339 TIME, and print each
delivery that came due on the way, in the order it fired.`,
		Example: `  standin clock advance 6m
  standin clock advance --to 2026-05-23T00:00:00Z -o json`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (to != "") {
				return usageErr("give a DURATION or --to TIME, not both or neither")
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			// An advance waits for the attempts that come due, up to
			// clock.DefaultSettleTimeout on the server.
			c.HTTPClient = &http.Client{Timeout: clock.DefaultSettleTimeout + 30*time.Second}
			ctx := cmd.Context()
			var (
				d time.Duration
				t time.Time
			)
			if len(args) == 1 {
				if d, err = clock.ParseDuration(args[0]); err != nil {
					return usageErr("%v", err)
				}
			} else if t, err = time.Parse(time.RFC3339Nano, to); err != nil {
				return usageErr("--to %q: want an RFC 3339 time", to)
			}
			resp, err := c.AdvanceClock(ctx, d)
			if len(args) == 0 {
				resp, err = c.AdvanceClockTo(ctx, t)
			}
			if err != nil {
				return err
			}
			if af.jsonOut() {
				return writeJSON(cmd.OutOrStdout(), resp.Raw)
			}
			out := cmd.OutOrStdout()
			adv := resp.Data
			fmt.Fprintf(out, "%s -> %s, %d fired\n", adv.From.Format(clockFormat), adv.Now.Format(clockFormat), len(adv.Fired))
			tw := newTable(out)
			for _, f := range adv.Fired {
				fmt.Fprintf(tw, "  %s\t+%s\t%s\t%s\n", f.At.Format(clockFormat), f.At.Sub(adv.From), f.Event, f.DeliveryID)
			}
			return tw.Flush()
		},
	}
	addAPIFlags(cmd, &af, true)
	cmd.Flags().StringVar(&to, "to", "", "RFC 3339 time to move the clock to")
	return cmd
}

// clockFlag reads --clock, refusing settings that contradict a manual
// clock: a time scale other than 1, a role other than all.
func clockFlag(f serveFlags) (bool, error) {
	switch f.clock {
	case "", "real":
		return false, nil
	case "manual":
	default:
		return false, fmt.Errorf("--clock %q: want real or manual", f.clock)
	}
	if f.timeScale != 1 {
		return false, fmt.Errorf("--clock manual moves time only when told: --time-scale %v contradicts it (leave it at 1)", f.timeScale)
	}
	if f.role != "" && f.role != "all" {
		return false, fmt.Errorf("--clock manual needs --role all: the clock lives in one process, which must serve the API and deliver")
	}
	return true, nil
}
