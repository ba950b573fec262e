package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/store"
)

// testCheck: a check's report is stored byte for byte (key order and
// non-ASCII text kept), read back by id with its webhook and time; a second
// report with the same id is ErrConflict, an unknown id ErrNotFound, and a
// report that is not a JSON object is refused.
func testCheck(t *testing.T, st store.Store) {
	ctx := t.Context()
	report := []byte(`{"url":"http://127.0.0.1:9/hook","profile":"fivetran","probes":[{"id":"non_ascii","reason":"raw UTF-8 🚀 数据 accepted"}],"a_last":1}`)
	c := &store.Check{ID: "chk_1", WebhookID: "program_quoth", Report: report,
		CreatedAt: time.Date(2025, 7, 14, 23, 59, 58, 123456789, time.FixedZone("X", 3600))}
	require.NoError(t, st.CheckCreate(ctx, c))
	require.Equal(t, time.Date(2025, 7, 14, 22, 59, 58, 123456000, time.UTC), c.CreatedAt, "normalized in place")

	got, err := st.CheckGetByID(ctx, "chk_1")
	require.NoError(t, err)
	require.Equal(t, c.ID, got.ID)
	require.Equal(t, "program_quoth", got.WebhookID)
	require.True(t, got.CreatedAt.Equal(c.CreatedAt), "created_at %v, want %v", got.CreatedAt, c.CreatedAt)
	require.Equal(t, string(report), string(got.Report), "byte for byte")

	explicit := &store.Check{ID: "chk_2", Report: []byte(`{"url":"http://x"}`), CreatedAt: base}
	require.NoError(t, st.CheckCreate(ctx, explicit))
	got, err = st.CheckGetByID(ctx, "chk_2")
	require.NoError(t, err)
	require.Empty(t, got.WebhookID)

	err = st.CheckCreate(ctx, &store.Check{ID: "chk_1", Report: []byte(`{}`), CreatedAt: base})
	require.True(t, errors.Is(err, store.ErrConflict), "duplicate id: %v", err)
	_, err = st.CheckGetByID(ctx, "nope")
	require.True(t, errors.Is(err, store.ErrNotFound), "unknown id: %v", err)
	require.Error(t, st.CheckCreate(ctx, &store.Check{ID: "chk_3", Report: []byte(`[1]`), CreatedAt: base}))
	require.Error(t, st.CheckCreate(ctx, &store.Check{ID: "chk_4", Report: []byte(`{`), CreatedAt: base}))
	_, err = st.CheckGetByID(ctx, "chk_3")
	require.True(t, errors.Is(err, store.ErrNotFound), "a refused report is not stored: %v", err)
}
