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

// run executes the command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "standin:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "standin",
		Short: "A local, faithful stand-in for Fivetran's and Portable's webhook senders",
		Long: `standin sends your webhook receiver exactly what Fivetran or Portable would:
the same JSON, the same signature header, the same retries for up to 24 hours.
Its management API is Fivetran's webhook REST API (point your provisioning code
at http://localhost:8080/v1), and it runs offline, in CI and inside Go tests.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newMigrateCmd(), newVersionCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print standin's version",
		Args:  cobra.NoArgs,
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
