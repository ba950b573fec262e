package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
	err = s.pool.QueryRow(ctx, `
		INSERT INTO standin_webhook (id, type, group_id, url, events, active, secret,
			created_at, created_by, updated_at, profile, signing, disabled_reason, failing_since)
		VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14)
		RETURNING seq`,
		wh.ID, wh.Type, wh.GroupID, wh.URL, string(events), wh.Active, wh.Secret,
		wh.CreatedAt, wh.CreatedBy, wh.UpdatedAt, string(wh.Profile), string(signing), wh.DisabledReason,
		wh.FailingSince,
	).Scan(&seq)
	if err != nil {
		return fmt.Errorf("create webhook %s: %w", wh.ID, mapErr(err))
	}
	wh.Seq = seq
	return nil
}

// WebhookGetByID returns the webhook with id.
func (s *Store) WebhookGetByID(ctx context.Context, id string) (*store.Webhook, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+webhookColumns+` FROM standin_webhook WHERE id = $1`, id)
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
	rows, err := s.pool.Query(ctx, `
		SELECT `+webhookColumns+` FROM standin_webhook
		WHERE seq > $1 ORDER BY seq LIMIT $2`, params.AfterSeq, params.Limit)
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
	set := func(column string, value any, cast string) {
		args = append(args, value)
		sets = append(sets, column+" = $"+strconv.Itoa(len(args))+cast)
	}
	if params.URL != nil {
		set("url", *params.URL, "")
	}
	if params.Events != nil {
		events, err := sqlrow.EncodeEvents(*params.Events)
		if err != nil {
			return nil, fmt.Errorf("update webhook %s: %w", params.ID, err)
		}
		set("events", string(events), "::jsonb")
	}
	if params.Active != nil {
		set("active", *params.Active, "")
	}
	if params.Secret != nil {
		set("secret", *params.Secret, "")
	}
	if params.Profile != nil {
		set("profile", string(*params.Profile), "")
	}
	if params.Signing != nil {
		signing, err := sqlrow.EncodeSigning(*params.Signing)
		if err != nil {
			return nil, fmt.Errorf("update webhook %s: %w", params.ID, err)
		}
		set("signing", string(signing), "::jsonb")
	}
	if params.DisabledReason != nil {
		set("disabled_reason", *params.DisabledReason, "")
	}
	if params.Rotation != nil {
		rotation, err := sqlrow.EncodeRotation(params.Rotation)
		if err != nil {
			return nil, fmt.Errorf("update webhook %s: %w", params.ID, err)
		}
		set("secret_rotation", rotation, "::jsonb")
	}
	if params.ClearFailingSince {
		set("failing_since", nil, "::timestamptz")
	}
	if !params.UpdatedAt.IsZero() {
		set("updated_at", sqlrow.Time(params.UpdatedAt), "")
	}
	if len(sets) == 0 {
		return s.WebhookGetByID(ctx, params.ID)
	}
	args = append(args, params.ID)
	row := s.pool.QueryRow(ctx, `
		UPDATE standin_webhook SET `+strings.Join(sets, ", ")+`
		WHERE id = $`+strconv.Itoa(len(args))+` RETURNING `+webhookColumns, args...)
	wh, err := scanWebhook(row)
	if err != nil {
		return nil, fmt.Errorf("update webhook %s: %w", params.ID, mapErr(err))
	}
	return wh, nil
}

// WebhookDelete deletes the webhook with id. Its deliveries and attempts
// stay.
func (s *Store) WebhookDelete(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM standin_webhook WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete webhook %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// WebhookListSubscribed returns, in Seq order, the active account webhooks
// and the active group webhooks of groupID whose events include eventName.
func (s *Store) WebhookListSubscribed(ctx context.Context, eventName, groupID string) ([]*store.Webhook, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+webhookColumns+` FROM standin_webhook
		WHERE active
		  AND (type = 'account' OR (type = 'group' AND group_id = $1))
		  AND events ? $2
		ORDER BY seq`, groupID, eventName)
	if err != nil {
		return nil, fmt.Errorf("list webhooks subscribed to %s: %w", eventName, err)
	}
	list, err := scanWebhooks(rows)
	if err != nil {
		return nil, fmt.Errorf("list webhooks subscribed to %s: %w", eventName, err)
	}
	return list, nil
}

func scanWebhook(row pgx.Row) (*store.Webhook, error) {
	var (
		wh                   store.Webhook
		events, signing      []byte
		rotation             []byte
		profile              string
		createdAt, updatedAt time.Time
		failingSince         *time.Time
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
	wh.CreatedAt = utc(createdAt)
	wh.UpdatedAt = utc(updatedAt)
	wh.FailingSince = utcPtr(failingSince)
	return &wh, nil
}

func scanWebhooks(rows pgx.Rows) ([]*store.Webhook, error) {
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
