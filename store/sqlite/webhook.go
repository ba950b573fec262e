package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

const webhookColumns = `seq, id, type, group_id, url, events, active, secret, created_at,
	created_by, updated_at, profile, signing, disabled_reason, failing_since, secret_rotation`

// WebhookCreate inserts wh and sets its Seq. Its times are normalized to
// what the store keeps (UTC, microseconds).
func (s *Store) WebhookCreate(ctx context.Context, wh *store.Webhook) error {
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
	wh.FailingSince = sqlrow.TimePtr(wh.FailingSince)
	var seq int64
	err = s.db.QueryRowContext(ctx, `
		INSERT INTO standin_webhook (id, type, group_id, url, events, active, secret,
			created_at, created_by, updated_at, profile, signing, disabled_reason, failing_since)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING seq`,
		wh.ID, wh.Type, wh.GroupID, wh.URL, string(events), wh.Active, wh.Secret,
		micros(wh.CreatedAt), wh.CreatedBy, micros(wh.UpdatedAt), string(wh.Profile),
		string(signing), wh.DisabledReason, microsPtr(wh.FailingSince),
	).Scan(&seq)
	if err != nil {
		return fmt.Errorf("create webhook %s: %w", wh.ID, mapErr(err))
	}
	wh.Seq = seq
	return nil
}

// WebhookGetByID returns the webhook with id.
func (s *Store) WebhookGetByID(ctx context.Context, id string) (*store.Webhook, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM standin_webhook WHERE id = ?`, id)
	wh, err := scanWebhook(row)
	if err != nil {
		return nil, fmt.Errorf("get webhook %s: %w", id, mapErr(err))
	}
	return wh, nil
}

// WebhookList returns up to params.Limit webhooks with Seq > params.AfterSeq
// in ascending Seq order.
func (s *Store) WebhookList(ctx context.Context, params store.WebhookListParams) ([]*store.Webhook, error) {
	if err := sqlrow.CheckLimit(params.Limit); err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT `+webhookColumns+` FROM standin_webhook
		WHERE seq > ? ORDER BY seq LIMIT ?`, params.AfterSeq, params.Limit)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	list, err := scanWebhooks(rows)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return list, nil
}

// WebhookUpdate applies the non-nil fields of params and sets UpdatedAt
// (kept unchanged when params.UpdatedAt is zero).
func (s *Store) WebhookUpdate(ctx context.Context, params store.WebhookUpdateParams) (*store.Webhook, error) {
	var sets []string
	var args []any
	set := func(column string, value any) {
		sets = append(sets, column+" = ?")
		args = append(args, value)
	}
	if params.URL != nil {
		set("url", *params.URL)
	}
	if params.Events != nil {
		events, err := sqlrow.EncodeEvents(*params.Events)
		if err != nil {
			return nil, fmt.Errorf("update webhook %s: %w", params.ID, err)
		}
		set("events", string(events))
	}
	if params.Active != nil {
		set("active", *params.Active)
	}
	if params.Secret != nil {
		set("secret", *params.Secret)
	}
	if params.Profile != nil {
		set("profile", string(*params.Profile))
	}
	if params.Signing != nil {
		signing, err := sqlrow.EncodeSigning(*params.Signing)
		if err != nil {
			return nil, fmt.Errorf("update webhook %s: %w", params.ID, err)
		}
		set("signing", string(signing))
	}
	if params.DisabledReason != nil {
		set("disabled_reason", *params.DisabledReason)
	}
	if params.Rotation != nil {
		rotation, err := sqlrow.EncodeRotation(params.Rotation)
		if err != nil {
			return nil, fmt.Errorf("update webhook %s: %w", params.ID, err)
		}
		set("secret_rotation", rotation)
	}
	if params.ClearFailingSince {
		set("failing_since", nil)
	}
	if !params.UpdatedAt.IsZero() {
		set("updated_at", micros(params.UpdatedAt))
	}
	if len(sets) == 0 {
		return s.WebhookGetByID(ctx, params.ID)
	}
	args = append(args, params.ID)
	row := s.db.QueryRowContext(ctx, `
		UPDATE standin_webhook SET `+strings.Join(sets, ", ")+`
		WHERE id = ? RETURNING `+webhookColumns, args...)
	wh, err := scanWebhook(row)
	if err != nil {
		return nil, fmt.Errorf("update webhook %s: %w", params.ID, mapErr(err))
	}
	return wh, nil
}

// WebhookDelete deletes the webhook with id. Its deliveries and attempts
// stay.
func (s *Store) WebhookDelete(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM standin_webhook WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("delete webhook %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// WebhookListSubscribed returns, in Seq order, the active account webhooks
// and the active group webhooks of groupID whose events include eventName.
func (s *Store) WebhookListSubscribed(ctx context.Context, eventName, groupID string) ([]*store.Webhook, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT `+webhookColumns+` FROM standin_webhook AS w
		WHERE w.active
		  AND (w.type = 'account' OR (w.type = 'group' AND w.group_id = ?))
		  AND EXISTS (SELECT 1 FROM json_each(w.events) AS e WHERE e.value = ?)
		ORDER BY w.seq`, groupID, eventName)
	if err != nil {
		return nil, fmt.Errorf("list webhooks subscribed to %s: %w", eventName, err)
	}
	list, err := scanWebhooks(rows)
	if err != nil {
		return nil, fmt.Errorf("list webhooks subscribed to %s: %w", eventName, err)
	}
	return list, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanWebhook(row scanner) (*store.Webhook, error) {
	var (
		wh                   store.Webhook
		events, signing      []byte
		rotation             []byte
		profile              string
		createdAt, updatedAt int64
		failingSince         sql.NullInt64
	)
	err := row.Scan(&wh.Seq, &wh.ID, &wh.Type, &wh.GroupID, &wh.URL, &events, &wh.Active,
		&wh.Secret, &createdAt, &wh.CreatedBy, &updatedAt, &profile, &signing, &wh.DisabledReason,
		&failingSince, &rotation)
	if err != nil {
		return nil, err
	}
	if wh.Rotation, err = sqlrow.DecodeRotation(rotation); err != nil {
		return nil, err
	}
	if wh.Events, err = sqlrow.DecodeEvents(events); err != nil {
		return nil, err
	}
	if wh.Signing, err = sqlrow.DecodeSigning(signing); err != nil {
		return nil, err
	}
	wh.Profile = delivery.Profile(profile)
	wh.CreatedAt = fromMicros(createdAt)
	wh.UpdatedAt = fromMicros(updatedAt)
	wh.FailingSince = fromNullMicros(failingSince)
	return &wh, nil
}

func scanWebhooks(rows *sql.Rows) ([]*store.Webhook, error) {
	defer rows.Close()
	list := []*store.Webhook{}
	for rows.Next() {
		wh, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, wh)
	}
	return list, rows.Err()
}

// micros is the stored form of a time: microseconds since the Unix epoch.
func micros(t time.Time) int64 { return sqlrow.Time(t).UnixMicro() }

// microsPtr is micros for an optional time; nil is NULL.
func microsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}
