package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/server/client"
)

// signingFlags choose a signing scheme: standin's webhook extension, and
// what `standin listen` verifies.
type signingFlags struct {
	scheme, algorithm, encoding, header string
	lowerHex, prefixAlgorithm           bool
}

var signingFlagNames = []string{"signing-scheme", "signing-algorithm", "signing-encoding", "signing-header", "signing-lower-hex", "signing-prefix-algorithm"}

func (f *signingFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.scheme, "signing-scheme", "", "signing scheme: fivetran (X-Fivetran-Signature-256, the default), hmac, token, standard (Standard Webhooks) or none")
	fl.StringVar(&f.algorithm, "signing-algorithm", "", "hmac scheme: SHA1, SHA224, SHA256 (default), SHA384, SHA512 or MD5")
	fl.StringVar(&f.encoding, "signing-encoding", "", "hmac scheme: BASE64 (default) or HEX")
	fl.StringVar(&f.header, "signing-header", "", "header name of the hmac scheme (default X-Fivetran-Hmac-Sign) or the token scheme (required)")
	fl.BoolVar(&f.lowerHex, "signing-lower-hex", false, "lower-case hex signatures instead of Fivetran's upper-case")
	fl.BoolVar(&f.prefixAlgorithm, "signing-prefix-algorithm", false, "prefix the signature with the algorithm, GitHub-style (sha256=<sig>), for INFER_FROM_HEADER receivers")
}

// changed reports whether any signing flag was given.
func (f *signingFlags) changed(cmd *cobra.Command) bool {
	for _, name := range signingFlagNames {
		if cmd.Flags().Changed(name) {
			return true
		}
	}
	return false
}

// signing returns the scheme of the flags, validated, or a usage error.
func (f *signingFlags) signing() (delivery.Signing, error) {
	s := delivery.Signing{
		Scheme:          delivery.Scheme(f.scheme),
		Algorithm:       f.algorithm,
		Encoding:        f.encoding,
		Header:          f.header,
		LowerHex:        f.lowerHex,
		PrefixAlgorithm: f.prefixAlgorithm,
	}.Canonical()
	if err := s.Validate(); err != nil {
		return s, usageErr("--signing-*: %w", err)
	}
	return s, nil
}

func (f *signingFlags) apiSigning() (*client.Signing, error) {
	s, err := f.signing()
	if err != nil {
		return nil, err
	}
	return &client.Signing{
		Scheme: string(s.Scheme), Algorithm: s.Algorithm, Encoding: s.Encoding,
		Header: s.Header, LowerHex: s.LowerHex, PrefixAlgorithm: s.PrefixAlgorithm,
	}, nil
}

// listFlags page through a list.
type listFlags struct {
	cursor string
	limit  int
	all    bool
}

func (f *listFlags) add(cmd *cobra.Command, noun string) {
	fl := cmd.Flags()
	fl.StringVar(&f.cursor, "cursor", "", "start at this next_cursor of a previous page")
	fl.IntVar(&f.limit, "limit", 0, "page size, 1 to 1000 (default 100)")
	fl.BoolVar(&f.all, "all", false, "follow next_cursor and list every "+noun)
}

func (f *listFlags) params() client.ListParams {
	return client.ListParams{Cursor: f.cursor, Limit: f.limit}
}

// listAll fetches one page, or with --all every page from the cursor on,
// and returns the items, the raw items (for -o json) and the cursor of the
// next page (empty on the last).
func listAll[T any](ctx context.Context, f listFlags, page func(client.ListParams) (*client.Response[client.Page[T]], error)) ([]T, []json.RawMessage, string, error) {
	var (
		items []T
		raws  []json.RawMessage
	)
	p := f.params()
	for {
		resp, err := page(p)
		if err != nil {
			return nil, nil, "", err
		}
		var raw struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(resp.Raw, &raw); err != nil {
			return nil, nil, "", fmt.Errorf("decode page: %w", err)
		}
		items = append(items, resp.Data.Items...)
		raws = append(raws, raw.Items...)
		if !f.all || resp.Data.NextCursor == "" {
			return items, raws, resp.Data.NextCursor, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, "", err
		}
		p.Cursor = resp.Data.NextCursor
	}
}

