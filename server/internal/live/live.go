// Package live tells browsers what changed, as it changes: a Hub fans out
// the changes of a store (new events and deliveries, attempts, cancels,
// redeliveries, webhook changes) to server-sent event streams.
//
// Changes are learnt by wrapping the process's store (Hub.Wrap), so a Hub
// sees every write this process makes, whichever code path made it; it does
// not see the writes of other processes sharing a PostgreSQL database.
package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Change kinds.
const (
	KindEvent    = "event"
	KindDelivery = "delivery"
	KindWebhook  = "webhook"
)

// Change is one record that changed.
type Change struct {
	// Kind is KindEvent, KindDelivery or KindWebhook.
	Kind string `json:"kind"`
	// ID is the record's id.
	ID string `json:"id"`
	// State is a delivery's new state.
	State string `json:"state,omitempty"`
	// EventID and WebhookID are a delivery's event and webhook.
	EventID   string `json:"event_id,omitempty"`
	WebhookID string `json:"webhook_id,omitempty"`
	// Name is an event's name.
	Name string `json:"name,omitempty"`
}

// subscriberBuffer is how many changes a slow stream may fall behind before
// it is told to reload instead ("resync").
const subscriberBuffer = 256

// heartbeat is how often an idle stream sends a comment, so that proxies
// and browsers keep it open.
const heartbeat = 25 * time.Second

type subscriber struct {
	ch       chan Change
	gone     chan struct{} // closed by Disconnect
	overflow bool          // changes were dropped; guarded by Hub.mu
}

// Hub fans changes out to subscribers. The zero value is ready to use.
type Hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
	n    atomic.Int32 // len(subs), read without the lock

	// Attempts recorded by other processes (see Watch).
	lastID    func(ctx context.Context) (int64, error)
	every     time.Duration
	stopWatch context.CancelFunc // set while there are subscribers
	localMax  atomic.Int64       // largest attempt id this process recorded
}

// Watch makes the hub notice attempts that other processes sharing the
// database record: while at least one stream is open, one goroutine reads
// lastID (the largest attempt id) every interval and, when it grew beyond
// what this process recorded itself, sends subscribers a "resync". So a page
// served by an API process sees the attempts of separate worker processes
// with one indexed read per interval, however many pages are open. Call it
// before the first Subscribe.
func (h *Hub) Watch(lastID func(ctx context.Context) (int64, error), interval time.Duration) {
	h.lastID, h.every = lastID, interval
}

// recorded notes an attempt id this process recorded.
func (h *Hub) recorded(id int64) {
	for {
		cur := h.localMax.Load()
		if id <= cur || h.localMax.CompareAndSwap(cur, id) {
			return
		}
	}
}

func (h *Hub) watch(ctx context.Context) {
	t := time.NewTicker(h.every)
	defer t.Stop()
	known, err := h.lastID(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		last, lerr := h.lastID(ctx)
		if lerr != nil {
			continue // the database is away; try again
		}
		if err == nil && last > max(known, h.localMax.Load()) {
			h.Publish(Change{Kind: "resync"})
		}
		known, err = last, nil
	}
}

// Subscribe returns a channel of changes and a function that ends the
// subscription. A subscriber that falls subscriberBuffer changes behind
// misses the rest until it catches up and is then sent a change of kind
// "resync".
func (h *Hub) Subscribe() (<-chan Change, func()) {
	s, done := h.subscribe()
	return s.ch, done
}

func (h *Hub) subscribe() (*subscriber, func()) {
	s := &subscriber{ch: make(chan Change, subscriberBuffer), gone: make(chan struct{})}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[*subscriber]struct{}{}
	}
	h.subs[s] = struct{}{}
	h.n.Store(int32(len(h.subs)))
	if h.lastID != nil && h.stopWatch == nil {
		ctx, cancel := context.WithCancel(context.Background())
		h.stopWatch = cancel
		go h.watch(ctx)
	}
	h.mu.Unlock()
	return s, func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.n.Store(int32(len(h.subs)))
		if len(h.subs) == 0 && h.stopWatch != nil {
			h.stopWatch()
			h.stopWatch = nil
		}
		h.mu.Unlock()
	}
}

// Disconnect ends every current stream (ServeHTTP returns), as the server
// shuts down: an open stream would otherwise hold http.Server.Shutdown until
// its deadline. Browsers reconnect by themselves.
func (h *Hub) Disconnect() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case <-s.gone:
		default:
			close(s.gone)
		}
	}
}

// Publish sends changes to every subscriber without blocking.
func (h *Hub) Publish(changes ...Change) {
	if h.n.Load() == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		for _, c := range changes {
			if s.overflow {
				select {
				case s.ch <- Change{Kind: "resync"}:
					s.overflow = false
				default:
					continue
				}
			}
			select {
			case s.ch <- c:
			default:
				s.overflow = true
			}
		}
	}
}

// Subscribers returns the number of current subscribers.
func (h *Hub) Subscribers() int { return int(h.n.Load()) }

// ServeHTTP streams changes as server-sent events: each change is an SSE
// event named after its kind with the Change as JSON data, e.g.
//
//	event: delivery
//	data: {"kind":"delivery","id":"…","state":"succeeded",…}
//
// It first sends "event: ready", then a comment every 25 s while idle.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	sub, done := h.subscribe()
	defer done()
	ch := sub.ch
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 2000\nevent: ready\ndata: {}\n\n"); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-sub.gone:
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
		case c := <-ch:
			data, _ := json.Marshal(c)
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", c.Kind, data); err != nil {
				return
			}
			// Send what is queued with it in one flush.
			for more := true; more; {
				select {
				case c := <-ch:
					data, _ := json.Marshal(c)
					if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", c.Kind, data); err != nil {
						return
					}
				default:
					more = false
				}
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}
