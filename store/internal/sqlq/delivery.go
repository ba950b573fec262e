package sqlq

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

// DeliveryColumns are the columns ScanDelivery reads, in its order.
const DeliveryColumns = `id, event_id, event_name, webhook_id, profile, body, state, attempts,
	first_attempt_at, next_attempt_at, last_status, last_error, created_at, updated_at, finished_at,
	manual_attempts, faults`

const attemptColumns = `id, delivery_id, number, manual, url, started_at, emulated_delay_ns,
	request_headers, status_code, latency_ns, error, response_headers, response_excerpt, succeeded, fault`

const eventColumns = `id, name, group_id, source, created_at`

// DeliveryGetByID returns the delivery with id.
func (t Tables) DeliveryGetByID(ctx context.Context, id string) (*store.Delivery, error) {
	d, err := t.D.ScanDelivery(t.Q.QueryRow(ctx, t.D.Rebind(`SELECT `+DeliveryColumns+` FROM standin_delivery WHERE id = ?`), id))
	if err != nil {
		return nil, fmt.Errorf("get delivery %s: %w", id, t.D.MapErr(err))
	}
	return d, nil
}

// DeliveryList returns up to params.Limit deliveries matching the filters,
// newest first (CreatedAt, then ID, descending). A BeforeID that names no
// delivery is an error wrapping store.ErrNotFound.
func (t Tables) DeliveryList(ctx context.Context, params store.DeliveryListParams) ([]*store.Delivery, error) {
	if err := sqlrow.CheckLimit(params.Limit); err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	a := t.D.Args()
	var where []string
	if params.WebhookID != "" {
		where = append(where, "webhook_id = "+a.Add(params.WebhookID))
	}
	if params.EventID != "" {
		where = append(where, "event_id = "+a.Add(params.EventID))
	}
	if params.EventName != "" {
		where = append(where, "event_name = "+a.Add(params.EventName))
	}
	if params.State != "" {
		where = append(where, "state = "+a.Add(params.State))
	}
	where, err := t.newestFirst(ctx, a, where, "standin_delivery", params.Since, params.Until, params.BeforeID)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: cursor delivery %s: %w", params.BeforeID, err)
	}
	list, err := query(ctx, t.Q, t.D.ScanDelivery, selectNewestFirst(DeliveryColumns, "standin_delivery", where, a, params.Limit), a.List()...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return list, nil
}

// newestFirst appends to where the conditions of a newest-first list of
// table: created in [since, until) (each when set) and, when beforeID is
// set, after that row in (created_at, id) descending order. A beforeID that
// names no row is store.ErrNotFound.
func (t Tables) newestFirst(ctx context.Context, a *Args, where []string, table string, since, until time.Time, beforeID string) ([]string, error) {
	if !since.IsZero() {
		where = append(where, "created_at >= "+a.Time(since))
	}
	if !until.IsZero() {
		where = append(where, "created_at < "+a.Time(until))
	}
	if beforeID == "" {
		return where, nil
	}
	var createdAt NullTime
	err := t.Q.QueryRow(ctx, t.D.Rebind(`SELECT created_at FROM `+table+` WHERE id = ?`), beforeID).Scan(t.D.timeDest(&createdAt))
	if err != nil {
		return nil, t.D.MapErr(err)
	}
	return append(where, "(created_at, id) < ("+a.Time(createdAt.Time)+", "+a.Add(beforeID)+")"), nil
}

// selectNewestFirst is the query of columns of table under where, newest
// first, at most limit rows.
func selectNewestFirst(columns, table string, where []string, a *Args, limit int) string {
	q := `SELECT ` + columns + ` FROM ` + table
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	return q + ` ORDER BY created_at DESC, id DESC LIMIT ` + a.Add(limit)
}

