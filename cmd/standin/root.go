package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// run executes the command line and returns the process exit code (see
// exitOK and the other exit codes): the error, if any, is printed on
// stderr, followed by a pointer to --help for usage errors.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "standin:", err)
	var ee *exitError
	if !errors.As(err, &ee) {
		return exitFailure
	}
	if ee.code == exitUsage && cmd != nil {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return ee.code
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "standin",
		Short: "A local, faithful stand-in for Fivetran's and Portable's webhook senders",
		Long: `standin sends your webhook receiver exactly what Fivetran or Portable would:
the same JSON, the same signature header, the same retries for up to 24 hours.
Its management API is Fivetran's webhook REST API (point your provisioning code
at http://localhost:8080/v1), and it runs offline, in CI and inside Go tests.

The other commands talk to a running standin (--api-url, STANDIN_API_URL).
Exit codes: 0 success; 1 an API error (its code and message on stderr), standin
unreachable or another failure; 2 a usage error; 3 a receiver did not accept a
delivery that --wait followed (or a webhooks test), or a standin check probe
failed; 4 standin check could not reach the receiver; 130 Ctrl-C during --wait.
standin listen and standin serve end with 0 on Ctrl-C.`,
		Example: `  standin serve --time-scale 60            # run standin
  standin listen --port 9000 --secret s    # a receiver that prints what arrives
  standin webhooks create --url http://127.0.0.1:9000 --events sync_end --secret s
  standin trigger sync_end --status FAILURE --wait`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.ArbitraryArgs,
		RunE:          requireSubcommand,
	}
	// Every usage error exits 2, flag errors included.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: err}
	})
	root.AddCommand(
		newServeCmd(), newMigrateCmd(), newVersionCmd(),
		newTriggerCmd(), newSyncCmd(), newListenCmd(),
		newWebhooksCmd(), newDeliveriesCmd(), newEventsCmd(),
		newCheckCmd(), newStatsCmd(), newClockCmd(), newExportCmd(), newReplayCmd(),
		newCompletionCmd(),
	)
	root.InitDefaultHelpCmd()
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			c.Example = "  standin help trigger\n  standin help webhooks create"
		}
	}
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print standin's version",
		Example: `  standin version`,
		Args:    usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "standin", buildVersion())
			return nil
		},
	}
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// bindEnv lets environment variables supply flags the command line did not
// set: envs maps a flag name to its variable. A bad value is an error naming
// the variable. Each flag's usage mentions its variable.
func bindEnv(cmd *cobra.Command, envs map[string]string) {
	for name, variable := range envs {
		if f := cmd.Flags().Lookup(name); f != nil {
			f.Usage += " (env " + variable + ")"
		}
	}
	prev := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, args []string) error {
		for name, variable := range envs {
			f := cmd.Flags().Lookup(name)
			v, ok := os.LookupEnv(variable)
			if f == nil || !ok || f.Changed {
				continue
			}
			if err := f.Value.Set(v); err != nil {
				return &exitError{code: 2, err: fmt.Errorf("%s=%q: %w", variable, v, err)}
			}
		}
		if prev != nil {
			return prev(cmd, args)
		}
		return nil
	}
}
