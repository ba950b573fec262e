-- The reports of receiver checks run through the API (POST
-- /standin/v1/checks), read back by id. The report is JSON text kept byte
-- for byte (text, not jsonb, which would reorder keys).

-- +goose Up
CREATE TABLE standin_check (
    id         text        PRIMARY KEY,
    webhook_id text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    report     text        NOT NULL CHECK (jsonb_typeof(report::jsonb) = 'object')
);

-- +goose Down
DROP TABLE standin_check;
