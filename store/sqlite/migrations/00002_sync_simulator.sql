-- The sync simulator's registry (groups and connections) and webhook health.
-- Times are INTEGER microseconds since the Unix epoch, UTC, as in 00001.

-- +goose Up
CREATE TABLE standin_group (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

-- sync is the latest simulated sync as a JSON object (NULL before the
-- first); version counts updates for optimistic concurrency.
CREATE TABLE standin_connection (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT    NOT NULL UNIQUE,
    group_id       TEXT    NOT NULL REFERENCES standin_group (id),
    service        TEXT    NOT NULL DEFAULT '',
    schema_name    TEXT    NOT NULL DEFAULT '',
    paused         INTEGER NOT NULL DEFAULT 0,
    sync_frequency INTEGER NOT NULL DEFAULT 0,
    schedule_type  TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    succeeded_at   INTEGER,
    failed_at      INTEGER,
    sync           TEXT    CHECK (sync IS NULL OR json_valid(sync)),
    resync_pending INTEGER NOT NULL DEFAULT 0,
    version        INTEGER NOT NULL DEFAULT 1
);

CREATE INDEX standin_connection_group_id ON standin_connection (group_id, seq);

-- The real time of the first failed attempt since the last success.
ALTER TABLE standin_webhook ADD COLUMN failing_since INTEGER;

-- +goose Down
ALTER TABLE standin_webhook DROP COLUMN failing_since;
DROP TABLE standin_connection;
DROP TABLE standin_group;
