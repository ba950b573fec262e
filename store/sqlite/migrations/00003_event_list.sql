-- Indexes for the event log: newest first, optionally by name.

-- +goose Up
CREATE INDEX standin_event_created_at_id ON standin_event (created_at, id);
CREATE INDEX standin_event_name ON standin_event (name, created_at, id);

-- +goose Down
DROP INDEX standin_event_name;
DROP INDEX standin_event_created_at_id;
