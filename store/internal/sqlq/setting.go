package sqlq

import (
	"context"
	"fmt"
)

// SettingInit records value under key unless the key has a value already,
// and returns the value stored: value, or the one recorded before.
func (t Tables) SettingInit(ctx context.Context, key, value string) (string, error) {
	if _, err := t.Q.Exec(ctx, t.D.Rebind(`INSERT INTO standin_setting (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO NOTHING`), key, value); err != nil {
		return "", fmt.Errorf("init setting %s: %w", key, t.D.MapErr(err))
	}
	var stored string
	if err := t.Q.QueryRow(ctx, t.D.Rebind(`SELECT value FROM standin_setting WHERE key = ?`), key).Scan(&stored); err != nil {
		return "", fmt.Errorf("read setting %s: %w", key, t.D.MapErr(err))
	}
	return stored, nil
}

// SettingPut records value under key, replacing any value it had.
func (t Tables) SettingPut(ctx context.Context, key, value string) error {
	if _, err := t.Q.Exec(ctx, t.D.Rebind(`INSERT INTO standin_setting (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`), key, value); err != nil {
		return fmt.Errorf("put setting %s: %w", key, t.D.MapErr(err))
	}
	return nil
}
