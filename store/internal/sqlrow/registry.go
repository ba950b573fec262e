package sqlrow

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/standin-dev/standin/store"
)

// CheckGroup rejects a group that cannot be stored.
func CheckGroup(g *store.Group) error {
	switch {
	case g == nil:
		return errors.New("group is nil")
	case g.ID == "":
		return errors.New("group id is empty")
	}
	return nil
}

// CheckConnection rejects a connection that cannot be stored.
func CheckConnection(c *store.Connection) error {
	switch {
	case c == nil:
		return errors.New("connection is nil")
	case c.ID == "":
		return errors.New("connection id is empty")
	case c.GroupID == "":
		return fmt.Errorf("connection %s: group id is empty", c.ID)
	}
	return nil
}

// CheckEventsCreate runs CheckEventCreate on each of events.
func CheckEventsCreate(events []store.EventCreateParams) error {
	for _, p := range events {
		if err := CheckEventCreate(p); err != nil {
			return err
		}
	}
	return nil
}

// NormalizeConnection puts c's times in the form the store keeps (UTC,
// microseconds), so the caller's record equals what reads return.
func NormalizeConnection(c *store.Connection) {
	c.CreatedAt = Time(c.CreatedAt)
	c.UpdatedAt = Time(c.UpdatedAt)
	c.SucceededAt = TimePtr(c.SucceededAt)
	c.FailedAt = TimePtr(c.FailedAt)
	c.Sync = NormalizeSync(c.Sync)
}

// NormalizeSync returns a copy of s with its times in the form the store
// keeps; nil stays nil.
func NormalizeSync(s *store.ConnectionSync) *store.ConnectionSync {
	if s == nil {
		return nil
	}
	out := *s
	out.StartedAt = Time(s.StartedAt)
	out.EndsAt = Time(s.EndsAt)
	if !s.RescheduledAt.IsZero() {
		out.RescheduledAt = Time(s.RescheduledAt)
	}
	return &out
}

// EncodeSync returns the JSON stored for a connection's latest sync; nil is
// nil (NULL).
func EncodeSync(s *store.ConnectionSync) ([]byte, error) {
	if s == nil {
		return nil, nil
	}
	b, err := json.Marshal(NormalizeSync(s))
	if err != nil {
		return nil, fmt.Errorf("encode sync: %w", err)
	}
	return b, nil
}

// DecodeSync parses a stored sync; NULL decodes as nil.
func DecodeSync(b []byte) (*store.ConnectionSync, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var s store.ConnectionSync
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("decode sync: %w", err)
	}
	return NormalizeSync(&s), nil
}

// CheckConnectionCreate rejects a connection, or one of its events, that
// cannot be stored; the error names the operation.
func CheckConnectionCreate(p store.ConnectionCreateParams) error {
	if err := CheckConnection(p.Connection); err != nil {
		return fmt.Errorf("create connection: %w", err)
	}
	if err := CheckEventsCreate(p.Events); err != nil {
		return fmt.Errorf("create connection %s: %w", p.Connection.ID, err)
	}
	return nil
}
