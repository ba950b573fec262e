-- The connection fields the store does not interpret (service_version,
-- connected_by, daily_sync_time, config, ...) as one JSON object, kept byte
-- for byte (NULL when none), and an index for listing by schema name.

-- +goose Up
ALTER TABLE standin_connection ADD COLUMN extra TEXT CHECK (extra IS NULL OR json_valid(extra));
CREATE INDEX standin_connection_schema_name ON standin_connection (schema_name, seq);

-- +goose Down
DROP INDEX standin_connection_schema_name;
ALTER TABLE standin_connection DROP COLUMN extra;
