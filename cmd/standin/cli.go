package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/server/client"
)

// Exit codes of the standin command. Scripts may rely on them.
const (
	// exitOK: the command did what it was asked.
	exitOK = 0
	// exitFailure: the API answered with an error (its code and message are
	// printed on stderr), standin could not be reached, or another runtime
	// failure.
	exitFailure = 1
	// exitUsage: the command line is wrong (unknown command or flag, bad
	// flag value, missing argument); nothing was sent.
	exitUsage = 2
	// exitUndelivered: the calls succeeded but a receiver did not accept
	// what was sent: `trigger --wait`, `sync --wait` or `deliveries retry
	// --wait` saw a delivery end failed or cancelled, or `webhooks test` got
	// succeed=false.
	exitUndelivered = 3
	// exitCheckFailed: `standin check` ran and a probe failed (the same
	// code as exitUndelivered: the receiver does not do what it must).
	exitCheckFailed = exitUndelivered
	// exitUnreachable: `standin check` got no answer from the receiver at
	// all (refused, DNS, TLS): nothing could be checked.
	exitUnreachable = 4
	// exitInterrupted: Ctrl-C (SIGINT or SIGTERM) stopped a --wait before
	// every delivery was final. `listen` stops on Ctrl-C with exitOK: that
	// is how it is meant to end.
	exitInterrupted = 130
)

// defaultAPIURL is where `standin serve` listens by default.
const defaultAPIURL = "http://127.0.0.1:8080"

// usageErr is a command line error: exit code 2.
func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// usageArgs wraps a cobra.PositionalArgs so that its error is a usage error.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		return nil
	}
}

// groupCommand returns a command that only holds subcommands: run without
// one (or with an unknown one) it prints its usage and fails with exit
// code 2.
func groupCommand(use, short, long, example string) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Long:    long,
		Example: example,
		Args:    cobra.ArbitraryArgs,
		RunE:    requireSubcommand,
	}
}

// requireSubcommand is the RunE of commands that only hold subcommands.
func requireSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		cmd.SetOut(cmd.ErrOrStderr())
		_ = cmd.Usage()
		return usageErr("missing command for %q", cmd.CommandPath())
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		alts := strings.Join(s[:len(s)-1], ", ")
		if alts != "" {
			alts += " or "
		}
		msg += "; did you mean " + alts + s[len(s)-1] + "?"
	}
	return usageErr("%s", msg)
}

// apiFlags are the flags of every command that talks to a running standin.
type apiFlags struct {
	url, key, secret string
	output           string
}

// addAPIFlags adds --api-url, --api-key and --api-secret (bound to
// STANDIN_API_URL, STANDIN_API_KEY and STANDIN_API_SECRET) and, when
// withOutput, -o/--output, to cmd.
func addAPIFlags(cmd *cobra.Command, f *apiFlags, withOutput bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.url, "api-url", defaultAPIURL, "base URL of the running standin's REST API")
	fl.StringVar(&f.key, "api-key", "", "API key, sent as the HTTP Basic user name")
	fl.StringVar(&f.secret, "api-secret", "", "API secret, sent as the HTTP Basic password")
	if withOutput {
		fl.StringVarP(&f.output, "output", "o", "table", "output format: table (for people) or json (the response's data, for scripts)")
	}
	bindEnv(cmd, map[string]string{
		"api-url":    "STANDIN_API_URL",
		"api-key":    "STANDIN_API_KEY",
		"api-secret": "STANDIN_API_SECRET",
	})
}

// client returns the API client of the flags, or a usage error.
func (f *apiFlags) client() (*client.Client, error) {
	switch f.output {
	case "", "table", "json":
	default:
		return nil, usageErr("--output %q: want table or json", f.output)
	}
	if !strings.HasPrefix(f.url, "http://") && !strings.HasPrefix(f.url, "https://") {
		return nil, usageErr("--api-url %q: want http://host:port", f.url)
	}
	if (f.key == "") != (f.secret == "") {
		return nil, usageErr("set both --api-key and --api-secret, or neither")
	}
	return &client.Client{
		BaseURL:   f.url,
		APIKey:    f.key,
		APISecret: f.secret,
		UserAgent: "standin-cli/" + buildVersion(),
	}, nil
}

// jsonOut reports whether -o json was asked for.
func (f *apiFlags) jsonOut() bool { return f.output == "json" }

// writeJSON writes raw JSON indented, with a final newline; absent data is
// written as {}.
func writeJSON(w io.Writer, raw json.RawMessage) error {
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// writeValue writes v as indented JSON.
func writeValue(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeJSON(w, raw)
}

// newTable returns a tabwriter for human tables; Flush it.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// orDash returns s, or "-" when it is empty, for table cells.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fmtTime formats an API time for tables, in UTC with milliseconds as the
// API writes it; "-" for nil.
func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// fmtDuration rounds d for people: to the second from a minute on, to the
// millisecond from a second on, else to the microsecond.
func fmtDuration(d time.Duration) string {
	switch a := d.Abs(); {
	case a >= time.Minute:
		return d.Round(time.Second).String()
	case a >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case a >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// readJSONArg reads a JSON value given inline, as @file, or as @- (stdin),
// and checks that it is a JSON object.
func readJSONArg(flag, v string, stdin io.Reader) (json.RawMessage, error) {
	raw := []byte(v)
	if name, ok := strings.CutPrefix(v, "@"); ok {
		var err error
		if name == "-" {
			raw, err = io.ReadAll(stdin)
		} else {
			raw, err = os.ReadFile(name)
		}
		if err != nil {
			return nil, usageErr("%s: %w", flag, err)
		}
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		if err == nil {
			err = errors.New("null")
		}
		return nil, usageErr("%s: want a JSON object, inline or as @file.json: %v", flag, err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, usageErr("%s: %v", flag, err)
	}
	return buf.Bytes(), nil
}
