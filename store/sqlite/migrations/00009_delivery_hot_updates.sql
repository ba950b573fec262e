-- An attempt changes its delivery's state, so the state index cost every
-- attempt a delete and an insert in that index; a list of deliveries
-- filtered by state now walks the newest-first index
-- (standin_delivery_created_at_id, or the webhook's or event's) and filters,
-- as on PostgreSQL (where dropping it lets attempts be HOT updates).

-- +goose Up
DROP INDEX standin_delivery_state;

-- +goose Down
CREATE INDEX standin_delivery_state ON standin_delivery (state, created_at, id);
