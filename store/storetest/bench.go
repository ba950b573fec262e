package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/standin-dev/standin/store"
)

// Benchmark measures the store's hot paths against the stores open returns
// (same contract as Run's open, with a testing.B). It reports deliveries/s
// for EventCreate, the rate that bounds how fast standin can fan events out.
//
//	func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, openBenchStore) }
func Benchmark(b *testing.B, open func(b *testing.B) store.Store) {
	for _, perEvent := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("EventCreate/deliveries=%d", perEvent), func(b *testing.B) {
			st := open(b)
			i := 0
			for b.Loop() {
				p := event(fmt.Sprintf("ev_%d", i), "sync_end", base.Add(time.Duration(i)*time.Millisecond), "wh_1", perEvent)
				if _, err := st.EventCreate(b.Context(), p); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(i*perEvent)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
	b.Run("AttemptRecord", func(b *testing.B) {
		st := open(b)
		const deliveries = 100
		if _, err := st.EventCreate(b.Context(), event("ev", "sync_end", base, "wh_1", deliveries)); err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			_, err := st.AttemptRecord(b.Context(), store.AttemptRecordParams{
				Attempt:   store.Attempt{DeliveryID: fmt.Sprintf("ev_d%d", i%deliveries), URL: "https://r", StartedAt: base, StatusCode: 500},
				State:     store.DeliveryRetrying,
				UpdatedAt: base,
			})
			if err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "attempts/s")
	})
	for _, n := range []int{1, 50, 200} {
		b.Run(fmt.Sprintf("AttemptRecordMany/attempts=%d", n), func(b *testing.B) {
			st := open(b)
			const deliveries = 1000
			if _, err := st.EventCreate(b.Context(), event("ev", "sync_end", base, "wh_1", deliveries)); err != nil {
				b.Fatal(err)
			}
			params := make([]store.AttemptRecordParams, n)
			i := 0
			for b.Loop() {
				for j := range params {
					params[j] = store.AttemptRecordParams{
						Attempt:   store.Attempt{DeliveryID: fmt.Sprintf("ev_d%d", (i*n+j)%deliveries), URL: "https://r", StartedAt: base, StatusCode: 500},
						State:     store.DeliveryRetrying,
						UpdatedAt: base,
					}
				}
				if _, err := st.AttemptRecordMany(b.Context(), params); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(i*n)/b.Elapsed().Seconds(), "attempts/s")
		})
		b.Run(fmt.Sprintf("DeliveryGetManyWithWebhook/deliveries=%d", n), func(b *testing.B) {
			st := open(b)
			createWebhookB(b, st, webhook("wh_1", store.WebhookTypeAccount, "", "sync_end"))
			const deliveries = 1000
			if _, err := st.EventCreate(b.Context(), event("ev", "sync_end", base, "wh_1", deliveries)); err != nil {
				b.Fatal(err)
			}
			ids := make([]string, n)
			i := 0
			for b.Loop() {
				for j := range ids {
					ids[j] = fmt.Sprintf("ev_d%d", (i*n+j)%deliveries)
				}
				found, err := st.DeliveryGetManyWithWebhook(b.Context(), ids)
				if err != nil || len(found) != n {
					b.Fatalf("found %d of %d: %v", len(found), n, err)
				}
				i++
			}
			b.ReportMetric(float64(i*n)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

func createWebhookB(b *testing.B, st store.Store, wh *store.Webhook) {
	b.Helper()
	if err := st.WebhookCreate(b.Context(), wh); err != nil {
		b.Fatal(err)
	}
}
