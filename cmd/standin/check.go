package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/delivery/check"
	"github.com/standin-dev/standin/server/client"
)

// checkFlags configure `standin check`.
type checkFlags struct {
	secret  string
	profile string
	signing string
	events  string
	timeout time.Duration
	output  string
	junit   string
	tls     serveFlags // only insecureSkipVerify and caFile
	// api runs the check through a running standin (--api-url): the
	// server sends the probes and stores the report.
	api     apiFlags
	webhook string
}

func newCheckCmd() *cobra.Command {
	var f checkFlags
	cmd := &cobra.Command{
		Use:   "check (URL [--secret S] | --webhook ID --api-url API) [flags]",
		Short: "Check that a webhook receiver handles what the real sender sends",
		Long: `Send a receiver what Fivetran (or Portable) sends, and what it may send, and
report whether it answers as the sender needs. Each probe has a stable id:

  url_check         the create-time test_event (Fivetran refuses the webhook unless 2xx)
  accepts_valid     a correctly signed delivery of each event (--events), realistic data
  rejects_forged    a body signed with another secret: must not be 2xx
  rejects_tampered  a valid signature of a different body: must not be 2xx
  rejects_unsigned  no signature header: must not be 2xx
  hex_case          upper- and lower-case hex signatures: both accepted (warns on one)
  minimal_payloads  sync_start without data, the test payload without sync_id, sync_end with only status
  unknown_event     an event not in today's catalog: never 5xx (warns on 4xx)
  unknown_fields    extra top-level and data fields: never 5xx (warns on 4xx)
  non_ascii         emoji and CJK text, raw UTF-8
  large_payload     a dbt_run_failed of about 256 KiB
  duplicate         the same delivery twice, byte for byte: both acknowledged
  out_of_order      sync_end before its sync_start
  latency           every answer inside the timeout (fails at it, warns above half)
  replay            Standard Webhooks only: a timestamp 10 minutes old must be refused

Success is any 2xx for Fivetran, exactly 200 for Portable. Independent probes
run concurrently; no running standin is needed. The receiver sees about 35
requests; the secret never appears in the output (a token header reads ******).

--signing takes the webhook API's signing object, inline or as @file.json:
{"scheme":"hmac","algorithm":"SHA256","encoding":"HEX","header":"X-Sig"},
{"scheme":"standard"}, {"scheme":"token","header":"X-Token"}, {"lower_hex":true}.

-o json prints the report (documented in the README, stable: fields are only
ever added); --junit FILE also writes JUnit XML for CI.

With --api-url the running standin there sends the probes (POST
/standin/v1/checks) and stores the report: its id is in the report and on
stderr, and GET /standin/v1/checks/{id} reads it back. --webhook ID (with
--api-url) checks a webhook with its own URL, secret, profile and signing.
--api-key/--api-secret (STANDIN_API_KEY, STANDIN_API_SECRET) authenticate.

Exit codes: 0 no probe failed (warnings allowed); 2 a usage error; 3 a probe
failed; 4 the receiver could not be reached at all; 1 anything else (e.g. the
JUnit file could not be written).`,
		Example: `  standin check http://127.0.0.1:5000/webhooks/fivetran --secret my_secret
  standin check https://hooks.example.com/fivetran --secret my_secret --events sync_start,sync_end -o json
  standin check http://127.0.0.1:5000/hook --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw --signing '{"scheme":"standard"}'
  standin check http://127.0.0.1:5000/portable --profile portable --secret s --junit check.xml
  standin check https://localhost:8443/hook --secret s --ca-file dev-ca.pem
  standin check --api-url http://127.0.0.1:8080 --webhook program_quoth
  standin check http://127.0.0.1:5000/hook --secret s --api-url http://127.0.0.1:8080 -o json`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			url := ""
			if len(args) == 1 {
				url = args[0]
			}
			if f.api.url != "" || f.webhook != "" {
				return runCheckAPI(cmd, url, f)
			}
			if url == "" {
				return usageErr("accepts 1 arg(s), received 0: the receiver's URL (or --webhook ID with --api-url)")
			}
			return runCheck(cmd, url, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.secret, "secret", "", "the webhook's secret; empty: nothing is signed and the signature probes are skipped")
	fl.StringVar(&f.profile, "profile", string(delivery.ProfileFivetran), "sender to emulate: fivetran or portable")
	fl.StringVar(&f.signing, "signing", "", `signing scheme as a JSON object (as the webhook API takes it), inline or @file.json; default Fivetran's X-Fivetran-Signature-256`)
	fl.StringVar(&f.events, "events", "", "comma-separated events for accepts_valid; default the profile's whole catalog")
	fl.DurationVar(&f.timeout, "timeout", delivery.DefaultTimeout, "per-request timeout (the real senders': 10s)")
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table (for people) or json (the report, for scripts)")
	fl.StringVar(&f.junit, "junit", "", "also write the report as JUnit XML to this file")
	fl.BoolVar(&f.tls.insecureSkipVerify, "insecure-skip-verify", false, "accept any TLS certificate from the receiver")
	fl.StringVar(&f.tls.caFile, "ca-file", "", "PEM file of extra CA certificates to trust for the receiver")
	fl.StringVar(&f.api.url, "api-url", "", "run the check through the standin at this REST URL, which stores the report")
	fl.StringVar(&f.api.key, "api-key", "", "API key for --api-url, sent as the HTTP Basic user name")
	fl.StringVar(&f.api.secret, "api-secret", "", "API secret for --api-url, sent as the HTTP Basic password")
	fl.StringVar(&f.webhook, "webhook", "", "with --api-url: check this webhook (its URL, secret, profile and signing)")
	bindEnv(cmd, map[string]string{
		"secret":     "STANDIN_CHECK_SECRET",
		"api-key":    "STANDIN_API_KEY",
		"api-secret": "STANDIN_API_SECRET",
	})
	return cmd
}

// config turns the flags into a check.Config, or a usage error.
func (f checkFlags) config(cmd *cobra.Command, url string) (check.Config, error) {
	cfg := check.Config{URL: url, Secret: f.secret, Profile: delivery.Profile(f.profile), Timeout: f.timeout}
	switch f.output {
	case "table", "json":
	default:
		return cfg, usageErr("--output %q: want table or json", f.output)
	}
	if f.timeout <= 0 {
		return cfg, usageErr("--timeout %s: want a positive duration", f.timeout)
	}
	if f.signing != "" {
		raw, err := readJSONArg("--signing", f.signing, cmd.InOrStdin())
		if err != nil {
			return cfg, err
		}
		// The webhook API's signing object; like the API (protojson), take
		// lowerHex as well as lower_hex.
		var in struct {
			delivery.Signing
			LowerHexCamel bool `json:"lowerHex"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return cfg, usageErr("--signing: %w", err)
		}
		cfg.Signing = in.Signing
		cfg.Signing.LowerHex = cfg.Signing.LowerHex || in.LowerHexCamel
	}
	for e := range strings.SplitSeq(f.events, ",") {
		if e = strings.TrimSpace(e); e != "" {
			cfg.Events = append(cfg.Events, e)
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageErr("%w", err)
	}
	tlsFlags := f.tls
	tlsFlags.sendTimeout = f.timeout
	sender, err := senderFromFlags(tlsFlags)
	if err != nil {
		return cfg, usageErr("%w", err)
	}
	sender.MaxExcerpt = check.MaxExcerpt
	cfg.Sender = sender
	return cfg, nil
}

func runCheck(cmd *cobra.Command, url string, f checkFlags) error {
	cfg, err := f.config(cmd, url)
	if err != nil {
		return err
	}
	rep, err := check.Run(cmd.Context(), cfg)
	if err != nil {
		if cmd.Context().Err() != nil {
			return &exitError{code: exitInterrupted, err: errors.New("interrupted")}
		}
		return err
	}
	return reportCheck(cmd, url, f, rep)
}

// runCheckAPI runs the check through the standin at --api-url.
func runCheckAPI(cmd *cobra.Command, url string, f checkFlags) error {
	switch {
	case f.api.url == "":
		return usageErr("--webhook needs --api-url: the webhook lives in a running standin")
	case f.webhook != "" && url != "":
		return usageErr("give a URL or --webhook, not both")
	case url == "" && f.webhook == "":
		return usageErr("accepts 1 arg(s), received 0: the receiver's URL (or --webhook ID)")
	case f.tls.insecureSkipVerify || f.tls.caFile != "":
		return usageErr("--insecure-skip-verify and --ca-file do not apply with --api-url: the server's own TLS settings are used")
	case f.webhook != "" && (f.secret != "" || cmd.Flags().Changed("profile") || f.signing != ""):
		return usageErr("--webhook uses the webhook's own secret, profile and signing: drop --secret, --profile and --signing")
	}
	spec := client.CheckSpec{WebhookID: f.webhook, Timeout: f.timeout.String()}
	if url != "" {
		cfg, err := f.config(cmd, url) // validates the flags as the in-process check does
		if err != nil {
			return err
		}
		spec.URL, spec.Secret, spec.Profile, spec.Events = url, f.secret, string(cfg.Profile), cfg.Events
		if cfg.Signing != (delivery.Signing{}) {
			spec.Signing = &client.Signing{Scheme: string(cfg.Signing.Scheme), Algorithm: cfg.Signing.Algorithm,
				Encoding: cfg.Signing.Encoding, Header: cfg.Signing.Header, LowerHex: cfg.Signing.LowerHex,
				PrefixAlgorithm: cfg.Signing.PrefixAlgorithm}
		}
	} else {
		switch f.output {
		case "table", "json":
		default:
			return usageErr("--output %q: want table or json", f.output)
		}
		if f.timeout <= 0 {
			return usageErr("--timeout %s: want a positive duration", f.timeout)
		}
		for e := range strings.SplitSeq(f.events, ",") {
			if e = strings.TrimSpace(e); e != "" {
				spec.Events = append(spec.Events, e)
			}
		}
	}
	api := f.api
	c, err := api.client()
	if err != nil {
		return err
	}
	// The call lasts as long as the check: up to about three timeouts.
	c.HTTPClient = &http.Client{Timeout: 4*f.timeout + 30*time.Second}
	resp, err := c.RunCheck(cmd.Context(), spec)
	if err != nil {
		if cmd.Context().Err() != nil {
			return &exitError{code: exitInterrupted, err: errors.New("interrupted")}
		}
		return err
	}
	var rep check.Report
	if err := json.Unmarshal(resp.Raw, &rep); err != nil {
		return fmt.Errorf("decode the check report: %w", err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "standin: report stored as %s (GET %s/standin/v1/checks/%s)\n",
		rep.ID, strings.TrimRight(f.api.url, "/"), rep.ID)
	return reportCheck(cmd, rep.URL, f, &rep)
}

// reportCheck prints rep, writes the JUnit file and returns the exit code's
// error.
func reportCheck(cmd *cobra.Command, url string, f checkFlags, rep *check.Report) error {
	var err error
	out := cmd.OutOrStdout()
	if f.output == "json" {
		err = writeValue(out, rep)
	} else {
		err = rep.WriteText(out)
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if f.junit != "" {
		if err := writeJUnitFile(f.junit, rep); err != nil {
			return err
		}
	}
	switch {
	case !rep.Reachable:
		return &exitError{code: exitUnreachable, err: fmt.Errorf("check %s: the receiver could not be reached", url)}
	case rep.Failed():
		return &exitError{code: exitCheckFailed, err: fmt.Errorf("check %s: %d of %d probes failed", url, rep.Summary.Fail, len(rep.Probes))}
	}
	return nil
}

// writeJUnitFile writes rep as JUnit XML to name.
func writeJUnitFile(name string, rep *check.Report) error {
	var buf bytes.Buffer
	if err := rep.WriteJUnit(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	return nil
}