// writeListJSON writes {"items":[…]} plus next_cursor when there is one:
// the shape of the API's page.
func writeListJSON(w io.Writer, raws []json.RawMessage, next string) error {
	page := struct {
		Items      []json.RawMessage `json:"items"`
		NextCursor string            `json:"next_cursor,omitempty"`
	}{Items: raws, NextCursor: next}
	if page.Items == nil {
		page.Items = []json.RawMessage{}
	}
	return writeValue(w, page)
}

// moreHint tells people on stderr how to get the next page.
func moreHint(cmd *cobra.Command, next string) {
	if next != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "More results: %s --cursor %s (or --all)\n", cmd.CommandPath(), next)
	}
}

func newWebhooksCmd() *cobra.Command {
	cmd := groupCommand("webhooks", "Manage webhooks through Fivetran's webhook API",
		`List, create, change, delete and test webhooks. These are Fivetran's
/v1/webhooks calls, plus standin's extensions (--profile portable, --signing-*).`,
		`  standin webhooks create --url http://127.0.0.1:9000/hook --events sync_start,sync_end --secret my_secret
  standin webhooks list
  standin webhooks test program_quoth --event sync_end`)
	cmd.AddCommand(newWebhooksListCmd(), newWebhooksGetCmd(), newWebhooksCreateCmd(),
		newWebhooksUpdateCmd(), newWebhooksDeleteCmd(), newWebhooksTestCmd())
	return cmd
}

