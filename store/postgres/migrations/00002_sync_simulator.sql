-- The sync simulator's registry (groups and connections) and webhook health.

-- +goose Up
CREATE TABLE standin_group (
    seq        bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id         text        PRIMARY KEY,
    name       text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);

-- sync is the latest simulated sync as a JSON object (NULL before the
-- first); version counts updates for optimistic concurrency.
CREATE TABLE standin_connection (
    seq            bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id             text        PRIMARY KEY,
    group_id       text        NOT NULL REFERENCES standin_group (id),
    service        text        NOT NULL DEFAULT '',
    schema_name    text        NOT NULL DEFAULT '',
    paused         boolean     NOT NULL DEFAULT false,
    sync_frequency integer     NOT NULL DEFAULT 0,
    schedule_type  text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    succeeded_at   timestamptz,
    failed_at      timestamptz,
    sync           jsonb       CHECK (sync IS NULL OR jsonb_typeof(sync) = 'object'),
    resync_pending boolean     NOT NULL DEFAULT false,
    version        bigint      NOT NULL DEFAULT 1
);

CREATE INDEX standin_connection_group_id ON standin_connection (group_id, seq);

-- The real time of the first failed attempt since the last success.
ALTER TABLE standin_webhook ADD COLUMN failing_since timestamptz;

-- +goose Down
ALTER TABLE standin_webhook DROP COLUMN failing_since;
DROP TABLE standin_connection;
DROP TABLE standin_group;
