package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/store"
)

// testDeliveryGetWithWebhook checks the delivery worker's read: the
// delivery and its webhook, exactly as DeliveryGetByID and WebhookGetByID
// return them; a nil webhook once it is deleted; ErrNotFound for no
// delivery.
func testDeliveryGetWithWebhook(t *testing.T, st store.Store) {
	ctx := t.Context()
	wh := createWebhook(t, st, webhook("wh_1", store.WebhookTypeAccount, "", "sync_end"))
	createWebhook(t, st, webhook("wh_2", store.WebhookTypeAccount, "", "sync_end"))
	ds := createEvent(t, st, event("ev_1", "sync_end", base, wh.ID, 2))

	for _, d := range ds {
		gotD, gotWH, err := st.DeliveryGetWithWebhook(ctx, d.ID)
		require.NoError(t, err)
		wantD, err := st.DeliveryGetByID(ctx, d.ID)
		require.NoError(t, err)
		wantWH, err := st.WebhookGetByID(ctx, wh.ID)
		require.NoError(t, err)
		require.Equal(t, wantD, gotD)
		require.Equal(t, wantWH, gotWH)
	}

	require.NoError(t, st.WebhookDelete(ctx, wh.ID))
	gotD, gotWH, err := st.DeliveryGetWithWebhook(ctx, ds[0].ID)
	require.NoError(t, err, "a deleted webhook is not an error")
	require.Equal(t, ds[0].ID, gotD.ID)
	require.Nil(t, gotWH)

	_, _, err = st.DeliveryGetWithWebhook(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
}
