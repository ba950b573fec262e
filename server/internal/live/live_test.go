package live_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/standin-dev/standin/server/internal/live"
	"github.com/standin-dev/standin/store"
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

// fakeLast is a lastID function whose value the test sets; every call is
// signalled on calls.
type fakeLast struct {
	value atomic.Int64
	calls chan int64
}

func (f *fakeLast) lastID(context.Context) (int64, error) {
	v := f.value.Load()
	select {
	case f.calls <- v:
	default:
	}
	return v, nil
}

// awaitCalls waits until lastID has been read n more times.
func (f *fakeLast) awaitCalls(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-f.calls:
		case <-time.After(10 * time.Second):
			t.Fatal("the watcher stopped reading")
		}
	}
}

// Attempts recorded by another process reach subscribers as a resync;
// this process's own attempts, already published, do not.
func TestHubWatch(t *testing.T) {
	t.Parallel()
	f := &fakeLast{calls: make(chan int64)}
	var h live.Hub
	h.Watch(f.lastID, time.Millisecond)
	st := h.Wrap(attemptStore{})

	ch, done := h.Subscribe()
	f.awaitCalls(t, 2)
	require.Empty(t, ch, "nothing changed")

	// This process records attempt 5: published as a delivery change only.
	_, err := st.AttemptRecord(t.Context(), store.AttemptRecordParams{Attempt: store.Attempt{ID: 5, DeliveryID: "d"}, State: "succeeded"})
	require.NoError(t, err)
	require.Equal(t, live.Change{Kind: live.KindDelivery, ID: "d", State: "succeeded"}, <-ch)
	f.value.Store(5)
	f.awaitCalls(t, 3)
	require.Empty(t, ch, "no resync for this process's own attempt")

	// Another process records attempt 6.
	f.value.Store(6)
	select {
	case c := <-ch:
		require.Equal(t, live.Change{Kind: "resync"}, c)
	case <-time.After(10 * time.Second):
		t.Fatal("no resync for another process's attempt")
	}

	done()
	require.Zero(t, h.Subscribers())
}

// attemptStore records attempts as given (their ID included).
type attemptStore struct{ store.Store }

func (attemptStore) AttemptRecord(_ context.Context, p store.AttemptRecordParams) (*store.Attempt, error) {
	a := p.Attempt
	return &a, nil
}
