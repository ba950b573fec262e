package worker

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/standin-dev/standin/store"
)

func TestMemo(t *testing.T) {
	t.Parallel()
	var m memo[int]
	m.put(1, 10)
	if v, ok := m.take(1); !ok || v != 10 {
		t.Fatalf("take(1) = %v, %v; want 10, true", v, ok)
	}
	if _, ok := m.take(1); ok {
		t.Fatal("take(1) twice found it twice")
	}
	for i := range int64(memoMax + 5) { // the oldest five are dropped
		m.put(i, int(i))
	}
	for i := range int64(5) {
		if m.has(i) {
			t.Errorf("id %d kept beyond memoMax", i)
		}
	}
	if !m.has(5) || !m.has(memoMax+4) {
		t.Error("the newest memoMax ids are not all kept")
	}
	for i := range int64(3 * memoMax) { // taken ids do not pile up
		m.put(-i-1, 0)
		m.take(-i - 1)
	}
	if len(m.order) > 2*memoMax {
		t.Errorf("order holds %d ids, want at most %d", len(m.order), 2*memoMax)
	}
}

func TestRecordRetry(t *testing.T) {
	t.Parallel()
	d := &Deliverer{recordBackOff: fastBackOff}
	calls := 0
	err := d.recordRetry(t.Context(), func(context.Context) error {
		if calls++; calls < 4 {
			return errInjected
		}
		return nil
	})
	if err != nil || calls != 4 {
		t.Fatalf("recordRetry = %v after %d calls, want success after 4", err, calls)
	}

	calls = 0
	gone := fmt.Errorf("delivery d: %w", store.ErrNotFound)
	if err := d.recordRetry(t.Context(), func(context.Context) error { calls++; return gone }); !errors.Is(err, store.ErrNotFound) || calls != 1 {
		t.Fatalf("recordRetry = %v after %d calls, want ErrNotFound after 1 (a deleted delivery is not retried)", err, calls)
	}

	ctx, cancel := context.WithCancel(t.Context())
	calls = 0
	err = d.recordRetry(ctx, func(context.Context) error {
		if calls++; calls == 2 {
			cancel() // the run's deadline
		}
		return errInjected
	})
	if !errors.Is(err, errInjected) || calls != 2 {
		t.Fatalf("recordRetry = %v after %d calls, want the store's error once the run ended", err, calls)
	}
}
