-- The reports of receiver checks run through the API (POST
-- /standin/v1/checks), read back by id. The report is JSON text kept byte
-- for byte.

-- +goose Up
CREATE TABLE standin_check (
    id         TEXT    PRIMARY KEY,
    webhook_id TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    report     TEXT    NOT NULL CHECK (json_valid(report))
);

-- +goose Down
DROP TABLE standin_check;
