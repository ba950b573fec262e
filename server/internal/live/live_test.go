package live_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/server/internal/live"
)

func TestHubFanOut(t *testing.T) {
	t.Parallel()
	var h live.Hub
	h.Publish(live.Change{Kind: live.KindEvent, ID: "before"}) // nobody listens: dropped
	a, doneA := h.Subscribe()
	b, doneB := h.Subscribe()
	require.Equal(t, 2, h.Subscribers())
	h.Publish(live.Change{Kind: live.KindDelivery, ID: "d1", State: "pending"})
	require.Equal(t, live.Change{Kind: live.KindDelivery, ID: "d1", State: "pending"}, <-a)
	require.Equal(t, live.Change{Kind: live.KindDelivery, ID: "d1", State: "pending"}, <-b)
	doneB()
	require.Equal(t, 1, h.Subscribers())
	h.Publish(live.Change{Kind: live.KindEvent, ID: "e1"})
	require.Equal(t, "e1", (<-a).ID)
	require.Empty(t, b, "an ended subscription gets nothing more")
	doneA()
	require.Zero(t, h.Subscribers())
}

// A subscriber that falls behind loses changes, then is told to resync.
func TestHubOverflow(t *testing.T) {
	t.Parallel()
	var h live.Hub
	ch, done := h.Subscribe()
	defer done()
	for i := range 300 {
		h.Publish(live.Change{Kind: live.KindDelivery, ID: string(rune('a' + i%26))})
	}
	require.Len(t, ch, cap(ch), "the buffer is full; Publish never blocked")
	for range cap(ch) {
		<-ch
	}
	h.Publish(live.Change{Kind: live.KindEvent, ID: "after"})
	require.Equal(t, live.Change{Kind: "resync"}, <-ch, "first, a resync for what was lost")
	require.Equal(t, "after", (<-ch).ID)
}
