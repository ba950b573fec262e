package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/delivery"
	"github.com/standin-dev/standin/store"
)

// testWebhookSecretRotation: a webhook's secret rotation is stored with the
// new secret, read back by every read (the worker's included), left alone by
// updates that do not name it, and removed by one without a previous secret.
func testWebhookSecretRotation(t *testing.T, st store.Store) {
	ctx := t.Context()
	createWebhook(t, st, webhook("wh_1", store.WebhookTypeAccount, "", "sync_end"))
	rot := &delivery.Rotation{PreviousSecret: "old", Until: base.Add(24*time.Hour + 123456*time.Microsecond), SignWith: delivery.SignWithOld}
	got, err := st.WebhookUpdate(ctx, store.WebhookUpdateParams{ID: "wh_1", Secret: ptr("new"), Rotation: rot})
	require.NoError(t, err)
	require.Equal(t, "new", got.Secret)
	require.Equal(t, rot, got.Rotation)

	got, err = st.WebhookUpdate(ctx, store.WebhookUpdateParams{ID: "wh_1", URL: ptr("https://other.example/hook")})
	require.NoError(t, err)
	require.Equal(t, rot, got.Rotation)
	ds := createEvent(t, st, event("ev_1", "sync_end", base, "wh_1", 1))
	dw, err := st.DeliveryGetManyWithWebhook(ctx, []string{ds[0].ID})
	require.NoError(t, err)
	require.Equal(t, rot, dw[ds[0].ID].Webhook.Rotation)
	list, err := st.WebhookListSubscribed(ctx, "sync_end", "")
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, rot, list[0].Rotation)

	got, err = st.WebhookUpdate(ctx, store.WebhookUpdateParams{ID: "wh_1", Secret: ptr("newer"), Rotation: &delivery.Rotation{}})
	require.NoError(t, err)
	require.Nil(t, got.Rotation)
	got, err = st.WebhookGetByID(ctx, "wh_1")
	require.NoError(t, err)
	require.Nil(t, got.Rotation)
}
