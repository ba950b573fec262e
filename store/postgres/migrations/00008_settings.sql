-- Settings every process of one deployment must agree on, recorded by the
-- first process that starts (the time scale): key -> value.

-- +goose Up
CREATE TABLE standin_setting (
    key text PRIMARY KEY,
    value text NOT NULL
);

-- +goose Down
DROP TABLE standin_setting;
