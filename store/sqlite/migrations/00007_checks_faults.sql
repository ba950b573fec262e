-- The reports of receiver checks run through the API (POST
-- /standin/v1/checks), read back by id; the report is JSON text kept byte
-- for byte. And faults asked on purpose (delivery.Faults as JSON, '' for
-- none): a webhook's, a delivery's (the emit's or its webhook's), and the
-- kinds that changed an attempt.

-- +goose Up
CREATE TABLE standin_check (
    id         TEXT    PRIMARY KEY,
    webhook_id TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    report     TEXT    NOT NULL CHECK (json_valid(report))
);
ALTER TABLE standin_webhook ADD COLUMN faults TEXT NOT NULL DEFAULT '';
ALTER TABLE standin_delivery ADD COLUMN faults TEXT NOT NULL DEFAULT '';
ALTER TABLE standin_attempt ADD COLUMN fault TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE standin_attempt DROP COLUMN fault;
ALTER TABLE standin_delivery DROP COLUMN faults;
ALTER TABLE standin_webhook DROP COLUMN faults;
DROP TABLE standin_check;