// DeliveryCancel moves a pending or retrying delivery to cancelled, with
// FinishedAt and UpdatedAt set to at and no next attempt. Other states are
// store.ErrConflict.
func (t Tables) DeliveryCancel(ctx context.Context, id string, at time.Time) (*store.Delivery, error) {
	ts := t.D.Time(at)
	d, err := t.D.ScanDelivery(t.Q.QueryRow(ctx, t.D.Rebind(`UPDATE standin_delivery
		SET state = ?, finished_at = ?, updated_at = ?, next_attempt_at = NULL
		WHERE id = ? AND state IN (?, ?)
		RETURNING `+DeliveryColumns),
		store.DeliveryCancelled, ts, ts, id, store.DeliveryPending, store.DeliveryRetrying))
	if err != nil && errors.Is(t.D.MapErr(err), store.ErrNotFound) {
		var state string
		err = t.Q.QueryRow(ctx, t.D.Rebind(`SELECT state FROM standin_delivery WHERE id = ?`), id).Scan(&state)
		if err != nil {
			return nil, fmt.Errorf("cancel delivery %s: %w", id, t.D.MapErr(err))
		}
		return nil, fmt.Errorf("cancel delivery %s: state is %s: %w", id, state, store.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("cancel delivery %s: %w", id, err)
	}
	return d, nil
}

// ScanDelivery reads a row of DeliveryColumns.
func (dia *Dialect) ScanDelivery(row Row) (*store.Delivery, error) {
	var (
		d                           store.Delivery
		faults                      string
		profile                     string
		firstAt, nextAt, finishedAt NullTime
		createdAt, updatedAt        NullTime
	)
	err := row.Scan(&d.ID, &d.EventID, &d.EventName, &d.WebhookID, &profile, &d.Body, &d.State,
		&d.Attempts, dia.timeDest(&firstAt), dia.timeDest(&nextAt), &d.LastStatus, &d.LastError,
		dia.timeDest(&createdAt), dia.timeDest(&updatedAt), dia.timeDest(&finishedAt), &d.ManualAttempts, &faults)
	if err != nil {
		return nil, err
	}
	if d.Body == nil {
		d.Body = []byte{}
	}
	d.Profile = delivery.Profile(profile)
	if d.Faults, err = DecodeFaults(faults); err != nil {
		return nil, err
	}
	d.FirstAttemptAt = firstAt.Ptr()
	d.NextAttemptAt = nextAt.Ptr()
	d.FinishedAt = finishedAt.Ptr()
	d.CreatedAt = createdAt.Time
	d.UpdatedAt = updatedAt.Time
	return &d, nil
}

// EventGetByID returns the event with id.
func (t Tables) EventGetByID(ctx context.Context, id string) (*store.Event, error) {
	ev, err := t.D.scanEvent(t.Q.QueryRow(ctx, t.D.Rebind(`SELECT `+eventColumns+` FROM standin_event WHERE id = ?`), id))
	if err != nil {
		return nil, fmt.Errorf("get event %s: %w", id, t.D.MapErr(err))
	}
	return ev, nil
}

// EventList returns up to params.Limit events matching the filters, newest
// first (CreatedAt, then ID, descending). A BeforeID that names no event is
// an error wrapping store.ErrNotFound.
func (t Tables) EventList(ctx context.Context, params store.EventListParams) ([]*store.Event, error) {
	if err := sqlrow.CheckLimit(params.Limit); err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	a := t.D.Args()
	var where []string
	if params.Name != "" {
		where = append(where, "name = "+a.Add(params.Name))
	}
	where, err := t.newestFirst(ctx, a, where, "standin_event", params.Since, params.Until, params.BeforeID)
	if err != nil {
		return nil, fmt.Errorf("list events: cursor event %s: %w", params.BeforeID, err)
	}
	list, err := query(ctx, t.Q, t.D.scanEvent, selectNewestFirst(eventColumns, "standin_event", where, a, params.Limit), a.List()...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	return list, nil
}

func (dia *Dialect) scanEvent(row Row) (*store.Event, error) {
	var (
		ev        store.Event
		source    []byte
		createdAt NullTime
	)
	if err := row.Scan(&ev.ID, &ev.Name, &ev.GroupID, &source, dia.timeDest(&createdAt)); err != nil {
		return nil, err
	}
	ev.Source = sqlrow.Bytes(source)
	ev.CreatedAt = createdAt.Time
	return &ev, nil
}

// AttemptListByDelivery returns the delivery's attempts by Number; none
// (not an error) when the delivery does not exist.
func (t Tables) AttemptListByDelivery(ctx context.Context, deliveryID string) ([]*store.Attempt, error) {
	list, err := query(ctx, t.Q, t.D.scanAttempt, t.D.Rebind(`SELECT `+attemptColumns+` FROM standin_attempt
		WHERE delivery_id = ? ORDER BY number`), deliveryID)
	if err != nil {
		return nil, fmt.Errorf("list attempts of delivery %s: %w", deliveryID, err)
	}
	return list, nil
}

func (dia *Dialect) scanAttempt(row Row) (*store.Attempt, error) {
	var (
		a                       store.Attempt
		startedAt               NullTime
		delay, latency          int64
		reqHeaders, respHeaders []byte
	)
	err := row.Scan(&a.ID, &a.DeliveryID, &a.Number, &a.Manual, &a.URL, dia.timeDest(&startedAt), &delay,
		&reqHeaders, &a.StatusCode, &latency, &a.Error, &respHeaders, &a.ResponseExcerpt, &a.Succeeded, &a.Fault)
	if err != nil {
		return nil, err
	}
	a.StartedAt = startedAt.Time
	a.EmulatedDelay = time.Duration(delay)
	a.Latency = time.Duration(latency)
	if a.RequestHeaders, err = sqlrow.DecodeHeader(reqHeaders); err != nil {
		return nil, err
	}
	if a.ResponseHeaders, err = sqlrow.DecodeHeader(respHeaders); err != nil {
		return nil, err
	}
	a.ResponseExcerpt = sqlrow.Bytes(a.ResponseExcerpt)
	return &a, nil
}

// ScanDeliveries reads every row of rows with ScanDelivery and closes rows.
func (dia *Dialect) ScanDeliveries(rows Rows) ([]*store.Delivery, error) {
	return collect(rows, dia.ScanDelivery)
}
