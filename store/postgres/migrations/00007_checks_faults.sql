-- The reports of receiver checks run through the API (POST
-- /standin/v1/checks), read back by id; the report is JSON text kept byte
-- for byte (text, not jsonb, which would reorder keys). And faults asked on
-- purpose (delivery.Faults as JSON, '' for none): a webhook's, a
-- delivery's (the emit's or its webhook's), and the kinds that changed an
-- attempt.

-- +goose Up
CREATE TABLE standin_check (
    id         text        PRIMARY KEY,
    webhook_id text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    report     text        NOT NULL CHECK (jsonb_typeof(report::jsonb) = 'object')
);
ALTER TABLE standin_webhook ADD COLUMN faults text NOT NULL DEFAULT '';
ALTER TABLE standin_delivery ADD COLUMN faults text NOT NULL DEFAULT '';
ALTER TABLE standin_attempt ADD COLUMN fault text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE standin_attempt DROP COLUMN fault;
ALTER TABLE standin_delivery DROP COLUMN faults;
ALTER TABLE standin_webhook DROP COLUMN faults;
DROP TABLE standin_check;
