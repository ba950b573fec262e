package storetest

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/store"
)

// testSettings checks that the first SettingInit of a key wins, also among
// concurrent ones, and that SettingPut replaces it.
func testSettings(t *testing.T, st store.Store) {
	ctx := t.Context()
	got, err := st.SettingInit(ctx, store.SettingTimeScale, "3600")
	require.NoError(t, err)
	require.Equal(t, "3600", got, "the first value is recorded")
	got, err = st.SettingInit(ctx, store.SettingTimeScale, "1")
	require.NoError(t, err)
	require.Equal(t, "3600", got, "a later value does not replace it")

	require.NoError(t, st.SettingPut(ctx, store.SettingTimeScale, "60"))
	got, err = st.SettingInit(ctx, store.SettingTimeScale, "1")
	require.NoError(t, err)
	require.Equal(t, "60", got, "SettingPut replaces the value")

	// Processes starting together: exactly one value wins, and all see it.
	const n = 8
	seen := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v, err := st.SettingInit(ctx, "race", string(rune('a'+i)))
			require.NoError(t, err)
			seen[i] = v
		})
	}
	wg.Wait()
	for i := range n {
		require.Equal(t, seen[0], seen[i], "every caller sees the one recorded value")
	}
}
