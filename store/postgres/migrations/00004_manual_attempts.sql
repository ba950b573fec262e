-- The manual attempts (redeliveries) among a delivery's attempts, so that a
-- scheduled attempt knows its place on the retry schedule without reading
-- every earlier attempt.

-- +goose Up
ALTER TABLE standin_delivery ADD COLUMN manual_attempts integer NOT NULL DEFAULT 0;
UPDATE standin_delivery AS d SET manual_attempts = m.n
FROM (SELECT delivery_id, count(*) AS n FROM standin_attempt WHERE manual GROUP BY delivery_id) AS m
WHERE m.delivery_id = d.id;

-- +goose Down
ALTER TABLE standin_delivery DROP COLUMN manual_attempts;
