package sqlq

import (
	"context"
	"fmt"
	"strings"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

// WebhookColumns are the columns ScanWebhook reads, in its order.
const WebhookColumns = `seq, id, type, group_id, url, events, active, secret, created_at,
	created_by, updated_at, profile, signing, disabled_reason, failing_since, secret_rotation, faults`

// WebhookCreate inserts wh and sets its Seq. Its times are normalized to
// what the store keeps (UTC, microseconds).
func (t Tables) WebhookCreate(ctx context.Context, wh *store.Webhook) error {
	if err := sqlrow.CheckWebhook(wh); err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	events, err := sqlrow.EncodeEvents(wh.Events)
	if err != nil {
		return fmt.Errorf("create webhook %s: %w", wh.ID, err)
	}
	signing, err := sqlrow.EncodeSigning(wh.Signing)
	if err != nil {
		return fmt.Errorf("create webhook %s: %w", wh.ID, err)
	}
	wh.CreatedAt = sqlrow.Time(wh.CreatedAt)
	wh.UpdatedAt = sqlrow.Time(wh.UpdatedAt)
	rotation, err := sqlrow.EncodeRotation(wh.Rotation)
	if err != nil {
		return fmt.Errorf("create webhook %s: %w", wh.ID, err)
	}
	wh.FailingSince = sqlrow.TimePtr(wh.FailingSince)
	a := t.D.Args()
	q := `INSERT INTO standin_webhook (id, type, group_id, url, events, active, secret,
			created_at, created_by, updated_at, profile, signing, disabled_reason, failing_since,
			secret_rotation, faults)
		VALUES (` + strings.Join([]string{a.Add(wh.ID), a.Add(wh.Type), a.Add(wh.GroupID), a.Add(wh.URL),
		a.JSON(string(events)), a.Add(wh.Active), a.Add(wh.Secret), a.Time(wh.CreatedAt), a.Add(wh.CreatedBy),
		a.Time(wh.UpdatedAt), a.Add(string(wh.Profile)), a.JSON(string(signing)), a.Add(wh.DisabledReason),
		a.Add(t.D.TimePtr(wh.FailingSince)), a.JSON(rotation), a.Add(EncodeFaults(wh.Faults))}, ", ") + `) RETURNING seq`
	if err := t.Q.QueryRow(ctx, q, a.List()...).Scan(&wh.Seq); err != nil {
		return fmt.Errorf("create webhook %s: %w", wh.ID, t.D.MapErr(err))
	}
	return nil
}

// WebhookGetByID returns the webhook with id.
func (t Tables) WebhookGetByID(ctx context.Context, id string) (*store.Webhook, error) {
	wh, err := t.D.ScanWebhook(t.Q.QueryRow(ctx, t.D.Rebind(`SELECT `+WebhookColumns+` FROM standin_webhook WHERE id = ?`), id))
	if err != nil {
		return nil, fmt.Errorf("get webhook %s: %w", id, t.D.MapErr(err))
	}
	return wh, nil
}

// WebhookList returns up to params.Limit webhooks with Seq > params.AfterSeq
// in ascending Seq order.
func (t Tables) WebhookList(ctx context.Context, params store.WebhookListParams) ([]*store.Webhook, error) {
	if err := sqlrow.CheckLimit(params.Limit); err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	list, err := query(ctx, t.Q, t.D.ScanWebhook, t.D.Rebind(`SELECT `+WebhookColumns+` FROM standin_webhook
		WHERE seq > ? ORDER BY seq LIMIT ?`), params.AfterSeq, params.Limit)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return list, nil
}

// WebhookUpdate applies the non-nil fields of params and sets UpdatedAt
// (kept unchanged when params.UpdatedAt is zero).
func (t Tables) WebhookUpdate(ctx context.Context, params store.WebhookUpdateParams) (*store.Webhook, error) {
	a := t.D.Args()
	var sets []string
	set := func(column, placeholder string) { sets = append(sets, column+" = "+placeholder) }
	if params.URL != nil {
		set("url", a.Add(*params.URL))
	}
	if params.Events != nil {
		events, err := sqlrow.EncodeEvents(*params.Events)
		if err != nil {
			return nil, fmt.Errorf("update webhook %s: %w", params.ID, err)
		}
		set("events", a.JSON(string(events)))
	}
	if params.Active != nil {
		set("active", a.Add(*params.Active))
	}
	if params.Secret != nil {
		set("secret", a.Add(*params.Secret))
	}
	if params.Profile != nil {
		set("profile", a.Add(string(*params.Profile)))
	}
	if params.Signing != nil {
		signing, err := sqlrow.EncodeSigning(*params.Signing)
		if err != nil {
			return nil, fmt.Errorf("update webhook %s: %w", params.ID, err)
		}
		set("signing", a.JSON(string(signing)))
	}
	if params.Faults != nil {
		set("faults", a.Add(EncodeFaults(*params.Faults)))
	}
	if params.DisabledReason != nil {
		set("disabled_reason", a.Add(*params.DisabledReason))
	}
	if params.Rotation != nil {
		rotation, err := sqlrow.EncodeRotation(params.Rotation)
		if err != nil {
			return nil, fmt.Errorf("update webhook %s: %w", params.ID, err)
		}
		set("secret_rotation", a.JSON(rotation))
	}
	if params.ClearFailingSince {
		set("failing_since", a.Add(nil)+t.D.TimeCast)
	}
	if !params.UpdatedAt.IsZero() {
		set("updated_at", a.Time(params.UpdatedAt))
	}
	if len(sets) == 0 {
		return t.WebhookGetByID(ctx, params.ID)
	}
	q := `UPDATE standin_webhook SET ` + strings.Join(sets, ", ") + `
		WHERE id = ` + a.Add(params.ID) + ` RETURNING ` + WebhookColumns
	wh, err := t.D.ScanWebhook(t.Q.QueryRow(ctx, q, a.List()...))
	if err != nil {
		return nil, fmt.Errorf("update webhook %s: %w", params.ID, t.D.MapErr(err))
	}
	return wh, nil
}

// WebhookDelete deletes the webhook with id. Its deliveries and attempts
// stay.
func (t Tables) WebhookDelete(ctx context.Context, id string) error {
	n, err := t.Q.Exec(ctx, t.D.Rebind(`DELETE FROM standin_webhook WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("delete webhook %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// ScanWebhook reads a row of WebhookColumns.
func (dia *Dialect) ScanWebhook(row Row) (*store.Webhook, error) {
	var (
		wh                   store.Webhook
		events, signing      []byte
		rotation             []byte
		profile              string
		createdAt, updatedAt NullTime
		failingSince         NullTime
		faults               string
	)
	err := row.Scan(&wh.Seq, &wh.ID, &wh.Type, &wh.GroupID, &wh.URL, &events, &wh.Active,
		&wh.Secret, dia.timeDest(&createdAt), &wh.CreatedBy, dia.timeDest(&updatedAt), &profile, &signing, &wh.DisabledReason,
		dia.timeDest(&failingSince), &rotation, &faults)
	if err != nil {
		return nil, err
	}
	if wh.Events, err = sqlrow.DecodeEvents(events); err != nil {
		return nil, err
	}
	if wh.Signing, err = sqlrow.DecodeSigning(signing); err != nil {
		return nil, err
	}
	if wh.Rotation, err = sqlrow.DecodeRotation(rotation); err != nil {
		return nil, err
	}
	if wh.Faults, err = DecodeFaults(faults); err != nil {
		return nil, err
	}
	wh.Profile = delivery.Profile(profile)
	wh.CreatedAt = createdAt.Time
	wh.UpdatedAt = updatedAt.Time
	wh.FailingSince = failingSince.Ptr()
	return &wh, nil
}

// ScanWebhooks reads every row of rows with ScanWebhook and closes rows.
func (dia *Dialect) ScanWebhooks(rows Rows) ([]*store.Webhook, error) {
	return collect(rows, dia.ScanWebhook)
}
