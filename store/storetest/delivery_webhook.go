package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/store"
)

// testDeliveryGetManyWithWebhook checks the worker's read: each existing
// delivery with its webhook, exactly as DeliveryGetByID and WebhookGetByID
// return them; a nil webhook once it is deleted (not an error); unknown ids
// absent, not an error.
func testDeliveryGetManyWithWebhook(t *testing.T, st store.Store) {
	ctx := t.Context()
	wh1 := createWebhook(t, st, webhook("wh_1", store.WebhookTypeAccount, "", "sync_end"))
	wh2 := createWebhook(t, st, webhook("wh_2", store.WebhookTypeAccount, "", "sync_end"))
	ds1 := createEvent(t, st, event("ev_1", "sync_end", base, wh1.ID, 2))
	ds2 := createEvent(t, st, event("ev_2", "sync_end", base, wh2.ID, 1))

	got, err := st.DeliveryGetManyWithWebhook(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, got)

	ids := []string{ds1[0].ID, "nope", ds2[0].ID, ds1[1].ID}
	got, err = st.DeliveryGetManyWithWebhook(ctx, ids)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.NotContains(t, got, "nope")
	for _, d := range []*store.Delivery{ds1[0], ds1[1], ds2[0]} {
		// Exactly what the single reads return.
		wantD, err := st.DeliveryGetByID(ctx, d.ID)
		require.NoError(t, err)
		wantWH, err := st.WebhookGetByID(ctx, d.WebhookID)
		require.NoError(t, err)
		require.Equal(t, wantD, got[d.ID].Delivery, d.ID)
		require.Equal(t, wantWH, got[d.ID].Webhook, d.ID)
	}

	require.NoError(t, st.WebhookDelete(ctx, wh1.ID))
	got, err = st.DeliveryGetManyWithWebhook(ctx, ids)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Nil(t, got[ds1[0].ID].Webhook)
	require.Nil(t, got[ds1[1].ID].Webhook)
	require.Equal(t, ds1[1].ID, got[ds1[1].ID].Delivery.ID)
	require.Equal(t, wh2.ID, got[ds2[0].ID].Webhook.ID)
}
