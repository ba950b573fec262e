package sqlq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/standin-dev/standin/store"
	"github.com/standin-dev/standin/store/internal/sqlrow"
)

// CheckCreate stores a receiver check's report. Its CreatedAt is normalized
// to what the store keeps (UTC, microseconds).
func (t Tables) CheckCreate(ctx context.Context, c *store.Check) error {
	switch {
	case c.ID == "":
		return errors.New("create check: id is required")
	case !json.Valid(c.Report) || len(c.Report) == 0 || c.Report[0] != '{':
		return fmt.Errorf("create check %s: report is not a JSON object", c.ID)
	}
	c.CreatedAt = sqlrow.Time(c.CreatedAt)
	_, err := t.Q.Exec(ctx, t.D.Rebind(`INSERT INTO standin_check (id, webhook_id, created_at, report) VALUES (?, ?, ?, ?)`),
		c.ID, c.WebhookID, t.D.Time(c.CreatedAt), string(c.Report))
	if err != nil {
		return fmt.Errorf("create check %s: %w", c.ID, t.D.MapErr(err))
	}
	return nil
}

// CheckGetByID returns the stored check with id.
func (t Tables) CheckGetByID(ctx context.Context, id string) (*store.Check, error) {
	var (
		c         store.Check
		createdAt NullTime
		report    string
	)
	err := t.Q.QueryRow(ctx, t.D.Rebind(`SELECT id, webhook_id, created_at, report FROM standin_check WHERE id = ?`), id).
		Scan(&c.ID, &c.WebhookID, t.D.timeDest(&createdAt), &report)
	if err != nil {
		return nil, fmt.Errorf("get check %s: %w", id, t.D.MapErr(err))
	}
	c.CreatedAt = createdAt.Time
	c.Report = []byte(report)
	return &c, nil
}
