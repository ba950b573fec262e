-- standin's tables on PostgreSQL. Unqualified names: they are created in the
-- first schema of search_path, which the store sets to Config.Schema.
--
-- Durations are bigint nanoseconds (the *_ns columns).

-- +goose Up
CREATE TABLE standin_webhook (
    seq             bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    id              text        PRIMARY KEY,
    type            text        NOT NULL CHECK (type IN ('account', 'group')),
    group_id        text        NOT NULL DEFAULT '',
    url             text        NOT NULL,
    events          jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(events) = 'array'),
    active          boolean     NOT NULL,
    secret          text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    created_by      text        NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL,
    profile         text        NOT NULL DEFAULT '',
    signing         jsonb       NOT NULL DEFAULT '{}',
    disabled_reason text        NOT NULL DEFAULT ''
);

CREATE INDEX standin_webhook_group_id ON standin_webhook (group_id);

-- source is json, not jsonb, so that its bytes read back exactly as written.
CREATE TABLE standin_event (
    id         text        PRIMARY KEY,
    name       text        NOT NULL,
    group_id   text        NOT NULL DEFAULT '',
    source     json,
    created_at timestamptz NOT NULL
);

-- webhook_id is plain text on purpose: deleting a webhook keeps its
-- deliveries and their attempts.
CREATE TABLE standin_delivery (
    id               text        PRIMARY KEY,
    event_id         text        NOT NULL REFERENCES standin_event (id),
    event_name       text        NOT NULL,
    webhook_id       text        NOT NULL,
    profile          text        NOT NULL DEFAULT '',
    body             bytea       NOT NULL,
    state            text        NOT NULL,
    attempts         integer     NOT NULL DEFAULT 0,
    first_attempt_at timestamptz,
    next_attempt_at  timestamptz,
    last_status      integer     NOT NULL DEFAULT 0,
    last_error       text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    finished_at      timestamptz
);

CREATE INDEX standin_delivery_created_at_id ON standin_delivery (created_at, id);
CREATE INDEX standin_delivery_webhook_id ON standin_delivery (webhook_id, created_at, id);
CREATE INDEX standin_delivery_event_id ON standin_delivery (event_id);
CREATE INDEX standin_delivery_state ON standin_delivery (state, created_at, id);

CREATE TABLE standin_attempt (
    id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id       text        NOT NULL REFERENCES standin_delivery (id),
    number            integer     NOT NULL,
    manual            boolean     NOT NULL DEFAULT false,
    url               text        NOT NULL DEFAULT '',
    started_at        timestamptz NOT NULL,
    emulated_delay_ns bigint      NOT NULL DEFAULT 0,
    request_headers   jsonb,
    status_code       integer     NOT NULL DEFAULT 0,
    latency_ns        bigint      NOT NULL DEFAULT 0,
    error             text        NOT NULL DEFAULT '',
    response_headers  jsonb,
    response_excerpt  bytea,
    succeeded         boolean     NOT NULL DEFAULT false,
    UNIQUE (delivery_id, number)
);

-- +goose Down
DROP TABLE standin_attempt;
DROP TABLE standin_delivery;
DROP TABLE standin_event;
DROP TABLE standin_webhook;
