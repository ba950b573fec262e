-- What a delivery's attempt writes, made cheaper.
--
-- An attempt updates its delivery's row (state, attempts, times, last
-- status). With no index on a column an attempt changes, and room left on
-- each page, PostgreSQL can make that update a heap-only (HOT) update: a new
-- row version on the same page and no new entry in any of the table's
-- indexes. The state index was the only index on such a column; a list of
-- deliveries filtered by state now walks the newest-first index
-- (standin_delivery_created_at_id, or the webhook's or event's) and filters.
--
-- The foreign keys from attempts to deliveries and from deliveries to
-- events cost a row lock (and its WAL record) on the referenced row for
-- every inserted row, run as a trigger after the statement: for an attempt,
-- on the delivery row the same statement has just updated. The statements
-- keep what they guaranteed: an attempt is inserted only for a delivery row
-- its statement updated (an unknown delivery is ErrNotFound and records
-- nothing), deliveries only in the transaction that inserts their event,
-- and no statement deletes an event, a delivery or an attempt.

-- +goose Up
DROP INDEX standin_delivery_state;
ALTER TABLE standin_delivery SET (fillfactor = 50);
ALTER TABLE standin_attempt DROP CONSTRAINT standin_attempt_delivery_id_fkey;
ALTER TABLE standin_delivery DROP CONSTRAINT standin_delivery_event_id_fkey;

-- +goose Down
ALTER TABLE standin_delivery ADD CONSTRAINT standin_delivery_event_id_fkey
    FOREIGN KEY (event_id) REFERENCES standin_event (id);
ALTER TABLE standin_attempt ADD CONSTRAINT standin_attempt_delivery_id_fkey
    FOREIGN KEY (delivery_id) REFERENCES standin_delivery (id);
ALTER TABLE standin_delivery RESET (fillfactor);
CREATE INDEX standin_delivery_state ON standin_delivery (state, created_at, id);
