package store

import "time"

// Check is a stored report of the receiver check (package delivery/check),
// run through the API.
type Check struct {
	// ID is the report's id (delivery.NewID).
	ID string
	// WebhookID is the webhook checked; empty for an explicit URL.
	WebhookID string
	// CreatedAt is when the check was stored.
	CreatedAt time.Time
	// Report is the report as JSON (a JSON object), kept byte for byte.
	Report []byte
}