func newWebhooksListCmd() *cobra.Command {
	var (
		af apiFlags
		lf listFlags
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List webhooks in creation order",
		Example: `  standin webhooks list
  standin webhooks list --all -o json | jq -r '.items[].id'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			items, raws, next, err := listAll(ctx, lf, func(p client.ListParams) (*client.Response[client.Page[client.Webhook]], error) {
				return c.ListWebhooks(ctx, p)
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if af.jsonOut() {
				return writeListJSON(out, raws, next)
			}
			tw := newTable(out)
			fmt.Fprintln(tw, "ID\tTYPE\tGROUP\tACTIVE\tPROFILE\tEVENTS\tURL")
			for _, wh := range items {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\t%s\n", wh.ID, wh.Type, orDash(wh.GroupID), wh.Active,
					profileOf(wh.Profile), strings.Join(wh.Events, ","), wh.URL)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			moreHint(cmd, next)
			return nil
		},
	}
	addAPIFlags(cmd, &af, true)
	lf.add(cmd, "webhook")
	return cmd
}

func profileOf(p string) string {
	if p == "" {
		return string(delivery.ProfileFivetran)
	}
	return p
}

// printWebhook writes one webhook as a two-column table.
func printWebhook(w io.Writer, wh client.Webhook) error {
	tw := newTable(w)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("ID", wh.ID)
	row("Type", wh.Type)
	if wh.GroupID != "" {
		row("Group", wh.GroupID)
	}
	row("URL", wh.URL)
	row("Events", strings.Join(wh.Events, ", "))
	row("Active", fmt.Sprint(wh.Active))
	if wh.DisabledReason != "" {
		row("Disabled", wh.DisabledReason)
	}
	row("Secret", orDash(wh.Secret))
	row("Profile", profileOf(wh.Profile))
	signing := "fivetran (X-Fivetran-Signature-256)"
	if s := wh.Signing; s != nil {
		parts := []string{orDash(s.Scheme)}
		for _, kv := range [][2]string{{"algorithm", s.Algorithm}, {"encoding", s.Encoding}, {"header", s.Header}} {
			if kv[1] != "" {
				parts = append(parts, kv[0]+"="+kv[1])
			}
		}
		if s.LowerHex {
			parts = append(parts, "lower-hex")
		}
		if s.PrefixAlgorithm {
			parts = append(parts, "prefix-algorithm")
		}
		signing = strings.Join(parts, " ")
	}
	row("Signing", signing)
	row("Created", fmtTime(&wh.CreatedAt)+" by "+wh.CreatedBy)
	return tw.Flush()
}

// writeWebhook writes a webhook response: its data for -o json, else the
// message and the webhook.
func writeWebhook(cmd *cobra.Command, af *apiFlags, resp *client.Response[client.Webhook]) error {
	out := cmd.OutOrStdout()
	if af.jsonOut() {
		return writeJSON(out, resp.Raw)
	}
	if resp.Message != "" {
		fmt.Fprintln(out, resp.Message)
	}
	return printWebhook(out, resp.Data)
}

func newWebhooksGetCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "get WEBHOOK_ID",
		Short: "Show one webhook",
		Example: `  standin webhooks get program_quoth
  standin webhooks get program_quoth -o json | jq .url`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			resp, err := c.GetWebhook(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return writeWebhook(cmd, &af, resp)
		},
	}
	addAPIFlags(cmd, &af, true)
	return cmd
}

// webhookFlags are the writable fields of a webhook.
type webhookFlags struct {
	url, group, secret, profile string
	events                      []string
	active                      bool
	signing                     signingFlags
}

func (f *webhookFlags) add(cmd *cobra.Command, create bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.url, "url", "", "the receiver's absolute http(s) URL")
	fl.StringSliceVar(&f.events, "events", nil, "event names to deliver, comma-separated or repeated (e.g. sync_start,sync_end)")
	fl.BoolVar(&f.active, "active", true, "deliver events (--active=false creates or turns off an inactive webhook)")
	if create {
		fl.StringVar(&f.secret, "secret", "", "signing secret (never shown again: the API answers \"******\")")
		fl.StringVar(&f.group, "group", "", "create a group webhook for this destination group (default: an account webhook)")
	} else {
		fl.StringVar(&f.secret, "secret", "", "new signing secret; --secret '' removes it")
	}
	fl.StringVar(&f.profile, "profile", "", "sender profile: fivetran (default) or portable (standin extension)")
	f.signing.add(cmd)
}

func newWebhooksCreateCmd() *cobra.Command {
	var (
		af apiFlags
		wf webhookFlags
	)
	cmd := &cobra.Command{
		Use:   "create --url URL --events EVENT[,EVENT…] [flags]",
		Short: "Create an account or group webhook",
		Long: `Create a webhook, as POST /v1/webhooks/account (or /v1/webhooks/group/GROUP
with --group). An active webhook's URL is checked first with a test_event POST,
unless standin serves with --skip-url-check: start your receiver (or
standin listen) before, or create it with --active=false.`,
		Example: `  standin webhooks create --url http://127.0.0.1:9000/hook --events sync_end --secret my_secret
  standin webhooks create --group my_group --url https://example.com/hook --events sync_start,sync_end
  standin webhooks create --url http://127.0.0.1:9000 --events sync_end --profile portable \
    --secret tok --signing-scheme token --signing-header X-Token`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if wf.url == "" {
				return usageErr("--url is required")
			}
			if len(wf.events) == 0 {
				return usageErr("--events is required")
			}
			spec := client.WebhookSpec{URL: wf.url, Events: wf.events, Secret: wf.secret, Profile: wf.profile}
			if cmd.Flags().Changed("active") {
				spec.Active = &wf.active
			}
			if wf.signing.changed(cmd) {
				s, err := wf.signing.apiSigning()
				if err != nil {
					return err
				}
				spec.Signing = s
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			resp, err := c.CreateWebhook(cmd.Context(), wf.group, spec)
			if err != nil {
				return err
			}
			return writeWebhook(cmd, &af, resp)
		},
	}
	addAPIFlags(cmd, &af, true)
	wf.add(cmd, true)
	return cmd
}

func newWebhooksUpdateCmd() *cobra.Command {
	var (
		af                       apiFlags
		wf                       webhookFlags
		rotationWindow, signWith string
	)
	cmd := &cobra.Command{
		Use:   "update WEBHOOK_ID [flags]",
		Short: "Change a webhook's URL, events, activity, secret, profile or signing",
		Long: `Change only the fields given as flags (PATCH /v1/webhooks/{id}). Activating a
webhook checks its URL first, as Fivetran does.`,
		Example: `  standin webhooks update program_quoth --active=false
  standin webhooks update program_quoth --events sync_start,sync_end --url http://127.0.0.1:9001/hook
  standin webhooks update program_quoth --secret ''   # remove the secret
  standin webhooks update program_quoth --secret new --rotation-window 24h --sign-with old`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			var patch client.WebhookPatch
			patch.SecretRotationWindow, patch.SecretSignWith = rotationWindow, signWith
			if fl.Changed("url") {
				patch.URL = &wf.url
			}
			if fl.Changed("events") {
				patch.Events = &wf.events
			}
			if fl.Changed("active") {
				patch.Active = &wf.active
			}
			if fl.Changed("secret") {
				patch.Secret = &wf.secret
			}
			if fl.Changed("profile") {
				patch.Profile = &wf.profile
			}
			if wf.signing.changed(cmd) {
				s, err := wf.signing.apiSigning()
				if err != nil {
					return err
				}
				patch.Signing = s
			}
			if patch == (client.WebhookPatch{}) {
				return usageErr("nothing to update: give at least one of --url, --events, --active, --secret, --profile, --signing-*")
			}
			c, err := af.client()
			if err != nil {
				return err
			}
			resp, err := c.UpdateWebhook(cmd.Context(), args[0], patch)
			if err != nil {
				return err
			}
			return writeWebhook(cmd, &af, resp)
		},
	}
	addAPIFlags(cmd, &af, true)
	wf.add(cmd, false)
	cmd.Flags().StringVar(&rotationWindow, "rotation-window", "", "with --secret: keep the previous secret valid this long in emulated time (standin's extension)")
	cmd.Flags().StringVar(&signWith, "sign-with", "", "during --rotation-window, which secret signs a single-signature scheme: new (default) or old")
	return cmd
}

func newWebhooksDeleteCmd() *cobra.Command {
	var af apiFlags
	cmd := &cobra.Command{
		Use:   "delete WEBHOOK_ID",
		Short: "Delete a webhook",
		Long: `Delete a webhook. Deliveries still queued for it are cancelled when they
come due; the delivery log keeps them.`,
		Example: `  standin webhooks delete program_quoth`,
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			resp, err := c.DeleteWebhook(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if af.jsonOut() {
				return writeValue(out, map[string]string{"id": args[0], "message": resp.Message})
			}
			fmt.Fprintln(out, resp.Message)
			return nil
		},
	}
	addAPIFlags(cmd, &af, true)
	return cmd
}

func newWebhooksTestCmd() *cobra.Command {
	var (
		af    apiFlags
		event string
	)
	cmd := &cobra.Command{
		Use:   "test WEBHOOK_ID [--event EVENT]",
		Short: "Send one test event to a webhook's URL now",
		Long: `Send one test event to the webhook's URL, exactly as Fivetran's
POST /v1/webhooks/{id}/test does (a dummy connector, no sync_id, no data), and
show what the receiver answered. Exits 3 when the receiver did not accept it.`,
		Example: `  standin webhooks test program_quoth
  standin webhooks test program_quoth --event sync_start -o json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := af.client()
			if err != nil {
				return err
			}
			resp, err := c.TestWebhook(cmd.Context(), args[0], event)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if af.jsonOut() {
				err = writeJSON(out, resp.Raw)
			} else {
				verdict := "accepted"
				if !resp.Data.Succeed {
					verdict = "refused"
				}
				fmt.Fprintf(out, "%s: receiver answered HTTP %d (%s)\n", verdict, resp.Data.Status, resp.Data.Message)
			}
			if err == nil && !resp.Data.Succeed {
				err = &exitError{code: exitUndelivered, err: fmt.Errorf("webhook %s: the receiver did not accept the test event: HTTP %d %s", args[0], resp.Data.Status, resp.Data.Message)}
			}
			return err
		},
	}
	addAPIFlags(cmd, &af, true)
	cmd.Flags().StringVar(&event, "event", "", "event to send, from the webhook profile's catalog (default sync_end)")
	return cmd
}
