package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server/client"
	"github.com/standin-dev/standin/server/export"
)

func newExportCmd() *cobra.Command {
	var (
		af       apiFlags
		f        client.ExportFilter
		since    string
		timeline string
	)
	cmd := &cobra.Command{
		Use:   "export [flags]",
		Short: "Write the delivery log as JSON Lines, or its timeline",
		Long: `Write the delivery log as JSON Lines on stdout, oldest event first: one line
per event with its deliveries and every attempt's exact request (headers and
body) and response. standin replay sends it again.

--timeline csv|json writes instead one row per attempt: the emulated offset
the schedule planned and the real offset it happened at, with its status.`,
		Example: `  standin export > log.jsonl
  standin export --since 1h --webhook program_quoth --event sync_end
  standin export --timeline csv > timeline.csv`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if f.Since, err = parseSince("--since", since, time.Now()); err != nil {
				return err
			}
			switch timeline {
			case "":
			case "csv", "json":
				f.Format = "timeline-" + timeline
			default:
				return usageErr("--timeline %q: want csv or json", timeline)
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			return c.Export(cmd.Context(), f, cmd.OutOrStdout())
		},
	}
	addAPIFlags(cmd, &af, false)
	fl := cmd.Flags()
	fl.StringVar(&since, "since", "", "only events created since: an RFC 3339 time or a duration ago (15m)")
	fl.StringVar(&f.WebhookID, "webhook", "", "only deliveries to this webhook")
	fl.StringVar(&f.Event, "event", "", "only events of this name")
	fl.StringVar(&timeline, "timeline", "", "write the attempt timeline instead: csv or json")
	return cmd
}

func newReplayCmd() *cobra.Command {
	var (
		to         string
		secret     string
		speed      float64
		fastest    bool
		sendTimout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "replay FILE --to URL",
		Short: "Send recorded requests again, byte for byte",
		Long: `Send the requests of FILE to URL again, byte for byte (the same body and
headers), in their original order and spacing (scaled by --speed), and print
what the receiver answered each. FILE ("-" for stdin) is a standin export or
a raw capture: JSON Lines of {"method","headers","body"} (optionally "at",
RFC 3339, for the spacing), as standin listen --capture writes.

--secret re-signs every request with another secret, in its own scheme.
Exit code 3 when the receiver refused any request (no answer, or not 2xx).`,
		Example: `  standin export --event sync_end > log.jsonl
  standin replay log.jsonl --to http://127.0.0.1:9000/hook --as-fast-as-possible
  standin replay capture.jsonl --to http://127.0.0.1:9000/hook --secret new-secret --speed 10`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return usageErr("--to URL is required")
			}
			if fastest && cmd.Flags().Changed("speed") {
				return usageErr("give --speed or --as-fast-as-possible, not both")
			}
			if speed <= 0 {
				return usageErr("--speed %v: must be above 0", speed)
			}
			in := cmd.InOrStdin()
			if args[0] != "-" {
				file, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer file.Close()
				in = file
			}
			items, err := export.ReadRequests(in)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			opts := export.ReplayOptions{To: to, Speed: speed, Sender: &delivery.Sender{Timeout: sendTimout}}
			if fastest {
				opts.Speed = 0
			}
			if cmd.Flags().Changed("secret") {
				opts.Secret = &secret
			}
			out := cmd.OutOrStdout()
			refused, err := export.Replay(cmd.Context(), items, opts, func(r export.Result) {
				switch {
				case r.Response.Err != nil:
					fmt.Fprintf(out, "%s: no answer: %v\n", r.Item.Label, r.Response.Err)
				default:
					fmt.Fprintf(out, "%s: HTTP %d %s\n", r.Item.Label, r.Response.Status, excerptLine(r.Response.Excerpt))
				}
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%d requests, %d refused\n", len(items), refused)
			if refused > 0 {
				return &exitError{code: exitUndelivered, err: fmt.Errorf("the receiver refused %d of %d requests", refused, len(items))}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&to, "to", "", "URL to send the requests to")
	fl.StringVar(&secret, "secret", "", "re-sign every request with this secret")
	fl.Float64Var(&speed, "speed", 1, "replay N times faster than recorded")
	fl.BoolVar(&fastest, "as-fast-as-possible", false, "send each request as soon as the previous one was answered")
	fl.DurationVar(&sendTimout, "send-timeout", 10*time.Second, "timeout of one request")
	return cmd
}

// excerptLine is a response body excerpt on one line, at most 80 bytes.
func excerptLine(b []byte) string {
	s := []rune(string(b))
	if len(s) > 80 {
		s = append(s[:80], '…')
	}
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}
