package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// ExportFilter selects what Export writes; empty fields do not filter.
type ExportFilter struct {
	// Since keeps the events created at or after it.
	Since time.Time
	// WebhookID keeps the deliveries to that webhook.
	WebhookID string
	// Event keeps the events of that name.
	Event string
	// Format is jsonl (the default), timeline-csv or timeline-json.
	Format string
}

// Export streams GET /standin/v1/export to w: the delivery log as JSON
// Lines, or its timeline (see package server/export). A refusal is an
// *Error.
func (c *Client) Export(ctx context.Context, f ExportFilter, w io.Writer) error {
	q := url.Values{}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	for name, v := range map[string]string{"webhook_id": f.WebhookID, "event": f.Event, "format": f.Format} {
		if v != "" {
			q.Set(name, v)
		}
	}
	u, err := c.url("/standin/v1/export", q)
	if err != nil {
		return err
	}
	resp, err := c.send(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var env envelope
		if err := json.Unmarshal(raw, &env); err != nil || env.Code == "" {
			return fmt.Errorf("GET /standin/v1/export: HTTP %d from %s: %q", resp.StatusCode, c.BaseURL, excerpt(raw))
		}
		return &Error{HTTPStatus: resp.StatusCode, Code: env.Code, Message: env.Message}
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("GET /standin/v1/export: %w", err)
	}
	return nil
}
