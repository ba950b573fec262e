-- An attempt updates its delivery's row (state, attempts, times, last
-- status). With no index on a column an attempt changes, and room left on
-- each page, PostgreSQL can make that update a heap-only (HOT) update: a new
-- row version on the same page and no new entry in any of the table's
-- indexes. The state index was the only index on such a column; a list of
-- deliveries filtered by state now walks the newest-first index
-- (standin_delivery_created_at_id, or the webhook's or event's) and filters.

-- +goose Up
DROP INDEX standin_delivery_state;
ALTER TABLE standin_delivery SET (fillfactor = 50);

-- +goose Down
ALTER TABLE standin_delivery RESET (fillfactor);
CREATE INDEX standin_delivery_state ON standin_delivery (state, created_at, id);
