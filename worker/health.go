package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/standin-dev/standin/store"
)

// DefaultDisableAfter is how long a Fivetran webhook may fail every delivery
// before it is deactivated: Fivetran's current documentation says a webhook
// failing consistently for 3 days is deactivated.
const DefaultDisableAfter = 72 * time.Hour

// recordHealth records the attempt's outcome for the webhook's health and,
// when a failure ends a run of failures that has lasted DisableAfter
// emulated time, deactivates the webhook, saying why in its DisabledReason.
// It returns that reason when it deactivated the webhook and "" otherwise.
//
// now is the attempt's time on the schedule. Only an active Fivetran-profile
// webhook is deactivated (Portable publishes no such rule). Every attempt,
// manual ones included, counts for the run: a success ends it.
//
// A success on a webhook that was healthy when the attempt read it writes
// nothing: that is every attempt of a healthy receiver, so it costs no
// round trip. (A failure recorded by a concurrent attempt in between stays
// recorded until the next success; it started a run that this success
// would have ended.)
func (d *Deliverer) recordHealth(ctx context.Context, wh *store.Webhook, ok bool, now time.Time, lastError string) (string, error) {
	if ok && wh.FailingSince == nil {
		return "", nil
	}
	health, err := d.store.WebhookHealthRecord(ctx, store.WebhookHealthParams{ID: wh.ID, Succeeded: ok, At: now})
	if errors.Is(err, store.ErrNotFound) {
		return "", nil // deleted meanwhile
	}
	if err != nil {
		return "", err
	}
	if ok {
		return "", nil
	}
	reason := deactivation(health, now, d.disableAfter, d.timeline, lastError)
	if reason == "" {
		return "", nil
	}
	if _, err := d.store.WebhookUpdate(ctx, store.WebhookUpdateParams{
		ID:             wh.ID,
		Active:         new(false),
		DisabledReason: &reason,
		UpdatedAt:      now,
	}); err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	d.logger.WarnContext(ctx, "webhook deactivated", slog.String("webhook_id", wh.ID), slog.String("reason", reason))
	return "webhook " + reason, nil
}

// emulatedSpan writes whole days as "3 days" and anything else as a
// time.Duration.
func emulatedSpan(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
