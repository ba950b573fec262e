package client

import (
	"context"
	"encoding/json"
	"net/http"
)

// CheckSpec is the body of POST /standin/v1/checks: WebhookID, or URL with
// Secret, Profile and Signing; Events and Timeout with either.
type CheckSpec struct {
	// WebhookID checks a webhook with its URL, secret, profile and signing.
	WebhookID string `json:"webhook_id,omitempty"`
	// URL, Secret, Profile and Signing describe a receiver without a
	// webhook.
	URL     string   `json:"url,omitempty"`
	Secret  string   `json:"secret,omitempty"`
	Profile string   `json:"profile,omitempty"`
	Signing *Signing `json:"signing,omitempty"`
	// Events are the catalog events accepts_valid sends; empty: all.
	Events []string `json:"events,omitempty"`
	// Timeout is the per-request timeout as a Go duration ("10s"); empty:
	// 10s.
	Timeout string `json:"timeout,omitempty"`
}

// RunCheck runs the receiver check on the server and returns its stored
// report as JSON (the object of delivery/check's Report, with its "id"),
// which the caller decodes. The call lasts as long as the check: give the
// Client an HTTPClient whose timeout exceeds about three check timeouts.
func (c *Client) RunCheck(ctx context.Context, spec CheckSpec) (*Response[json.RawMessage], error) {
	return call[json.RawMessage](ctx, c, http.MethodPost, "/standin/v1/checks", nil, spec)
}

// GetCheck returns a stored check report as JSON.
func (c *Client) GetCheck(ctx context.Context, id string) (*Response[json.RawMessage], error) {
	return call[json.RawMessage](ctx, c, http.MethodGet, "/standin/v1/checks/"+pathID(id), nil, nil)
}
