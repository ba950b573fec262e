package proctest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/standin-dev/standin/cmd/standin/internal/proctest"
	"github.com/standin-dev/standin/server/client"
	"github.com/standin-dev/standin/store/sqlite"
)

func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) }

// standin is one `standin serve` process.
type standin struct {
	*proctest.Process
	// API is the REST base URL, http://127.0.0.1:port; empty for workers.
	API string
	// ClientID is the River client id of a process that works deliveries.
	ClientID string
}

// serve starts `standin serve` on databaseURL in role on free ports with
// JSON logs, plus extra flags, and waits until it is ready: its HTTP API
// listens (roles all and api) and its workers have started (all and
// worker).
func serve(t *testing.T, name, databaseURL, role string, extra ...string) *standin {
	t.Helper()
	return serveEnv(t, name, databaseURL, role, nil, extra...)
}

// serveEnv is serve with env ("KEY=value" pairs) added to the process's
// environment.
func serveEnv(t *testing.T, name, databaseURL, role string, env []string, extra ...string) *standin {
	t.Helper()
	args := append([]string{"serve",
		"--database-url", databaseURL, "--role", role,
		"--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0",
		"--log-format", "json", "--skip-url-check",
	}, extra...)
	s := &standin{Process: proctest.StartEnv(t, name, env, args...)}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// The one start line names what listens where and the workers' id.
	e, err := s.AwaitLog(ctx, "standin started")
	if err != nil {
		t.Fatal(err)
	}
	if role != "worker" {
		if s.API = e.String("http"); s.API == "" {
			t.Fatalf("%s: no http in %v", name, e)
		}
	}
	if role != "api" {
		if s.ClientID = e.String("client_id"); s.ClientID == "" {
			t.Fatalf("%s: no client_id in %v", name, e)
		}
	}
	return s
}

// apiClient calls standin's REST API through server/client, with the few
// calls these tests repeat.
type apiClient struct {
	*client.Client
}

func newAPIClient(base string) *apiClient {
	return &apiClient{&client.Client{BaseURL: base, HTTPClient: &http.Client{Timeout: 15 * time.Second}}}
}

// createWebhook creates an active account webhook for sync_end to url and
// returns its id.
func (a *apiClient) createWebhook(t *testing.T, url string) string {
	t.Helper()
	active := true
	wh, err := a.CreateWebhook(t.Context(), "", client.WebhookSpec{URL: url, Events: []string{"sync_end"}, Active: &active})
	if err != nil {
		t.Fatalf("create webhook: %v", err)
	}
	return wh.Data.ID
}

// emit emits sync_end for connector and returns its one delivery's id.
func (a *apiClient) emit(ctx context.Context, connector string) (string, error) {
	ev, err := a.Emit(ctx, client.EmitRequest{Event: "sync_end", ConnectorID: connector})
	if err != nil {
		return "", err
	}
	if len(ev.Data.Deliveries) != 1 {
		return "", fmt.Errorf("emit %s: %d deliveries, want 1", connector, len(ev.Data.Deliveries))
	}
	return ev.Data.Deliveries[0].ID, nil
}

// emitMany emits sync_end for each of connectors in one request
// (POST /standin/v1/events:batch) and returns their deliveries' ids, one
// each, in order.
func (a *apiClient) emitMany(ctx context.Context, connectors []string) ([]string, error) {
	reqs := make([]client.EmitRequest, len(connectors))
	for i, c := range connectors {
		reqs[i] = client.EmitRequest{Event: "sync_end", ConnectorID: c}
	}
	res, err := a.EmitMany(ctx, reqs)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(connectors))
	for i, ev := range res.Data.Items {
		if len(ev.Deliveries) != 1 {
			return nil, fmt.Errorf("emit %s: %d deliveries, want 1", connectors[i], len(ev.Deliveries))
		}
		ids[i] = ev.Deliveries[0].ID
	}
	return ids, nil
}

// deliveries lists every delivery of a webhook.
func (a *apiClient) deliveries(ctx context.Context, webhookID string) (map[string]client.Delivery, error) {
	out := map[string]client.Delivery{}
	f := client.DeliveryFilter{WebhookID: webhookID, Limit: 1000}
	for {
		page, err := a.ListDeliveries(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, d := range page.Data.Items {
			out[d.ID] = d
		}
		if page.Data.NextCursor == "" {
			return out, nil
		}
		f.Cursor = page.Data.NextCursor
	}
}

// awaitSucceeded waits until every delivery in ids has succeeded and
// returns them. The deliveries live in another process, which signals
// nothing: this polls the API every 100 ms until the deadline of ctx.
func (a *apiClient) awaitSucceeded(ctx context.Context, webhookID string, ids []string) (map[string]client.Delivery, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		all, err := a.deliveries(ctx, webhookID)
		if err == nil {
			var notYet []string
			for _, id := range ids {
				if d, ok := all[id]; !ok || d.State != client.StateSucceeded {
					notYet = append(notYet, fmt.Sprintf("%s (%s, %d attempts)", id, d.State, d.Attempts))
				}
			}
			if len(notYet) == 0 {
				return all, nil
			}
			err = fmt.Errorf("%d of %d deliveries not succeeded, e.g. %v", len(notYet), len(ids), notYet[:min(len(notYet), 5)])
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ctx.Err(), err)
		}
	}
}

