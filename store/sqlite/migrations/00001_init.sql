-- standin's tables on SQLite.
--
-- Times are INTEGER microseconds since the Unix epoch, UTC (the *_at
-- columns); durations are INTEGER nanoseconds (the *_ns columns). JSON values
-- (event filters, signing, headers) are TEXT; bodies are BLOB.

-- +goose Up
CREATE TABLE standin_webhook (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT    NOT NULL UNIQUE,
    type            TEXT    NOT NULL CHECK (type IN ('account', 'group')),
    group_id        TEXT    NOT NULL DEFAULT '',
    url             TEXT    NOT NULL,
    events          TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(events)),
    active          INTEGER NOT NULL,
    secret          TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    created_by      TEXT    NOT NULL DEFAULT '',
    updated_at      INTEGER NOT NULL,
    profile         TEXT    NOT NULL DEFAULT '',
    signing         TEXT    NOT NULL DEFAULT '{}',
    disabled_reason TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX standin_webhook_group_id ON standin_webhook (group_id);

CREATE TABLE standin_event (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    group_id   TEXT    NOT NULL DEFAULT '',
    source     TEXT,
    created_at INTEGER NOT NULL
);

-- webhook_id is plain text on purpose: deleting a webhook keeps its
-- deliveries and their attempts.
CREATE TABLE standin_delivery (
    id               TEXT    PRIMARY KEY,
    event_id         TEXT    NOT NULL REFERENCES standin_event (id),
    event_name       TEXT    NOT NULL,
    webhook_id       TEXT    NOT NULL,
    profile          TEXT    NOT NULL DEFAULT '',
    body             BLOB    NOT NULL,
    state            TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    first_attempt_at INTEGER,
    next_attempt_at  INTEGER,
    last_status      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    finished_at      INTEGER
);

CREATE INDEX standin_delivery_created_at_id ON standin_delivery (created_at, id);
CREATE INDEX standin_delivery_webhook_id ON standin_delivery (webhook_id, created_at, id);
CREATE INDEX standin_delivery_event_id ON standin_delivery (event_id);
CREATE INDEX standin_delivery_state ON standin_delivery (state, created_at, id);

CREATE TABLE standin_attempt (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id      TEXT    NOT NULL REFERENCES standin_delivery (id),
    number           INTEGER NOT NULL,
    manual           INTEGER NOT NULL DEFAULT 0,
    url              TEXT    NOT NULL DEFAULT '',
    started_at       INTEGER NOT NULL,
    emulated_delay_ns INTEGER NOT NULL DEFAULT 0,
    request_headers  TEXT,
    status_code      INTEGER NOT NULL DEFAULT 0,
    latency_ns       INTEGER NOT NULL DEFAULT 0,
    error            TEXT    NOT NULL DEFAULT '',
    response_headers TEXT,
    response_excerpt BLOB,
    succeeded        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (delivery_id, number)
);

-- +goose Down
DROP TABLE standin_attempt;
DROP TABLE standin_delivery;
DROP TABLE standin_event;
DROP TABLE standin_webhook;
