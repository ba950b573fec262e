-- A webhook's secret rotation window (standin's extension): the previous
-- secret, until when it stays valid, and which secret signs a
-- single-signature scheme meanwhile, as a JSON document (delivery.Rotation);
-- NULL when there is none.

-- +goose Up
ALTER TABLE standin_webhook ADD COLUMN secret_rotation TEXT CHECK (secret_rotation IS NULL OR json_valid(secret_rotation));

-- +goose Down
ALTER TABLE standin_webhook DROP COLUMN secret_rotation;