// receiver is a webhook receiver that records the sync_end bodies it gets
// by connector_id: arrived when a request came in, delivered once it was
// answered 200. hold, when set, may take over a request (and answer it
// itself, or not) by returning true.
type receiver struct {
	URL string

	hold func(w http.ResponseWriter, r *http.Request, connector string) bool

	mu        sync.Mutex
	arrived   map[string]int
	delivered map[string]int
	changed   chan struct{}
}

// newReceiver starts a receiver on 127.0.0.1 and closes it when the test
// ends. Set hold before the first request.
func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{arrived: map[string]int{}, delivered: map[string]int{}, changed: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(rc.serveHTTP))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

func (rc *receiver) serveHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Event       string `json:"event"`
		ConnectorID string `json:"connector_id"`
	}
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body); err != nil || body.Event != "sync_end" {
		http.Error(w, "not a sync_end payload", http.StatusBadRequest)
		return
	}
	rc.record(rc.arrived, body.ConnectorID)
	if rc.hold != nil && rc.hold(w, r, body.ConnectorID) {
		return
	}
	w.WriteHeader(http.StatusOK)
	rc.record(rc.delivered, body.ConnectorID)
}

func (rc *receiver) record(m map[string]int, connector string) {
	rc.mu.Lock()
	m[connector]++
	close(rc.changed)
	rc.changed = make(chan struct{})
	rc.mu.Unlock()
}

// counts returns copies of the arrived and delivered counts.
func (rc *receiver) counts() (arrived, delivered map[string]int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	arrived, delivered = map[string]int{}, map[string]int{}
	for k, v := range rc.arrived {
		arrived[k] = v
	}
	for k, v := range rc.delivered {
		delivered[k] = v
	}
	return arrived, delivered
}

// awaitDelivered waits until every connector's body was answered 200 at
// least once.
func (rc *receiver) awaitDelivered(ctx context.Context, connectors []string) error {
	for {
		rc.mu.Lock()
		var missing []string
		for _, c := range connectors {
			if rc.delivered[c] == 0 {
				missing = append(missing, c)
			}
		}
		ch := rc.changed
		rc.mu.Unlock()
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			sort.Strings(missing)
			return fmt.Errorf("receiver: %d of %d events never delivered, e.g. %v: %w",
				len(missing), len(connectors), missing[:min(len(missing), 5)], ctx.Err())
		}
	}
}

// hookReceipt is one request a hookReceiver got.
type hookReceipt struct {
	id string // webhook-id: the delivery id under Standard Webhooks signing
	at time.Time
}

// hookReceiver is a webhook receiver for any event, unlike receiver: it
// records the webhook-id and arrival time of every request and answers
// with answer (200 when nil), which may block. Any path under URL is
// served.
type hookReceiver struct {
	URL     string
	answer  func(r *http.Request, n int) int // n: 1 for the first request of this id
	mu      sync.Mutex
	got     []hookReceipt
	byID    map[string]int
	changed chan struct{}
}

// newHookReceiver starts a hookReceiver on 127.0.0.1 and closes it when the
// test ends, without waiting for the requests answer still holds.
func newHookReceiver(t *testing.T, answer func(r *http.Request, n int) int) *hookReceiver {
	t.Helper()
	h := &hookReceiver{answer: answer, byID: make(map[string]int), changed: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	h.URL = "http://" + ln.Addr().String()
	return h
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	id := r.Header.Get("Webhook-Id")
	h.mu.Lock()
	h.got = append(h.got, hookReceipt{id: id, at: time.Now()})
	h.byID[id]++
	n := h.byID[id]
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
	status := http.StatusOK
	if h.answer != nil {
		status = h.answer(r, n)
	}
	w.WriteHeader(status)
}

// receipts returns every request received so far.
func (h *hookReceiver) receipts() []hookReceipt {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookReceipt(nil), h.got...)
}

// awaitAttempts waits until the "delivery attempt" log entries of procs,
// taken together, show an attempt that left each delivery in ids in state.
// Every process but the last must have exited: the wait is on the last.
func awaitAttempts(ctx context.Context, ids []string, state string, procs ...*proctest.Process) error {
	pending := make(map[string]bool, len(ids))
	for _, id := range ids {
		pending[id] = true
	}
	see := func(e proctest.LogEntry) bool {
		if e.String("msg") == "delivery attempt" && e.String("outcome") == state {
			delete(pending, e.String("delivery"))
		}
		return len(pending) == 0
	}
	for _, p := range procs[:len(procs)-1] {
		for _, e := range p.Logs("delivery attempt") {
			see(e)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	if _, err := procs[len(procs)-1].AwaitEntry(ctx, see); err != nil {
		return fmt.Errorf("%d of %d deliveries not %s: %w", len(pending), len(ids), state, err)
	}
	return nil
}

// stopCtx returns a context that ends after d or with the test, for
// Process.Stop and Process.Wait.
func stopCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// openSQLite opens the SQLite store at path, which no process uses any
// more, to check what it holds; it is closed when the test ends.
func openSQLite(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: path, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}
