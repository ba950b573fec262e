package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/delivery"
)

func newStatsCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Show counts: events, deliveries by state, attempts, webhooks, River jobs",
		Long: `Print the counts that GET /metrics exports (GET /standin/v1/stats), read from
the database, so every process of a deployment gives the same numbers.`,
		Example: `  standin stats
  standin stats -o json | jq .data.deliveries.retrying`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			resp, err := c.Stats(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if af.jsonOut() {
				return writeJSON(out, resp.Raw)
			}
			st := resp.Data
			tw := newTable(out)
			fmt.Fprintln(tw, "WHAT\tCOUNT")
			fmt.Fprintf(tw, "events emitted\t%d\n", st.EventsEmitted)
			for _, s := range delivery.DeliveryStates() {
				fmt.Fprintf(tw, "deliveries %s\t%d\n", s, st.Deliveries[string(s)])
			}
			for _, a := range st.Attempts {
				fmt.Fprintf(tw, "attempts %s %s\t%d\n", a.Outcome, a.StatusClass, a.Count)
			}
			fmt.Fprintf(tw, "attempt latency mean\t%.1f ms (%d attempts)\n", st.AttemptDuration.MeanSeconds*1000, st.AttemptDuration.Count)
			fmt.Fprintf(tw, "webhooks\t%d (%d active, %d deactivated by standin)\n",
				st.Webhooks.Total, st.Webhooks.Active, st.Webhooks.Deactivated)
			states := make([]string, 0, len(st.RiverJobs))
			for s := range st.RiverJobs {
				states = append(states, s)
			}
			slices.Sort(states)
			var jobs []string
			for _, s := range states {
				if n := st.RiverJobs[s]; n > 0 {
					jobs = append(jobs, fmt.Sprintf("%s %d", s, n))
				}
			}
			fmt.Fprintf(tw, "river jobs\t%s\n", orDash(strings.Join(jobs, ", ")))
			fmt.Fprintf(tw, "time scale\t%s\n", describeScale(st.TimeScale))
			return tw.Flush()
		},
	}
	addAPIFlags(cmd, &af, true)
	return cmd
}

// describeScale says what a time scale means for a Fivetran schedule.
func describeScale(scale float64) string {
	if scale <= 0 {
		return "unknown"
	}
	day := time.Duration(float64(24*time.Hour) / scale)
	return fmt.Sprintf("%g (Fivetran's 24 h retry schedule in %s)", scale, fmtDuration(day))
}
