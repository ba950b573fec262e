-- The manual attempts (redeliveries) among a delivery's attempts, so that a
-- scheduled attempt knows its place on the retry schedule without reading
-- every earlier attempt.

-- +goose Up
ALTER TABLE standin_delivery ADD COLUMN manual_attempts INTEGER NOT NULL DEFAULT 0;
UPDATE standin_delivery SET manual_attempts =
    (SELECT count(*) FROM standin_attempt AS a WHERE a.delivery_id = standin_delivery.id AND a.manual)
WHERE id IN (SELECT delivery_id FROM standin_attempt WHERE manual);

-- +goose Down
ALTER TABLE standin_delivery DROP COLUMN manual_attempts;
